// Schema migrations, embedded in the binaries from migrations/: numbered ones
// (NNNN_name.sql, applied once, in order) and repeatable ones (R__name.sql, applied after them
// whenever their checksum changes).
#pragma once

#include <span>
#include <string_view>
#include <vector>

namespace redoubt::storage {

struct migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

struct repeatable_migration {
  std::string_view name;      // "R__functions"
  std::string_view sql;       // must be safe to run again (CREATE OR REPLACE, GRANT, ...)
  std::string_view checksum;  // SHA-256 of the file, lowercase hex (computed at build time)
};

// All numbered migrations in ascending version order.
const std::vector<migration>& embedded_migrations();
// All repeatable migrations, by name.
const std::vector<repeatable_migration>& embedded_repeatable_migrations();

// The schema version this build expects (the highest numbered version). Repeatable migrations
// do not count: a change the code depends on comes with a numbered migration.
int expected_schema_version();

}  // namespace redoubt::storage

#include <boost/asio/awaitable.hpp>

#include "base/errc.hpp"
#include "db/pg.hpp"

namespace redoubt::storage {

struct migration_set {
  std::span<const migration> numbered;  // ascending versions
  std::span<const repeatable_migration> repeatable;
};

// Applies every numbered migration newer than the database's version, each in its own
// transaction together with its schema_migrations row, then every repeatable migration whose
// checksum differs from the recorded one, in one transaction with its new checksum. Run as the
// owner role. Returns the resulting version.
boost::asio::awaitable<result<int>> migrate(db::connection& conn);
// The same with another set (tests).
boost::asio::awaitable<result<int>> migrate(db::connection& conn, const migration_set& set);

}  // namespace redoubt::storage
