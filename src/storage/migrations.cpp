#include "storage/migrations.hpp"

#include <map>
#include <string>

#include "base/log.hpp"

namespace redoubt::storage {
namespace {

// The bookkeeping table. Numbered migrations have a version; repeatable ones have none, and a
// checksum of the text last applied instead. Databases migrated before repeatable migrations
// existed have `version` as primary key and no checksum: upgraded here, once.
constexpr std::string_view bookkeeping_sql = R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
  version integer UNIQUE, name text NOT NULL UNIQUE,
  applied_at timestamptz NOT NULL DEFAULT now(), checksum text,
  CHECK ((version IS NULL) = (checksum IS NOT NULL)));
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                  WHERE table_schema = current_schema() AND table_name = 'schema_migrations'
                    AND column_name = 'checksum') THEN
    ALTER TABLE schema_migrations
      DROP CONSTRAINT schema_migrations_pkey,
      ALTER COLUMN version DROP NOT NULL,
      ADD CONSTRAINT schema_migrations_version_key UNIQUE (version),
      ADD CONSTRAINT schema_migrations_name_key UNIQUE (name),
      ADD COLUMN checksum text,
      ADD CONSTRAINT schema_migrations_check CHECK ((version IS NULL) = (checksum IS NOT NULL));
  END IF;
END $$;
REVOKE ALL ON schema_migrations FROM PUBLIC;
GRANT SELECT ON schema_migrations TO redoubt_app, redoubt_worker;
)sql";

// A SQL string literal; names and checksums come from the build, quoted anyway.
std::string literal(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

// Runs `sql` and `record` in one transaction.
boost::asio::awaitable<result<void>> apply(db::connection& conn, std::string_view name,
                                           std::string_view sql, const std::string& record) {
  std::string script = "BEGIN;\n";
  script += sql;
  script += "\n;" + record + ";\nCOMMIT;";
  auto ok = co_await conn.execute(script);
  if (!ok) {
    co_await conn.execute("ROLLBACK");
    co_return make_error(ok.error().code,
                         "migration " + std::string(name) + " failed: " + ok.error().message);
  }
  co_return result<void>();
}

boost::asio::awaitable<result<int>> apply_numbered(db::connection& conn,
                                                   std::span<const migration> numbered) {
  auto current = co_await conn.query("SELECT coalesce(max(version), 0) FROM schema_migrations");
  if (!current) co_return current.error();
  int version = static_cast<int>(current->int64(0, 0));
  int known = numbered.empty() ? 0 : numbered.back().version;
  if (version > known)
    co_return make_error(errc::failed_precondition,
                         "database schema version " + std::to_string(version) +
                             " is newer than this build knows (" + std::to_string(known) + ")");
  for (const auto& m : numbered) {
    if (m.version <= version) continue;
    auto ok = co_await apply(conn, m.name, m.sql,
                             "INSERT INTO schema_migrations (version, name) VALUES (" +
                                 std::to_string(m.version) + ", " + literal(m.name) + ")");
    if (!ok) co_return ok.error();
    log::info("migration_applied", {{"version", m.version}, {"name", m.name}});
    version = m.version;
  }
  co_return version;
}

boost::asio::awaitable<result<void>> apply_repeatable(
    db::connection& conn, std::span<const repeatable_migration> repeatable) {
  auto rows =
      co_await conn.query("SELECT name, checksum FROM schema_migrations WHERE version IS NULL");
  if (!rows) co_return rows.error();
  std::map<std::string, std::string, std::less<>> applied;
  for (int i = 0; i < rows->size(); ++i) applied.emplace(rows->text(i, 0), rows->text(i, 1));
  for (const auto& m : repeatable) {
    auto it = applied.find(m.name);
    if (it != applied.end() && it->second == m.checksum) continue;
    auto ok = co_await apply(
        conn, m.name, m.sql,
        "INSERT INTO schema_migrations (version, name, checksum) VALUES (NULL, " + literal(m.name) +
            ", " + literal(m.checksum) +
            ") ON CONFLICT (name) DO UPDATE SET checksum = EXCLUDED.checksum, applied_at = now()");
    if (!ok) co_return ok.error();
    log::info("repeatable_migration_applied", {{"name", m.name}, {"checksum", m.checksum}});
  }
  co_return result<void>();
}

}  // namespace

int expected_schema_version() {
  return embedded_migrations().back().version;
}

boost::asio::awaitable<result<int>> migrate(db::connection& conn) {
  migration_set embedded{embedded_migrations(), embedded_repeatable_migrations()};
  co_return co_await migrate(conn, embedded);
}

boost::asio::awaitable<result<int>> migrate(db::connection& conn, const migration_set& set) {
  auto created = co_await conn.execute(bookkeeping_sql);
  if (!created) co_return created.error();
  auto version = co_await apply_numbered(conn, set.numbered);
  if (!version) co_return version.error();
  auto repeated = co_await apply_repeatable(conn, set.repeatable);
  if (!repeated) co_return repeated.error();
  co_return *version;
}

}  // namespace redoubt::storage
