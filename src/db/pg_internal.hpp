// Shared by db/pg.cpp (connections) and db/pool.cpp (the pool) only: the connection's
// state and the helpers both use. Not for use outside db/.
#pragma once

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
#include "db/pg.hpp"

namespace redoubt::db {
namespace detail {

namespace asio = boost::asio;
using asio::as_tuple;
using asio::use_awaitable;
using clock = std::chrono::steady_clock;
using wait_type = asio::posix::stream_descriptor::wait_type;

inline std::shared_ptr<pg_result> own(PGresult* res) {
  return {res, &PQclear};
}

inline error unavailable(std::string message) {
  return make_error(errc::unavailable, std::move(message));
}

inline std::string trimmed(const char* s) {
  std::string out = s ? s : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// What a caller may learn of a failed statement: the code, and this text for it.
inline std::string_view neutral_message(errc code) noexcept {
  switch (code) {
    case errc::already_exists: return "already exists";
    case errc::invalid_argument: return "invalid input";
    case errc::conflict: return "concurrent change; retry";
    case errc::deadline_exceeded: return "the database took too long";
    case errc::unavailable: return "database unavailable";
    case errc::permission_denied: return "not permitted";
    default: return "database error";
  }
}

enum class readiness { read, write, timeout, failed };

// Keeps a copy of the password from lingering in freed heap memory.
inline void wipe(std::string& s) noexcept {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
}

}  // namespace detail
using namespace detail;

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

  // The server's error text stays in the server log: it can quote the data of the statement
  // (an invalid byte, a key) and names tables and constraints. The caller gets the code and a
  // neutral message for it; the parameters of the statement are never logged.
  error from_result(const PGresult* res) {
    const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const char* constraint = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
    std::string message = primary ? primary : trimmed(PQresultErrorMessage(res));
    const bool bad = PQstatus(conn) == CONNECTION_BAD;
    // libpq-generated errors carry no SQLSTATE.
    const errc code = bad ? errc::unavailable : state ? errc_from_sqlstate(state) : errc::internal;
    log::warn("db_error", {{"sqlstate", state ? state : ""},
                           {"code", errc_name(code)},
                           {"constraint", constraint ? constraint : ""},
                           {"error", message.substr(0, 300)}});
    if (bad) healthy = false;
    return make_error(code, std::string(neutral_message(code)));
  }

  // Reads the results of one statement, up to the nullptr that ends them: `last` gets the last
  // successful one, `failure` the first error (unless it is set already). COPY, or a pipeline
  // sync before every statement answered, leaves the protocol state unknown: the connection
  // is marked unhealthy.
  awaitable<result<void>> read_results(clock::time_point deadline, rows& last,
                                       std::optional<error>& failure) {
    for (;;) {
      auto r = co_await next_result(deadline);
      if (!r) co_return r.error();
      if (!*r) co_return result<void>{};
      auto res = own(*r);
      switch (PQresultStatus(res.get())) {
        case PGRES_COMMAND_OK:
        case PGRES_TUPLES_OK:
        case PGRES_EMPTY_QUERY:
          last = rows(res);
          break;
        case PGRES_PIPELINE_ABORTED:  // skipped after an earlier statement of the pipeline failed
          break;
        case PGRES_PIPELINE_SYNC:
          healthy = false;
          co_return make_error(errc::internal, "pipeline out of sync");
        case PGRES_COPY_IN:
        case PGRES_COPY_OUT:
        case PGRES_COPY_BOTH:
          healthy = false;
          co_return make_error(errc::internal, "COPY is not supported");
        default:
          if (!failure) failure = from_result(res.get());
          break;
      }
    }
  }

  // Reads all results of one query; keeps the last successful one and the first error.
  awaitable<result<rows>> collect(clock::time_point deadline) {
    std::optional<error> failure;
    rows last;
    if (auto read = co_await read_results(deadline, last, failure); !read) co_return read.error();
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

}  // namespace redoubt::db
