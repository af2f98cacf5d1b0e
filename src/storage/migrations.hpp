// Versioned schema migrations, embedded in the binaries from migrations/NNNN_name.sql.
#pragma once

#include <string_view>
#include <vector>

namespace redoubt::storage {

struct migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

// All migrations in ascending version order.
const std::vector<migration>& embedded_migrations();

// The schema version this build expects (the highest embedded version).
int expected_schema_version();

}  // namespace redoubt::storage

#include <boost/asio/awaitable.hpp>

#include "base/errc.hpp"
#include "db/pg.hpp"

namespace redoubt::storage {

// Applies every embedded migration newer than the database's version, each in its own
// transaction together with its schema_migrations row. Run as the owner role.
// Returns the resulting version.
boost::asio::awaitable<result<int>> migrate(db::connection& conn);

}  // namespace redoubt::storage
