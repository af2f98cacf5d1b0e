// Verification of the tamper-evident audit log: recomputes every row's hash and checks the
// chain links. Run as the owner role (the app and worker roles cannot read the log).
#pragma once

#include <cstdint>
#include <optional>

#include <boost/asio/awaitable.hpp>

#include "base/errc.hpp"
#include "db/pg.hpp"

namespace redoubt::storage {

struct audit_report {
  std::int64_t rows = 0;
  std::optional<std::int64_t> first_bad_id;  // first row whose hash or link does not match
  std::int64_t bad_rows = 0;
};

boost::asio::awaitable<result<audit_report>> verify_audit_chain(db::connection& conn);

}  // namespace redoubt::storage
