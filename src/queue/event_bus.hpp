// Fan-out of committed room events between redoubt-server nodes over NATS core subjects
// `room.<id>` (TLS, the server's own broker account). The only place nats.c is used by the
// server. Thread-safe; delivery callbacks run on nats.c's threads and must not block.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/errc.hpp"
#include "base/secret.hpp"

namespace redoubt::queue {

struct bus_settings {
  std::string url;  // "tls://host:port"; empty = single node, no bus
  std::string user;
  secret_string password;
  std::string ca_file;
  std::string inbox_prefix = "_INBOX.server";  // the broker lets this account read only these replies
};

class event_bus {
 public:
  // Called for events published by other nodes: room, seq and the frame as sent to clients.
  using remote_handler = std::function<void(std::int64_t room, std::int64_t seq, std::string frame)>;

  static result<std::unique_ptr<event_bus>> connect(const bus_settings& settings, remote_handler on_remote);
  ~event_bus();
  event_bus(const event_bus&) = delete;
  event_bus& operator=(const event_bus&) = delete;

  // Fire-and-forget: the database is the record; peers fill any gap from it on the next event.
  void publish(std::int64_t room, std::int64_t seq, const std::string& frame);

  // Publishes a signed job to JetStream (Nats-Msg-Id = msg_id, so a repeat within the stream's
  // duplicate window is dropped by the broker) and waits for the stream's ack. Blocks up to
  // timeout: call it from the outbox relay's own thread, never from an io_context thread.
  struct job_message {
    std::string subject;  // jobs.<type>
    std::string data;     // the signed envelope
    std::string msg_id;
    std::string key_id;
    std::string signature;
    std::string correlation_id;
  };
  result<void> publish_job(const job_message& job, std::chrono::milliseconds timeout);

  const std::string& node_id() const noexcept;

 private:
  struct impl;
  explicit event_bus(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace redoubt::queue
