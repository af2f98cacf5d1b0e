// Fan-out between redoubt-server nodes over NATS core subjects (TLS, the server's own broker
// account; every frame sealed with the cluster key, see queue/bus_seal.hpp, so the broker is
// not trusted): committed room events on `room.<id>`, membership changes on `room.<id>.member`,
// typing and presence on `room.<id>.eph`, ended sessions on `cluster.session_end`. The only
// place nats.c is used by the server. Thread-safe; delivery callbacks run on nats.c's threads
// and must not block.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
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
  secret_string cluster_keys;                  // the cluster key file's text (queue/bus_seal.hpp)
};

// What other nodes publish, as handed to this node. Called on nats.c's threads.
struct remote_handlers {
  // A committed event: room, seq and the frame as sent to clients.
  std::function<void(std::int64_t room, std::int64_t seq, std::string frame)> event;
  // A user joined (`joined`) or left a room; events from `seq` on concern them.
  std::function<void(std::int64_t room, std::int64_t user, std::int64_t seq, bool joined)> membership;
  // Typing or presence: for everyone following the room but `except_user`.
  std::function<void(std::int64_t room, std::int64_t except_user, std::string frame)> ephemeral;
  // Sessions ended: `session`, or every session of `user` but `keep`.
  std::function<void(std::int64_t user, std::optional<std::int64_t> session, std::optional<std::int64_t> keep)>
      session_end;
};

class event_bus {
 public:
  static result<std::unique_ptr<event_bus>> connect(const bus_settings& settings, remote_handlers on_remote);
  ~event_bus();
  event_bus(const event_bus&) = delete;
  event_bus& operator=(const event_bus&) = delete;

  // Fire-and-forget: the database is the record; peers fill any gap from it on the next event.
  void publish(std::int64_t room, std::int64_t seq, const std::string& frame);
  // Fire-and-forget too, on subjects room.<id>.member and room.<id>.eph.
  void publish_membership(std::int64_t room, std::int64_t user, std::int64_t seq, bool joined);
  void publish_ephemeral(std::int64_t room, std::int64_t except_user, const std::string& frame);
  // On subject cluster.session_end: the other nodes close the connections of ended sessions.
  void publish_session_end(std::int64_t user, std::optional<std::int64_t> session, std::optional<std::int64_t> keep);

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
  // Frames from the broker refused so far (forged, altered, stale, replayed...), by reason.
  struct refused_counts {
    std::uint64_t malformed = 0, unknown_key = 0, forged = 0, stale = 0, replayed = 0;
  };
  refused_counts refused() const noexcept;

  // nats.c reconnects by itself after a broker restart, but closes the connection for good
  // after the same authorization error twice or a protocol error from the broker. This opens
  // a new connection (and room.> subscription) when that happened; false while that fails.
  // Blocks: call it from the outbox relay's own thread, never from an io_context thread.
  bool reopen_if_closed();
  std::uint64_t reopened() const noexcept;  // connections opened again so far

  struct impl;

 private:
  explicit event_bus(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace redoubt::queue
