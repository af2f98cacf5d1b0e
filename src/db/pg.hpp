// Asynchronous PostgreSQL access: libpq in non-blocking mode driven by Asio socket readiness.
// No call here blocks an io_context thread. SQLSTATEs are mapped to redoubt::errc.
//
// Lifecycle / threads: a connection is used by one coroutine at a time (a pool lease grants
// that); it may be resumed on any io_context thread. The pool is thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "base/awaitable.hpp"
#include "base/config.hpp"
#include "base/errc.hpp"

struct pg_result;  // libpq's PGresult
struct pg_conn;    // libpq's PGconn

namespace redoubt::db {

// One query parameter in text format; nullopt is SQL NULL.
using param = std::optional<std::string>;
using params = std::vector<param>;

struct statement {
  std::string_view sql;
  params args;
};

// The rows of one result (shared, cheap to copy). Accessors take row and column indexes.
class rows {
 public:
  rows() = default;
  explicit rows(std::shared_ptr<pg_result> res);

  int size() const noexcept;
  int columns() const noexcept;
  int column(std::string_view name) const noexcept;  // -1 when absent
  bool is_null(int row, int col) const noexcept;
  std::string_view text(int row, int col) const noexcept;
  std::int64_t int64(int row, int col) const;  // "can't happen" on non-integer: throws
  bool boolean(int row, int col) const noexcept;
  std::int64_t affected() const noexcept;  // rows touched by INSERT/UPDATE/DELETE

 private:
  std::shared_ptr<pg_result> res_;
};

class connection {
 public:
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  // Connects without blocking; applies statement_timeout, idle_in_transaction_session_timeout
  // and ssl_min_protocol_version=TLSv1.3; the password goes in as a keyword, never in a string.
  static awaitable<result<std::unique_ptr<connection>>> connect(boost::asio::any_io_executor ex,
                                                                const database_settings& settings);

  // Extended protocol, one statement, text parameters.
  awaitable<result<rows>> query(std::string_view sql, const params& args = {});

  // Simple protocol; several statements allowed; no parameters (migrations, BEGIN/COMMIT).
  awaitable<result<void>> execute(std::string_view sql);

  // Sends all statements in pipeline mode and one sync: one round trip. On the first failure the
  // rest are skipped, an open transaction is rolled back, and that failure is returned.
  awaitable<result<std::vector<rows>>> pipeline(std::span<const statement> statements);

  // False once the connection is lost or left in an unknown state; the pool drops it.
  bool healthy() const noexcept;

 private:
  friend class pool;  // checks liveness and transaction state on give_back / acquire
  struct impl;
  explicit connection(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

class pool;

// Exclusive use of one pooled connection; returns it to the pool when destroyed.
class lease {
 public:
  lease() = default;
  lease(std::shared_ptr<pool> owner, std::unique_ptr<connection> conn);
  lease(lease&&) noexcept;
  lease& operator=(lease&&) noexcept;
  ~lease();

  connection& operator*() const noexcept { return *conn_; }
  connection* operator->() const noexcept { return conn_.get(); }

 private:
  void release() noexcept;
  std::shared_ptr<pool> owner_;
  std::unique_ptr<connection> conn_;
};

struct pool_stats {
  int size = 0;      // open connections
  int in_use = 0;
  int waiting = 0;   // coroutines waiting in acquire()
  std::uint64_t acquired_total = 0;
  std::uint64_t acquire_timeouts_total = 0;
  std::uint64_t connect_failures_total = 0;
};

// A bounded pool. acquire() opens connections lazily up to pool_size, waits up to
// acquire_timeout for a free one, and answers errc::unavailable when the database cannot be
// reached (callers map that to 503 + Retry-After). Broken connections are replaced.
class pool : public std::enable_shared_from_this<pool> {
 public:
  static std::shared_ptr<pool> create(boost::asio::any_io_executor ex, database_settings settings);
  ~pool();

  awaitable<result<lease>> acquire();
  pool_stats stats() const;

  struct impl;

 private:
  friend class lease;
  explicit pool(std::unique_ptr<impl> p);
  void give_back(std::unique_ptr<connection> conn) noexcept;
  std::unique_ptr<impl> impl_;
};

// Maps a SQLSTATE to the project taxonomy (23505 -> already_exists, 57014 -> deadline_exceeded,
// class 08 -> unavailable, 40001/40P01 -> conflict, 23503/23514/22xxx -> invalid_argument ...).
errc errc_from_sqlstate(std::string_view sqlstate) noexcept;

// Refuses a conninfo that would let the connection go over the network without verified
// TLS 1.3: every TCP host needs sslmode=verify-full (certificate and host name checked), and
// ssl_min_protocol_version may only be TLSv1.3 (the default we set). Unix-socket hosts (a
// path) need no TLS. A password in the conninfo is refused too (it belongs in a 0600 file).
result<void> check_conninfo_security(const std::string& conninfo);

}  // namespace redoubt::db
