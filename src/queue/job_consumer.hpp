// The worker's side of JetStream: a pull subscription bound to the durable consumer "worker" of
// stream JOBS, with the worker's own broker account. Fetch, ack, nak-with-delay, terminate,
// and the dead-letter subject. Blocking calls: the worker runs them on its own threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/errc.hpp"
#include "base/secret.hpp"

namespace redoubt::queue {

struct consumer_settings {
  std::string url;
  std::string user = "redoubt_worker";
  secret_string password;
  std::string ca_file;
  std::string inbox_prefix = "_INBOX.worker";
  std::string stream = "JOBS";
  std::string durable = "worker";
};

// One delivered job message. Owns the nats message; thread-compatible.
class delivery {
 public:
  ~delivery();
  delivery(const delivery&) = delete;
  delivery& operator=(const delivery&) = delete;

  std::string_view subject() const;
  std::string_view data() const;
  std::string header(const char* name) const;  // "" when absent
  std::uint64_t delivery_count() const;         // 1 on the first delivery

  void ack();
  void nak(std::chrono::milliseconds delay);
  void term();  // never redelivered

  struct impl;
  explicit delivery(std::unique_ptr<impl> p);

 private:
  std::unique_ptr<impl> impl_;
};

// The connection reconnects on its own after a broker restart. When the client library gives
// up on it for good (it closes the connection after the same authorization error twice, or on
// a protocol error from the broker), fetch() opens a new connection and subscription, so a
// broker fixed later is used again without restarting the worker.
class job_consumer {
 public:
  static result<std::unique_ptr<job_consumer>> connect(const consumer_settings& s);
  ~job_consumer();

  // Waits up to `wait` for at most `batch` messages; an empty vector on timeout. Not
  // reentrant: one fetch at a time (dead_letter may run beside it).
  result<std::vector<std::unique_ptr<delivery>>> fetch(int batch, std::chrono::milliseconds wait);
  // Fire-and-forget copy to dlq.<reason> for operators (the audit log has the record).
  void dead_letter(std::string_view reason, std::string_view data, std::string_view job_id);
  // How many times the connection was opened again after the client library closed it.
  std::uint64_t reopened() const noexcept;

  struct impl;

 private:
  job_consumer(consumer_settings s, std::unique_ptr<impl> p);
  struct state;
  std::unique_ptr<state> state_;
};

}  // namespace redoubt::queue
