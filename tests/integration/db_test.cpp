// db/pg against a real PostgreSQL 15 (TLS 1.3, scram) started by pg_cluster.
#include <atomic>
#include <chrono>
#include <memory>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "db/pg.hpp"
#include "storage/migrations.hpp"
#include "support/pg_cluster.hpp"

namespace redoubt::db {
namespace {

namespace asio = boost::asio;

// gtest's ASSERT_* use `return`, which a coroutine cannot.
#define CO_ASSERT(cond)                          \
  if (!(cond)) {                                 \
    ADD_FAILURE() << "assertion failed: " #cond; \
    co_return;                                   \
  }
using namespace std::chrono_literals;
using test::pg_cluster;
using test::pg_role;
using test::run_sync;

awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
}

awaitable<std::unique_ptr<connection>> connect_with(database_settings s) {
  auto ex = co_await asio::this_coro::executor;
  auto c = co_await connection::connect(ex, s);
  if (!c) throw std::runtime_error("connect failed: " + c.error().message);
  co_return std::move(*c);
}

awaitable<std::unique_ptr<connection>> connect_as(pg_role role) {
  auto c = co_await connect_with(pg_cluster::shared().settings(role));
  co_return std::move(c);
}

class db_test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pg_cluster::shared().superuser_psql(
        "SET client_min_messages = warning; SET ROLE redoubt_owner;"
        "CREATE TABLE IF NOT EXISTS db_test_items (id bigint PRIMARY KEY, name text, note text);");
  }
  void SetUp() override { pg_cluster::shared().superuser_psql("TRUNCATE db_test_items;"); }
};

TEST_F(db_test, connects_over_tls13) {
  auto [ssl, version] = run_sync([]() -> awaitable<std::pair<std::string, std::string>> {
    auto c = co_await connect_as(pg_role::owner);
    auto r = co_await c->query("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
    if (!r || r->size() != 1) throw std::runtime_error("pg_stat_ssl query failed");
    co_return std::pair{std::string(r->text(0, 0)), std::string(r->text(0, 1))};
  }());
  EXPECT_EQ(ssl, "t");
  EXPECT_EQ(version, "TLSv1.3");
}

TEST_F(db_test, wrong_password_is_an_error_value) {
  auto s = pg_cluster::shared().settings(pg_role::app);
  s.password = secret_string("definitely-not-the-password");
  auto r = run_sync([](database_settings s) -> awaitable<result<std::unique_ptr<connection>>> {
    co_return co_await connection::connect(co_await asio::this_coro::executor, s);
  }(s));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().code == errc::unavailable || r.error().code == errc::unauthenticated);
  EXPECT_EQ(r.error().message.find("definitely-not"), std::string::npos);
}

TEST_F(db_test, query_with_params_null_and_unicode) {
  run_sync([]() -> awaitable<void> {
    auto c = co_await connect_as(pg_role::owner);
    const std::string name = "Grüße, 世界 🌍";
    // Named params: GCC 12 miscompiles braced lists inside co_await expressions.
    const params ins_args{"7", name, std::nullopt};
    auto ins = co_await c->query("INSERT INTO db_test_items (id, name, note) VALUES ($1, $2, $3)",
                                 ins_args);
    EXPECT_TRUE(ins) << (ins ? "" : ins.error().message);
    if (ins) {
      EXPECT_EQ(ins->affected(), 1);
    }

    const params sel_args{"'; DROP TABLE x; --", "7"};
    auto r = co_await c->query(
        "SELECT id, name, note, note IS NULL AS no_note, $1::text AS echo "
        "FROM db_test_items WHERE id = $2",
        sel_args);
    EXPECT_TRUE(r);
    if (!r) co_return;
    EXPECT_EQ(r->size(), 1);
    EXPECT_EQ(r->columns(), 5);
    EXPECT_EQ(r->int64(0, r->column("id")), 7);
    EXPECT_EQ(r->text(0, r->column("name")), name);
    EXPECT_TRUE(r->is_null(0, r->column("note")));
    EXPECT_TRUE(r->boolean(0, r->column("no_note")));
    EXPECT_EQ(r->text(0, r->column("echo")), "'; DROP TABLE x; --");
    EXPECT_EQ(r->column("missing"), -1);
    EXPECT_THROW((void)r->int64(0, r->column("name")), std::runtime_error);

    const params bad_args{"not a number"};
    auto bad = co_await c->query("SELECT $1::int", bad_args);
    EXPECT_FALSE(bad);
    if (!bad) {
      EXPECT_EQ(bad.error().code, errc::invalid_argument);
    }
    EXPECT_TRUE(c->healthy());
  }());
}

// Issue 12 point 8: the server's error text (which quotes data, names tables and
// constraints) stays in the server log; the error value carries the code and a neutral text.
TEST_F(db_test, database_error_text_never_reaches_the_caller) {
  run_sync([]() -> awaitable<void> {
    auto c = co_await connect_as(pg_role::owner);
    const params bad_args{"not a number secret-xyz"};
    auto bad = co_await c->query("SELECT $1::int", bad_args);
    CO_ASSERT(!bad);
    EXPECT_EQ(bad.error().code, errc::invalid_argument);
    EXPECT_EQ(bad.error().message, "invalid input");
    const char* sql = "INSERT INTO db_test_items (id, name) VALUES ($1, $2)";
    const params a{"3", "a"};
    auto first = co_await c->query(sql, a);
    EXPECT_TRUE(first);
    auto dup = co_await c->query(sql, a);
    CO_ASSERT(!dup);
    EXPECT_EQ(dup.error().code, errc::already_exists);
    EXPECT_EQ(dup.error().message, "already exists");
    const params bytes{"4", "caf\xC3"};
    auto invalid = co_await c->query(sql, bytes);
    CO_ASSERT(!invalid);
    EXPECT_EQ(invalid.error().code, errc::invalid_argument);
    const std::vector<std::string> messages{bad.error().message, dup.error().message, invalid.error().message};
    for (const auto& m : messages) {
      for (const char* leak : {"secret-xyz", "syntax", "duplicate", "db_test_items", "pkey", "UTF8", "0xc3"})
        EXPECT_EQ(m.find(leak), std::string::npos) << m;
    }
    EXPECT_TRUE(c->healthy());
  }());
}

TEST_F(db_test, unique_violation_is_already_exists) {
  run_sync([]() -> awaitable<void> {
    auto c = co_await connect_as(pg_role::owner);
    const char* sql = "INSERT INTO db_test_items (id, name) VALUES ($1, $2)";
    const params a{"1", "a"}, b{"1", "b"};
    auto first = co_await c->query(sql, a);
    EXPECT_TRUE(first);
    auto dup = co_await c->query(sql, b);
    CO_ASSERT(!(dup));
    EXPECT_EQ(dup.error().code, errc::already_exists);
    EXPECT_FALSE(dup.error().message.empty());
    auto after = co_await c->query("SELECT count(*) FROM db_test_items");
    CO_ASSERT(after);
    EXPECT_EQ(after->int64(0, 0), 1);
  }());
}

TEST_F(db_test, statement_timeout_is_deadline_exceeded) {
  auto s = pg_cluster::shared().settings(pg_role::owner);
  s.statement_timeout = 200ms;
  run_sync([](database_settings s) -> awaitable<void> {
    auto c = co_await connection::connect(co_await asio::this_coro::executor, s);
    CO_ASSERT(c);
    auto start = std::chrono::steady_clock::now();
    auto r = co_await (*c)->query("SELECT pg_sleep(2)");
    CO_ASSERT(!(r));
    EXPECT_EQ(r.error().code, errc::deadline_exceeded);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
    EXPECT_TRUE((*c)->healthy());
    auto ok = co_await (*c)->query("SELECT 1");
    EXPECT_TRUE(ok);
  }(s));
}

TEST_F(db_test, execute_runs_several_statements) {
  run_sync([]() -> awaitable<void> {
    auto c = co_await connect_as(pg_role::owner);
    auto r = co_await c->execute(
        "BEGIN; INSERT INTO db_test_items (id) VALUES (1); INSERT INTO db_test_items (id) "
        "VALUES (2); COMMIT;");
    EXPECT_TRUE(r);
    auto bad = co_await c->execute("SELEC 1");
    CO_ASSERT(!(bad));
    EXPECT_EQ(bad.error().code, errc::internal);  // 42601 syntax error
    auto n = co_await c->query("SELECT count(*) FROM db_test_items");
    CO_ASSERT(n);
    EXPECT_EQ(n->int64(0, 0), 2);
  }());
}

TEST_F(db_test, pipeline_commits_all) {
  run_sync([]() -> awaitable<void> {
    auto c = co_await connect_as(pg_role::owner);
    std::vector<statement> st{
        {"BEGIN", {}},
        {"INSERT INTO db_test_items (id, name) VALUES ($1, $2)", {"10", "ten"}},
        {"INSERT INTO db_test_items (id, name) VALUES ($1, $2) RETURNING id", {"11", std::nullopt}},
        {"COMMIT", {}},
    };
    auto r = co_await c->pipeline(st);
    CO_ASSERT(r);
    CO_ASSERT((r->size()) == (4u));
    EXPECT_EQ((*r)[1].affected(), 1);
    EXPECT_EQ((*r)[2].int64(0, 0), 11);
    auto n = co_await c->query("SELECT count(*) FROM db_test_items WHERE id IN (10, 11)");
    CO_ASSERT(n);
    EXPECT_EQ(n->int64(0, 0), 2);
  }());
}

TEST_F(db_test, pipeline_failure_commits_nothing) {
  run_sync([]() -> awaitable<void> {
    auto c = co_await connect_as(pg_role::owner);
    std::vector<statement> st{
        {"BEGIN", {}},
        {"INSERT INTO db_test_items (id) VALUES ($1)", {"20"}},
        {"INSERT INTO db_test_items (id) VALUES ($1)", {"20"}},  // duplicate
        {"INSERT INTO db_test_items (id) VALUES ($1)", {"21"}},
        {"COMMIT", {}},
    };
    auto r = co_await c->pipeline(st);
    CO_ASSERT(!(r));
    EXPECT_EQ(r.error().code, errc::already_exists);
    EXPECT_TRUE(c->healthy());
    // Not stuck in an aborted transaction: a plain query works and sees nothing.
    auto n = co_await c->query("SELECT count(*) FROM db_test_items WHERE id IN (20, 21)");
    CO_ASSERT(n);
    EXPECT_EQ(n->int64(0, 0), 0);

    // Implicit transaction (no BEGIN): same outcome.
    std::vector<statement> implicit{
        {"INSERT INTO db_test_items (id) VALUES ($1)", {"30"}},
        {"INSERT INTO db_test_items (id) VALUES ($1)", {"not-a-number"}},
    };
    auto r2 = co_await c->pipeline(implicit);
    CO_ASSERT(!(r2));
    EXPECT_EQ(r2.error().code, errc::invalid_argument);
    auto n2 = co_await c->query("SELECT count(*) FROM db_test_items WHERE id = 30");
    CO_ASSERT(n2);
    EXPECT_EQ(n2->int64(0, 0), 0);

    const std::vector<statement> one{{"SELECT 1", {}}};
    auto ok = co_await c->pipeline(one);
    EXPECT_TRUE(ok);
  }());
}

TEST_F(db_test, app_role_cannot_create_tables) {
  run_sync([]() -> awaitable<void> {
    auto c = co_await connect_as(pg_role::app);
    auto r = co_await c->execute("CREATE TABLE app_owned (x int)");
    CO_ASSERT(!(r));
    EXPECT_EQ(r.error().code, errc::permission_denied);
  }());
}

awaitable<void> acquire_and_flag(std::shared_ptr<pool> p, std::atomic<int>* state) {
  auto l = co_await p->acquire();
  if (!l) {
    state->store(-1);
    co_return;
  }
  auto r = co_await (*l)->query("SELECT 1");
  state->store(r ? 1 : -2);
}

TEST_F(db_test, pool_waiter_gets_released_connection) {
  auto s = pg_cluster::shared().settings(pg_role::app);
  s.pool_size = 2;
  s.acquire_timeout = 3s;
  run_sync([](database_settings s) -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    auto p = pool::create(ex, s);
    auto a = co_await p->acquire();
    auto b = co_await p->acquire();
    CO_ASSERT(a && b);
    std::atomic<int> third{0};
    asio::co_spawn(ex, acquire_and_flag(p, &third), asio::detached);
    co_await sleep_for(200ms);
    EXPECT_EQ(third.load(), 0);
    EXPECT_EQ(p->stats().waiting, 1);
    EXPECT_EQ(p->stats().size, 2);
    *a = lease{};  // give one back
    for (int i = 0; i < 200 && third.load() == 0; ++i) co_await sleep_for(10ms);
    EXPECT_EQ(third.load(), 1);
    auto st = p->stats();
    EXPECT_EQ(st.size, 2);
    EXPECT_EQ(st.in_use, 1);
    EXPECT_EQ(st.waiting, 0);
    EXPECT_EQ(st.acquired_total, 3u);
    EXPECT_EQ(st.acquire_timeouts_total, 0u);
  }(s));
}

TEST_F(db_test, pool_acquire_timeout_is_unavailable) {
  auto s = pg_cluster::shared().settings(pg_role::app);
  s.pool_size = 1;
  s.acquire_timeout = 200ms;
  run_sync([](database_settings s) -> awaitable<void> {
    auto p = pool::create(co_await asio::this_coro::executor, s);
    auto held = co_await p->acquire();
    CO_ASSERT(held);
    auto start = std::chrono::steady_clock::now();
    auto second = co_await p->acquire();
    auto waited = std::chrono::steady_clock::now() - start;
    CO_ASSERT(!(second));
    EXPECT_EQ(second.error().code, errc::unavailable);
    EXPECT_GE(waited, 190ms);
    EXPECT_LT(waited, 2s);
    EXPECT_EQ(p->stats().acquire_timeouts_total, 1u);
    EXPECT_EQ(p->stats().waiting, 0);
    held = result<lease>(lease{});
    auto again = co_await p->acquire();  // the same connection, reused
    EXPECT_TRUE(again);
    EXPECT_EQ(p->stats().size, 1);
  }(s));
}

awaitable<void> hammer(std::shared_ptr<pool> p, int id, std::atomic<int>* ok) {
  for (int i = 0; i < 10; ++i) {
    auto l = co_await p->acquire();
    if (!l) co_return;
    const params args{std::to_string(id), std::to_string(i)};
    auto r = co_await (*l)->query("SELECT $1::int + $2::int", args);
    if (r && r->int64(0, 0) == id + i) ok->fetch_add(1);
  }
}

TEST_F(db_test, pool_is_safe_under_concurrency) {
  auto s = pg_cluster::shared().settings(pg_role::worker);
  s.pool_size = 3;
  s.acquire_timeout = 10s;
  std::atomic<int> ok{0};
  run_sync([](database_settings s, std::atomic<int>* ok) -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    auto p = pool::create(ex, s);
    for (int id = 0; id < 16; ++id) asio::co_spawn(ex, hammer(p, id, ok), asio::detached);
    for (int i = 0; i < 1000 && ok->load() < 160; ++i) co_await sleep_for(10ms);
    EXPECT_LE(p->stats().size, 3);
  }(s, &ok));
  EXPECT_EQ(ok.load(), 160);
}

// --- migrations runner (storage/migrations): each test migrates a database of its own.

// A new empty database owned by redoubt_owner, dropped at the end of the test.
class migration_test : public ::testing::Test {
 protected:
  void SetUp() override {
    static int tests_run = 0;
    db_name_ = "redoubt_mig_" + std::to_string(++tests_run);
    su("DROP DATABASE IF EXISTS " + db_name_ + ";\nCREATE DATABASE " + db_name_ +
       " OWNER redoubt_owner;");
  }
  void TearDown() override { su("DROP DATABASE IF EXISTS " + db_name_ + " WITH (FORCE);"); }
  static void su(const std::string& sql) { pg_cluster::shared().superuser_psql(sql, "postgres"); }

  // As redoubt_owner, in this test's database.
  database_settings owner() const {
    auto s = pg_cluster::shared().settings(pg_role::owner);
    s.conninfo.replace(s.conninfo.find("dbname=redoubt"), 14, "dbname=" + db_name_);
    return s;
  }
  std::string psql(const std::string& sql) const {
    return pg_cluster::shared().superuser_psql(sql, db_name_);
  }

  std::string db_name_;
};

// Counts its own runs: each application adds a row.
constexpr std::string_view probe_sql =
    "CREATE TABLE IF NOT EXISTS probe_runs (n integer);\nINSERT INTO probe_runs VALUES (1);";

std::vector<storage::repeatable_migration> with_probe(std::string_view sql,
                                                      std::string_view checksum) {
  auto all = storage::embedded_repeatable_migrations();
  all.push_back({"R__probe", sql, checksum});
  return all;
}

// Migrates with the embedded numbered migrations and `repeatable`; returns the version.
awaitable<int> migrate_with(database_settings s,
                            std::vector<storage::repeatable_migration> repeatable) {
  auto c = co_await connect_with(std::move(s));
  storage::migration_set set{storage::embedded_migrations(), repeatable};
  auto v = co_await storage::migrate(*c, set);
  if (!v) throw std::runtime_error("migrate failed: " + v.error().message);
  co_return *v;
}

// What the runner before repeatable migrations did: the old bookkeeping table (version as
// primary key, no checksum) and every numbered migration. R__functions is run as plain SQL:
// the numbered files of that tree defined its functions themselves.
awaitable<void> migrate_like_before_repeatables(database_settings s) {
  auto c = co_await connect_with(std::move(s));
  std::string sql =
      "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
      "applied_at timestamptz NOT NULL DEFAULT now());";
  for (const auto& m : storage::embedded_migrations()) {
    sql += "BEGIN;\n" + std::string(m.sql) + "\n;INSERT INTO schema_migrations VALUES (" +
           std::to_string(m.version) + ", '" + std::string(m.name) + "');\nCOMMIT;\n";
  }
  for (const auto& r : storage::embedded_repeatable_migrations()) sql += std::string(r.sql) + "\n;";
  auto ok = co_await c->execute(sql);
  if (!ok) throw std::runtime_error("old-style migration failed: " + ok.error().message);
}

TEST_F(migration_test, fresh_database_gets_repeatable_migrations_and_their_checksums) {
  int version = run_sync(migrate_with(owner(), storage::embedded_repeatable_migrations()));
  EXPECT_EQ(version, storage::expected_schema_version());
  for (const auto& r : storage::embedded_repeatable_migrations()) {
    EXPECT_EQ(psql("SELECT checksum FROM schema_migrations WHERE version IS NULL AND name = '" +
                   std::string(r.name) + "'"),
              std::string(r.checksum) + "\n");
  }
  EXPECT_EQ(psql("SELECT count(*) FROM pg_proc WHERE proname = 'post_batch'"), "1\n");
}

TEST_F(migration_test, repeatable_migration_not_reapplied_when_unchanged) {
  run_sync(migrate_with(owner(), with_probe(probe_sql, "probe-v1")));
  int version = run_sync(migrate_with(owner(), with_probe(probe_sql, "probe-v1")));
  EXPECT_EQ(version, storage::expected_schema_version());
  EXPECT_EQ(psql("SELECT count(*) FROM probe_runs"), "1\n");
}

TEST_F(migration_test, repeatable_migration_reapplied_when_changed) {
  run_sync(migrate_with(owner(), with_probe(probe_sql, "probe-v1")));
  std::string changed = std::string(probe_sql) + "\n-- changed";
  run_sync(migrate_with(owner(), with_probe(changed, "probe-v2")));
  EXPECT_EQ(psql("SELECT count(*) FROM probe_runs"), "2\n");
  EXPECT_EQ(psql("SELECT checksum FROM schema_migrations WHERE name = 'R__probe'"), "probe-v2\n");
  // The numbered migrations were not touched again.
  EXPECT_EQ(psql("SELECT count(*) FROM schema_migrations WHERE version IS NOT NULL"),
            std::to_string(storage::embedded_migrations().size()) + "\n");
}

TEST_F(migration_test, failing_repeatable_migration_records_nothing) {
  run_sync(migrate_with(owner(), with_probe(probe_sql, "probe-v1")));
  auto bad = with_probe("INSERT INTO probe_runs VALUES (2);\nSELECT no_such_function();", "bad");
  EXPECT_THROW(run_sync(migrate_with(owner(), bad)), std::runtime_error);
  EXPECT_EQ(psql("SELECT count(*) FROM probe_runs"), "1\n");
  EXPECT_EQ(psql("SELECT checksum FROM schema_migrations WHERE name = 'R__probe'"), "probe-v1\n");
}

TEST_F(migration_test, database_migrated_by_numbered_files_only_upgrades) {
  run_sync(migrate_like_before_repeatables(owner()));
  int version = run_sync(migrate_with(owner(), storage::embedded_repeatable_migrations()));
  EXPECT_EQ(version, storage::expected_schema_version());
  EXPECT_EQ(psql("SELECT count(*) FROM schema_migrations WHERE version IS NOT NULL"),
            std::to_string(storage::embedded_migrations().size()) + "\n");
  EXPECT_EQ(psql("SELECT count(*) FROM schema_migrations WHERE version IS NULL"),
            std::to_string(storage::embedded_repeatable_migrations().size()) + "\n");
  EXPECT_EQ(psql("SELECT count(*) FROM pg_proc WHERE proname = 'post_batch'"), "1\n");
  // The app role still reads the version the way the server does, and runs post_batch.
  EXPECT_EQ(psql("SET ROLE redoubt_app; SELECT coalesce(max(version), 0) FROM schema_migrations"),
            std::to_string(storage::expected_schema_version()) + "\n");
  EXPECT_EQ(psql("SELECT has_function_privilege('redoubt_app', 'post_batch(bigint[], bigint[], "
                 "text[], text[], bigint[], text[], text[])', 'EXECUTE')"),
            "t\n");
}

// Stops the database: keep this test last in the file, it restores the cluster itself.
TEST_F(db_test, database_down_is_unavailable_then_recovers) {
  auto s = pg_cluster::shared().settings(pg_role::app);
  s.pool_size = 2;
  s.connect_timeout = 1s;
  s.acquire_timeout = 1s;
  auto& cluster = pg_cluster::shared();
  struct restart_guard {
    pg_cluster& c;
    bool stopped = false;
    ~restart_guard() {
      try {
        if (stopped) c.start();
      } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
      }
    }
  } guard{cluster};

  run_sync([](database_settings s, restart_guard* guard) -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    auto p = pool::create(ex, s);
    {
      auto l = co_await p->acquire();
      CO_ASSERT(l);
      auto ok = co_await (*l)->query("SELECT 1");
      CO_ASSERT(ok);
    }
    guard->c.stop();
    guard->stopped = true;

    // The idle connection is dead; either acquire or the query reports it.
    auto l = co_await p->acquire();
    if (l) {
      auto r = co_await (*l)->query("SELECT 1");
      CO_ASSERT(!(r));
      EXPECT_EQ(r.error().code, errc::unavailable);
      EXPECT_FALSE((*l)->healthy());
    } else {
      EXPECT_EQ(l.error().code, errc::unavailable);
    }
    l = result<lease>(lease{});
    auto l2 = co_await p->acquire();
    CO_ASSERT(!(l2));
    EXPECT_EQ(l2.error().code, errc::unavailable);
    EXPECT_GE(p->stats().connect_failures_total, 1u);
    auto direct = co_await connection::connect(ex, s);
    CO_ASSERT(!(direct));
    EXPECT_EQ(direct.error().code, errc::unavailable);

    guard->c.start();
    guard->stopped = false;
    auto l3 = co_await p->acquire();
    CO_ASSERT(l3);
    auto r3 = co_await (*l3)->query("SELECT 1");
    EXPECT_TRUE(r3);
  }(s, &guard));
}

}  // namespace
}  // namespace redoubt::db
