// One live client over WebSocket: parses its frames, forwards them to chat::service, and keeps
// per-room delivery cursors so that every event reaches the client exactly once and in order.
//
// Lifecycle: created by net::ws_session after an authorized upgrade, destroyed when the
// connection closes. Concurrency: all state is touched only on the connection's strand
// (`executor`); hub callbacks from other threads are posted there.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "api/http_types.hpp"
#include "api/metrics.hpp"
#include "auth/policy.hpp"
#include "auth/rate_limit.hpp"
#include "base/config.hpp"
#include "chat/hub.hpp"
#include "chat/service.hpp"
#include "proto/server_frames.hpp"

namespace redoubt::api {

// What a gateway uses: narrower than app_context, so tests can build one from in-memory stores.
struct gateway_context {
  const settings& config;
  chat::hub& hub;
  chat::service& chat;
  metrics& stats;
  auth::rate_limiter& messages_per_user;  // shared with REST and the user's other connections
};

class ws_gateway final : public chat::subscriber, public std::enable_shared_from_this<ws_gateway> {
 public:
  ws_gateway(gateway_context ctx, boost::asio::any_io_executor strand, ws_link& link,
             chat::session_info session, std::string remote_ip);
  ~ws_gateway() override;

  // Sends the hello frame and registers with the hub.
  void open();
  // Handles one text frame. Returns quickly: sends run as their own coroutines.
  boost::asio::awaitable<void> on_text(std::string text);
  // Unregisters; the link is gone after this.
  void closed();

  // chat::subscriber
  chat::user_id user() const override { return session_.account.id; }
  std::int64_t session_id() const override { return session_.id; }
  bool away() const override { return away_.load(); }
  void on_event(chat::room_id room, chat::seq_t seq, const chat::frame_ptr& frame) override;
  void on_ephemeral(const chat::frame_ptr& frame) override;
  void on_room_added(chat::room_id room, chat::seq_t first_seq) override;
  void on_room_removed(chat::room_id room, chat::seq_t seq) override;
  void on_session_ended() override;

 private:
  struct room_state {
    std::optional<auth::room_facts> facts;
    chat::seq_t cursor = 0;       // last seq delivered to the client
    bool fetching = false;        // a catch-up from the DB is running
    bool gap_pending = false;     // a newer event arrived during the catch-up
    std::chrono::steady_clock::time_point typing_window{};
    int typing_count = 0;
  };

  // Subscribing: `loading` while the rooms are read; membership changes that arrive meanwhile
  // are held and applied once the cursors are set, so a catch-up never starts from a cursor
  // that the subscribe then overwrites (nor is a room joined in that window missed).
  enum class subscription { none, loading, live };
  struct membership_change {
    chat::room_id room;
    chat::seq_t seq;
    bool joined;
  };

  void send(const chat::frame_ptr& frame);
  void send_json(std::string text);
  void send_error(const std::optional<std::string>& ref, const error& e);
  void deliver(chat::room_id room, chat::seq_t seq, const chat::frame_ptr& frame);
  void room_added(chat::room_id room, chat::seq_t first_seq);
  void room_removed(chat::room_id room, chat::seq_t seq);
  void start_catch_up(chat::room_id room);
  boost::asio::awaitable<void> catch_up(chat::room_id room);
  boost::asio::awaitable<void> follow(chat::room_id room, chat::seq_t first_seq);
  boost::asio::awaitable<void> handle_subscribe(std::optional<std::string> id,
                                                std::map<std::int64_t, std::int64_t> after);
  boost::asio::awaitable<void> handle_send(std::optional<std::string> id, chat::room_id room,
                                           std::string client_id, std::string body,
                                           std::optional<chat::message_id> reply_to,
                                           std::vector<std::int64_t> attachments);
  void broadcast_presence(proto::server::presence_status status);
  bool allow_message();
  void end_session(std::string_view why);

  gateway_context ctx_;
  boost::asio::any_io_executor strand_;
  ws_link& link_;
  chat::session_info session_;
  std::string remote_ip_;
  std::map<chat::room_id, room_state> rooms_;
  boost::asio::steady_timer session_expiry_;
  subscription subscription_ = subscription::none;
  std::vector<membership_change> held_changes_;  // while loading
  bool closed_ = false;
  std::atomic<bool> away_{false};  // read by the hub from any thread
  std::size_t inflight_sends_ = 0;
};

}  // namespace redoubt::api
