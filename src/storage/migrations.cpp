#include "storage/migrations.hpp"

#include "base/log.hpp"

namespace redoubt::storage {

int expected_schema_version() { return embedded_migrations().back().version; }

boost::asio::awaitable<result<int>> migrate(db::connection& conn) {
  auto created = co_await conn.execute(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
      "applied_at timestamptz NOT NULL DEFAULT now());"
      "REVOKE ALL ON schema_migrations FROM PUBLIC;"
      "GRANT SELECT ON schema_migrations TO redoubt_app, redoubt_worker;");
  if (!created) co_return created.error();
  auto current = co_await conn.query("SELECT coalesce(max(version), 0) FROM schema_migrations");
  if (!current) co_return current.error();
  int version = static_cast<int>(current->int64(0, 0));
  if (version > expected_schema_version())
    co_return make_error(errc::failed_precondition,
                         "database schema version " + std::to_string(version) +
                             " is newer than this build knows (" + std::to_string(expected_schema_version()) + ")");
  for (const auto& m : embedded_migrations()) {
    if (m.version <= version) continue;
    std::string sql = "BEGIN;\n";
    sql += m.sql;
    sql += "\n;INSERT INTO schema_migrations (version, name) VALUES (" + std::to_string(m.version) + ", '" +
           std::string(m.name) + "');\nCOMMIT;";
    auto ok = co_await conn.execute(sql);
    if (!ok) {
      co_await conn.execute("ROLLBACK");
      co_return make_error(ok.error().code, "migration " + std::string(m.name) + " failed: " + ok.error().message);
    }
    log::info("migration_applied", {{"version", m.version}, {"name", m.name}});
    version = m.version;
  }
  co_return version;
}

}  // namespace redoubt::storage
