// A throwaway PostgreSQL cluster for integration tests (scripts/pg-cluster.sh underneath):
// TLS 1.3 only, scram-sha-256, roles redoubt_owner/app/worker, database "redoubt".
// Started once per test binary on first use; stopped and deleted at process exit.
#pragma once

#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "base/config.hpp"

namespace redoubt::test {

class temp_dir;

enum class pg_role { owner, app, worker };

class pg_cluster {
 public:
  static pg_cluster& shared();

  ~pg_cluster();
  pg_cluster(const pg_cluster&) = delete;
  pg_cluster& operator=(const pg_cluster&) = delete;

  const std::string& dir() const;
  int port() const { return port_; }
  const std::string& ca_file() const { return ca_file_; }

  // TLS (verify-full) over 127.0.0.1 as redoubt_<role>, password from DIR/secrets; pool_size 4.
  database_settings settings(pg_role role) const;

  // Runs SQL (fed on stdin) with psql as the cluster superuser over the Unix socket and
  // returns its unaligned, tuples-only stdout. Throws std::runtime_error on failure.
  std::string superuser_psql(const std::string& sql, const std::string& dbname = "redoubt") const;

  // For "database down" tests.
  void stop();
  void start();

 private:
  pg_cluster();
  void script(const std::vector<std::string>& args) const;

  std::unique_ptr<temp_dir> dir_;  // removed after the destructor has stopped the cluster
  int port_ = 0;
  std::string ca_file_;
};

// Runs `task` to completion on a fresh io_context served by `threads` threads and returns its
// value; an exception escaping the coroutine is rethrown here. Objects bound to the io_context
// (pools, connections) must not outlive the task.
template <class T>
T run_sync(boost::asio::awaitable<T> task, int threads = 2) {
  boost::asio::io_context io(threads);
  std::exception_ptr failure;
  std::optional<std::conditional_t<std::is_void_v<T>, int, T>> value;
  if constexpr (std::is_void_v<T>) {
    boost::asio::co_spawn(io, std::move(task), [&](std::exception_ptr e) {
      failure = e;
      value.emplace(0);
    });
  } else {
    boost::asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T v) {
      failure = e;
      if (!e) value.emplace(std::move(v));
    });
  }
  std::vector<std::thread> helpers;
  for (int i = 1; i < threads; ++i) helpers.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : helpers) t.join();
  if (failure) std::rethrow_exception(failure);
  if constexpr (!std::is_void_v<T>) return std::move(*value);
}

}  // namespace redoubt::test
