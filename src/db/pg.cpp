#include "db/pg.hpp"

#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <poll.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <utility>
#include <variant>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/log.hpp"

namespace redoubt::db {
namespace {

namespace asio = boost::asio;
using asio::as_tuple;
using asio::use_awaitable;
using clock = std::chrono::steady_clock;
using wait_type = asio::posix::stream_descriptor::wait_type;

std::shared_ptr<pg_result> own(PGresult* res) {
  return {res, &PQclear};
}

error unavailable(std::string message) {
  return make_error(errc::unavailable, std::move(message));
}

std::string trimmed(const char* s) {
  std::string out = s ? s : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

enum class readiness { read, write, timeout, failed };

// Keeps a copy of the password from lingering in freed heap memory.
void wipe(std::string& s) noexcept {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// rows

rows::rows(std::shared_ptr<pg_result> res) : res_(std::move(res)) {}

int rows::size() const noexcept {
  return res_ ? PQntuples(res_.get()) : 0;
}

int rows::columns() const noexcept {
  return res_ ? PQnfields(res_.get()) : 0;
}

int rows::column(std::string_view name) const noexcept {
  // Exact match: PQfnumber would case-fold and parse quotes.
  for (int i = 0; i < columns(); ++i) {
    if (const char* n = PQfname(res_.get(), i); n && name == n) return i;
  }
  return -1;
}

bool rows::is_null(int row, int col) const noexcept {
  return !res_ || PQgetisnull(res_.get(), row, col) != 0;
}

std::string_view rows::text(int row, int col) const noexcept {
  if (!res_) return {};
  const char* v = PQgetvalue(res_.get(), row, col);
  if (!v) return {};
  return {v, static_cast<std::size_t>(PQgetlength(res_.get(), row, col))};
}

std::int64_t rows::int64(int row, int col) const {
  auto t = text(row, col);
  std::int64_t v = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc{} || ptr != t.data() + t.size() || t.empty()) {
    throw std::runtime_error("db: column is not an int64");
  }
  return v;
}

bool rows::boolean(int row, int col) const noexcept {
  return text(row, col) == "t";
}

std::int64_t rows::affected() const noexcept {
  if (!res_) return 0;
  std::string_view t = PQcmdTuples(res_.get());
  std::int64_t v = 0;
  std::from_chars(t.data(), t.data() + t.size(), v);
  return v;
}

// ---------------------------------------------------------------------------------------------
// connection

struct connection::impl {
  impl(asio::any_io_executor ex, clock::duration guard) : sock(std::move(ex)), io_guard(guard) {}
  ~impl() {
    detach();
    if (conn) PQfinish(conn);
  }

  PGconn* conn = nullptr;
  asio::posix::stream_descriptor sock;
  // Client-side bound for one round trip; the server enforces statement_timeout first.
  clock::duration io_guard;
  bool healthy = true;

  // Asio must never close libpq's socket.
  void detach() noexcept {
    if (sock.is_open()) sock.release();
  }

  bool attach() {
    detach();
    int fd = PQsocket(conn);
    if (fd < 0) return false;
    boost::system::error_code ec;
    sock.assign(fd, ec);
    return !ec;
  }

  error lost(std::string_view what) {
    healthy = false;
    log::warn("db_connection_lost", {{"what", what}, {"error", trimmed(PQerrorMessage(conn))}});
    return unavailable("database connection lost");
  }

  awaitable<readiness> wait(bool want_read, bool want_write, clock::time_point deadline) {
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer timer(sock.get_executor(), deadline);
    auto tok = as_tuple(use_awaitable);
    boost::system::error_code ec;
    readiness kind = readiness::timeout;
    if (want_read && want_write) {
      auto r = co_await (sock.async_wait(wait_type::wait_read, tok) ||
                         sock.async_wait(wait_type::wait_write, tok) || timer.async_wait(tok));
      if (r.index() == 0) ec = std::get<0>(std::get<0>(r)), kind = readiness::read;
      if (r.index() == 1) ec = std::get<0>(std::get<1>(r)), kind = readiness::write;
    } else {
      auto r = co_await (
          sock.async_wait(want_read ? wait_type::wait_read : wait_type::wait_write, tok) ||
          timer.async_wait(tok));
      if (r.index() == 0) {
        ec = std::get<0>(std::get<0>(r));
        kind = want_read ? readiness::read : readiness::write;
      }
    }
    co_return ec ? readiness::failed : kind;
  }

  // Sends everything libpq buffered, reading meanwhile so a full server buffer cannot deadlock.
  awaitable<result<void>> flush(clock::time_point deadline) {
    for (;;) {
      int r = PQflush(conn);
      if (r == 0) co_return result<void>{};
      if (r < 0) co_return lost("flush");
      auto w = co_await wait(true, true, deadline);
      if (w == readiness::timeout) {
        healthy = false;
        co_return unavailable("database not responding");
      }
      if (w == readiness::failed) co_return lost("flush wait");
      if (w == readiness::read && !PQconsumeInput(conn)) co_return lost("read");
    }
  }

  // The next result, or nullptr at the end of one query's results.
  awaitable<result<PGresult*>> next_result(clock::time_point deadline) {
    while (PQisBusy(conn)) {
      auto w = co_await wait(true, false, deadline);
      if (w == readiness::timeout) {
        healthy = false;
        co_return unavailable("database not responding");
      }
      if (w == readiness::failed) co_return lost("read wait");
      if (!PQconsumeInput(conn)) co_return lost("read");
    }
    co_return PQgetResult(conn);
  }

  error from_result(const PGresult* res) {
    const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    std::string message = primary ? primary : trimmed(PQresultErrorMessage(res));
    if (PQstatus(conn) == CONNECTION_BAD) {
      healthy = false;
      return unavailable(message.empty() ? "database connection lost" : message);
    }
    // libpq-generated errors carry no SQLSTATE.
    errc code = state ? errc_from_sqlstate(state) : errc::internal;
    return make_error(code, std::move(message));
  }

  // Reads all results of one query; keeps the last successful one and the first error.
  awaitable<result<rows>> collect(clock::time_point deadline) {
    std::optional<error> failure;
    rows last;
    for (;;) {
      auto r = co_await next_result(deadline);
      if (!r) co_return r.error();
      if (!*r) break;
      auto res = own(*r);
      switch (PQresultStatus(res.get())) {
        case PGRES_COMMAND_OK:
        case PGRES_TUPLES_OK:
        case PGRES_EMPTY_QUERY:
          last = rows(res);
          break;
        case PGRES_COPY_IN:
        case PGRES_COPY_OUT:
        case PGRES_COPY_BOTH:
          // COPY is not supported here; the protocol state is unknown afterwards.
          healthy = false;
          co_return make_error(errc::internal, "COPY is not supported");
        default:
          if (!failure) failure = from_result(res.get());
          break;
      }
    }
    if (PQstatus(conn) == CONNECTION_BAD) co_return lost("query");
    if (failure) co_return std::move(*failure);
    co_return last;
  }

  clock::time_point deadline() const { return clock::now() + io_guard; }

  // For idle pooled connections: notices a server that hung up meanwhile, without blocking.
  bool still_alive() {
    if (!healthy || PQstatus(conn) != CONNECTION_OK) return healthy = false;
    if (PQtransactionStatus(conn) != PQTRANS_IDLE) return healthy = false;
    // A server that went away sends a FATAL notice, then EOF: read until both are seen.
    for (int i = 0; i < 4; ++i) {
      pollfd pfd{PQsocket(conn), POLLIN, 0};
      if (::poll(&pfd, 1, 0) <= 0) break;
      if (!PQconsumeInput(conn) || PQstatus(conn) != CONNECTION_OK) return healthy = false;
    }
    return true;
  }
};

connection::connection(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
connection::~connection() = default;

bool connection::healthy() const noexcept {
  return impl_ && impl_->healthy;
}

awaitable<result<std::unique_ptr<connection>>> connection::connect(
    boost::asio::any_io_executor ex, const database_settings& settings) {
  char* parse_error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(settings.conninfo.c_str(), &parse_error);
  if (!parsed) {
    if (parse_error) PQfreemem(parse_error);
    co_return make_error(errc::invalid_argument, "invalid database conninfo");
  }
  std::vector<std::pair<std::string, std::string>> kv;
  for (auto* o = parsed; o->keyword; ++o) {
    if (o->val) kv.emplace_back(o->keyword, o->val);
  }
  PQconninfoFree(parsed);

  auto find = [&](std::string_view key) -> std::string* {
    for (auto& [k, v] : kv) {
      if (k == key) return &v;
    }
    return nullptr;
  };
  auto set = [&](std::string_view key, std::string value) {
    if (auto* v = find(key)) {
      wipe(*v);
      *v = std::move(value);
    } else {
      kv.emplace_back(std::string(key), std::move(value));
    }
  };
  if (!settings.password.empty()) set("password", settings.password.reveal());
  if (!find("ssl_min_protocol_version")) set("ssl_min_protocol_version", "TLSv1.3");
  if (!find("application_name")) set("application_name", "redoubt");
  auto secs = std::max<long long>(
      2, std::chrono::ceil<std::chrono::seconds>(settings.connect_timeout).count());
  set("connect_timeout", std::to_string(secs));
  std::string options =
      "-c statement_timeout=" + std::to_string(settings.statement_timeout.count()) +
      " -c idle_in_transaction_session_timeout=" +
      std::to_string(settings.idle_in_transaction_timeout.count());
  if (auto* o = find("options")) options = *o + " " + options;
  set("options", std::move(options));

  std::vector<const char*> keys, values;
  for (auto& [k, v] : kv) {
    keys.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* raw = PQconnectStartParams(keys.data(), values.data(), 0);
  for (auto& [k, v] : kv) wipe(v);
  if (!raw) co_return make_error(errc::resource_exhausted, "out of memory");

  auto guard = std::chrono::duration_cast<clock::duration>(settings.statement_timeout +
                                                           settings.connect_timeout);
  auto p = std::make_unique<impl>(ex, guard);
  p->conn = raw;
  auto fail = [&](std::string_view why) {
    log::warn("db_connect_failed", {{"reason", why}, {"error", trimmed(PQerrorMessage(raw))}});
    return unavailable("database unavailable: " + trimmed(PQerrorMessage(raw)));
  };
  if (PQstatus(raw) == CONNECTION_BAD) co_return fail("start");

  auto deadline = clock::now() + settings.connect_timeout;
  // Before the first poll, behave as if libpq asked for writability.
  PostgresPollingStatusType st = PGRES_POLLING_WRITING;
  while (st != PGRES_POLLING_OK) {
    if (st == PGRES_POLLING_FAILED) co_return fail("poll");
    // The socket may change between polls (next address, SSL/GSS retry): register it anew.
    if (!p->attach()) co_return fail("socket");
    auto w = co_await p->wait(st == PGRES_POLLING_READING, st != PGRES_POLLING_READING, deadline);
    if (w == readiness::timeout) {
      log::warn("db_connect_failed", {{"reason", "timeout"}});
      co_return unavailable("database unavailable: connect timed out");
    }
    if (w == readiness::failed) co_return fail("wait");
    st = PQconnectPoll(raw);
  }
  if (PQsetnonblocking(raw, 1) != 0 || !p->attach()) co_return fail("nonblocking");
  co_return std::unique_ptr<connection>(new connection(std::move(p)));
}

namespace {

std::vector<const char*> c_params(const params& args) {
  std::vector<const char*> out;
  out.reserve(args.size());
  for (auto& a : args) out.push_back(a ? a->c_str() : nullptr);
  return out;
}

}  // namespace

awaitable<result<rows>> connection::query(std::string_view sql, const params& args) {
  auto& c = *impl_;
  if (!c.healthy) co_return unavailable("database connection lost");
  std::string text(sql);
  auto values = c_params(args);
  if (!PQsendQueryParams(c.conn, text.c_str(), static_cast<int>(values.size()), nullptr,
                         values.data(), nullptr, nullptr, 0)) {
    co_return c.lost("send");
  }
  auto deadline = c.deadline();
  if (auto f = co_await c.flush(deadline); !f) co_return f.error();
  co_return co_await c.collect(deadline);
}

awaitable<result<void>> connection::execute(std::string_view sql) {
  auto& c = *impl_;
  if (!c.healthy) co_return unavailable("database connection lost");
  std::string text(sql);
  if (!PQsendQuery(c.conn, text.c_str())) co_return c.lost("send");
  auto deadline = c.deadline();
  if (auto f = co_await c.flush(deadline); !f) co_return f.error();
  auto r = co_await c.collect(deadline);
  if (!r) co_return r.error();
  co_return result<void>{};
}

awaitable<result<std::vector<rows>>> connection::pipeline(std::span<const statement> statements) {
  auto& c = *impl_;
  if (!c.healthy) co_return unavailable("database connection lost");
  std::vector<rows> out(statements.size());
  if (statements.empty()) co_return out;
  if (!PQenterPipelineMode(c.conn)) co_return make_error(errc::internal, "pipeline mode refused");
  for (auto& st : statements) {
    std::string text(st.sql);
    auto values = c_params(st.args);
    if (!PQsendQueryParams(c.conn, text.c_str(), static_cast<int>(values.size()), nullptr,
                           values.data(), nullptr, nullptr, 0)) {
      co_return c.lost("pipeline send");
    }
  }
  if (!PQpipelineSync(c.conn)) co_return c.lost("pipeline sync");
  auto deadline = c.deadline();
  if (auto f = co_await c.flush(deadline); !f) co_return f.error();

  std::optional<error> failure;
  for (std::size_t i = 0; i < statements.size(); ++i) {
    // Each statement's results end with nullptr.
    for (;;) {
      auto r = co_await c.next_result(deadline);
      if (!r) co_return r.error();
      if (!*r) break;
      auto res = own(*r);
      switch (PQresultStatus(res.get())) {
        case PGRES_COMMAND_OK:
        case PGRES_TUPLES_OK:
        case PGRES_EMPTY_QUERY:
          out[i] = rows(res);
          break;
        case PGRES_PIPELINE_ABORTED:
          break;
        case PGRES_PIPELINE_SYNC:
          // Cannot come before every statement answered: the stream is out of step.
          c.healthy = false;
          co_return make_error(errc::internal, "pipeline out of sync");
        default:
          if (!failure) failure = c.from_result(res.get());
          break;
      }
    }
  }
  auto sync = co_await c.next_result(deadline);
  if (!sync) co_return sync.error();
  if (!*sync) {
    c.healthy = false;
    co_return make_error(errc::internal, "pipeline sync missing");
  }
  auto sync_res = own(*sync);
  if (PQresultStatus(sync_res.get()) != PGRES_PIPELINE_SYNC) {
    c.healthy = false;
    co_return make_error(errc::internal, "pipeline sync missing");
  }
  if (!PQexitPipelineMode(c.conn)) {
    c.healthy = false;
    co_return make_error(errc::internal, "pipeline exit refused");
  }
  if (PQstatus(c.conn) == CONNECTION_BAD) co_return c.lost("pipeline");
  if (failure) {
    auto ts = PQtransactionStatus(c.conn);
    if (ts == PQTRANS_INERROR || ts == PQTRANS_INTRANS) {
      if (auto rb = co_await execute("ROLLBACK"); !rb) c.healthy = false;
    }
    co_return std::move(*failure);
  }
  co_return out;
}

// ---------------------------------------------------------------------------------------------
// pool

namespace {

// What a waiter in acquire() is handed.
struct grant {
  enum kind_t { connection_ready, open_new, timed_out } kind = timed_out;
  std::unique_ptr<connection> conn;
};

// Type-erased completion of a waiting acquire(), bound to the waiter's own executor.
// (asio::any_completion_handler in Boost 1.81 recursively re-wraps itself here.)
struct grant_handler_base {
  virtual ~grant_handler_base() = default;
  virtual void post(grant g) = 0;  // resumes on the waiter's executor, never inline
};

template <class Handler>
struct grant_handler_impl final : grant_handler_base {
  grant_handler_impl(Handler h, asio::any_io_executor e)
      : handler(std::move(h)), ex(std::move(e)) {}
  void post(grant g) override {
    asio::post(
        ex, [h = std::move(handler), g = std::move(g)]() mutable { std::move(h)(std::move(g)); });
  }
  Handler handler;
  asio::any_io_executor ex;
};

using grant_handler = std::unique_ptr<grant_handler_base>;

struct waiter {
  explicit waiter(asio::any_io_executor ex) : timer(std::move(ex)) {}
  grant_handler handler;
  asio::steady_timer timer;
};

void complete(grant_handler h, grant g) {
  h->post(std::move(g));
}

}  // namespace

struct pool::impl {
  impl(asio::any_io_executor e, database_settings s) : ex(std::move(e)), settings(std::move(s)) {}

  asio::any_io_executor ex;
  database_settings settings;
  mutable std::mutex mu;
  std::vector<std::unique_ptr<connection>> idle;
  std::deque<std::shared_ptr<waiter>> waiters;
  int size = 0;  // open connections plus those being opened
  int in_use = 0;
  std::uint64_t acquired_total = 0;
  std::uint64_t acquire_timeouts_total = 0;
  std::uint64_t connect_failures_total = 0;

  // Under mu. Hands a free slot (size already counted) to the first waiter, if any.
  std::shared_ptr<waiter> pop_waiter() {
    if (waiters.empty()) return nullptr;
    auto w = std::move(waiters.front());
    waiters.pop_front();
    w->timer.cancel();  // started under mu, so this cannot race its start
    return w;
  }
};

pool::pool(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
pool::~pool() = default;

std::shared_ptr<pool> pool::create(boost::asio::any_io_executor ex, database_settings settings) {
  if (settings.pool_size < 1) settings.pool_size = 1;
  return std::shared_ptr<pool>(
      new pool(std::make_unique<impl>(std::move(ex), std::move(settings))));
}

pool_stats pool::stats() const {
  std::lock_guard lk(impl_->mu);
  return {impl_->size,
          impl_->in_use,
          static_cast<int>(impl_->waiters.size()),
          impl_->acquired_total,
          impl_->acquire_timeouts_total,
          impl_->connect_failures_total};
}

awaitable<result<lease>> pool::acquire() {
  auto self = shared_from_this();  // the pool outlives every pending acquire()
  auto& p = *impl_;
  auto deadline =
      clock::now() + std::chrono::duration_cast<clock::duration>(p.settings.acquire_timeout);
  std::weak_ptr<pool> weak = self;

  for (;;) {
    // Decides under the lock, and enqueues under the same lock if nothing is free.
    auto init = [&p, weak, deadline](auto handler) {
      // The waiter's own executor, where it must be resumed.
      asio::any_io_executor wex = asio::get_associated_executor(handler, p.ex);
      grant_handler h = std::make_unique<grant_handler_impl<decltype(handler)>>(std::move(handler),
                                                                                std::move(wex));
      std::vector<std::unique_ptr<connection>> dropped;
      std::unique_lock lk(p.mu);
      grant g;
      bool decided = false;
      while (!p.idle.empty()) {
        auto c = std::move(p.idle.back());
        p.idle.pop_back();
        if (c->impl_->still_alive()) {
          g = {grant::connection_ready, std::move(c)};
          decided = true;
          break;
        }
        --p.size;
        dropped.push_back(std::move(c));
      }
      if (!decided && p.size < p.settings.pool_size) {
        ++p.size;
        g.kind = grant::open_new;
        decided = true;
      }
      if (!decided && clock::now() >= deadline) decided = true;  // timed_out
      if (decided) {
        lk.unlock();
        complete(std::move(h), std::move(g));
        return;
      }
      auto w = std::make_shared<waiter>(p.ex);
      w->handler = std::move(h);
      w->timer.expires_at(deadline);
      p.waiters.push_back(w);
      w->timer.async_wait([weak, w](boost::system::error_code) {
        auto owner = weak.lock();
        if (!owner) return;
        auto& q = *owner->impl_;
        std::unique_lock lk(q.mu);
        auto it = std::find(q.waiters.begin(), q.waiters.end(), w);
        if (it == q.waiters.end()) return;  // already handed something
        q.waiters.erase(it);
        auto h = std::move(w->handler);
        lk.unlock();
        complete(std::move(h), grant{});
      });
    };
    grant g = co_await asio::async_initiate<decltype(use_awaitable), void(grant)>(std::move(init),
                                                                                  use_awaitable);

    switch (g.kind) {
      case grant::connection_ready: {
        std::lock_guard lk(p.mu);
        ++p.in_use;
        ++p.acquired_total;
        co_return lease(self, std::move(g.conn));
      }
      case grant::open_new: {
        auto c = co_await connection::connect(p.ex, p.settings);
        if (c) {
          std::lock_guard lk(p.mu);
          ++p.in_use;
          ++p.acquired_total;
          co_return lease(self, std::move(*c));
        }
        std::shared_ptr<waiter> next;
        {
          std::lock_guard lk(p.mu);
          ++p.connect_failures_total;
          // Let the next waiter try (and fail fast) instead of idling until its timeout.
          next = p.pop_waiter();
          if (!next) --p.size;
        }
        if (next) complete(std::move(next->handler), grant{grant::open_new, {}});
        co_return unavailable("database unavailable");
      }
      case grant::timed_out: {
        std::lock_guard lk(p.mu);
        ++p.acquire_timeouts_total;
        co_return unavailable("database unavailable: no connection free");
      }
    }
  }
}

void pool::give_back(std::unique_ptr<connection> conn) noexcept {
  auto& p = *impl_;
  std::shared_ptr<waiter> next;
  grant g;
  {
    std::lock_guard lk(p.mu);
    --p.in_use;
    bool reusable = conn && conn->impl_->healthy && PQstatus(conn->impl_->conn) == CONNECTION_OK &&
                    PQtransactionStatus(conn->impl_->conn) == PQTRANS_IDLE;
    next = p.pop_waiter();
    if (reusable) {
      if (next) {
        g = {grant::connection_ready, std::move(conn)};  // acquire() counts it
      } else {
        p.idle.push_back(std::move(conn));
      }
    } else {
      // A broken or mid-transaction connection is closed; its slot goes to a waiter.
      if (next) {
        g.kind = grant::open_new;
      } else {
        --p.size;
      }
    }
  }
  if (next) {
    complete(std::move(next->handler), std::move(g));
  }
  conn.reset();  // PQfinish outside the lock
}

// ---------------------------------------------------------------------------------------------
// lease

lease::lease(std::shared_ptr<pool> owner, std::unique_ptr<connection> conn)
    : owner_(std::move(owner)), conn_(std::move(conn)) {}

lease::lease(lease&& other) noexcept
    : owner_(std::move(other.owner_)), conn_(std::move(other.conn_)) {}

lease& lease::operator=(lease&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = std::move(other.owner_);
    conn_ = std::move(other.conn_);
  }
  return *this;
}

lease::~lease() {
  release();
}

void lease::release() noexcept {
  if (owner_ && conn_) owner_->give_back(std::move(conn_));
  conn_.reset();
  owner_.reset();
}

// ---------------------------------------------------------------------------------------------

errc errc_from_sqlstate(std::string_view s) noexcept {
  auto cls = s.substr(0, 2);
  if (s == "23505") return errc::already_exists;
  if (s == "23503" || s == "23502" || s == "23514" || cls == "22") return errc::invalid_argument;
  if (s == "57014") return errc::deadline_exceeded;
  if (s == "25P03") return errc::deadline_exceeded;  // idle_in_transaction_session_timeout
  if (cls == "08" || cls == "53" || s == "57P01" || s == "57P02" || s == "57P03") {
    return errc::unavailable;
  }
  if (s == "40001" || s == "40P01") return errc::conflict;
  if (s == "42501") return errc::permission_denied;
  if (cls == "28") return errc::unauthenticated;
  return errc::internal;
}

result<void> check_conninfo_security(const std::string& conninfo) {
  char* parse_error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(conninfo.c_str(), &parse_error);
  if (!parsed) {
    if (parse_error) PQfreemem(parse_error);
    return make_error(errc::invalid_argument, "database.conninfo does not parse");
  }
  std::string host, hostaddr, sslmode, min_tls;
  bool has_password = false;
  for (auto* o = parsed; o->keyword; ++o) {
    if (!o->val) continue;
    std::string_view k = o->keyword;
    if (k == "host") host = o->val;
    if (k == "hostaddr") hostaddr = o->val;
    if (k == "sslmode") sslmode = o->val;
    if (k == "ssl_min_protocol_version") min_tls = o->val;
    if (k == "password" && *o->val) has_password = true;
  }
  PQconninfoFree(parsed);
  if (has_password)
    return make_error(errc::invalid_argument, "database.conninfo must not contain a password; use database.password_file");
  // No host and no hostaddr: libpq's default Unix socket. Otherwise any entry of the
  // comma-separated list that is not a path is a TCP host.
  bool tcp = !hostaddr.empty();
  std::string_view rest = host;
  while (!tcp && !rest.empty()) {
    auto comma = rest.find(',');
    auto entry = rest.substr(0, comma);
    if (entry.empty() || entry.front() != '/') tcp = true;
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  if (tcp && sslmode != "verify-full")
    return make_error(errc::invalid_argument,
                      "database.conninfo must set sslmode=verify-full for a TCP host (TLS with the server's "
                      "certificate and host name checked)");
  if (!min_tls.empty() && min_tls != "TLSv1.3")
    return make_error(errc::invalid_argument, "database.conninfo: ssl_min_protocol_version may only be TLSv1.3");
  return {};
}

}  // namespace redoubt::db
