#include "api/ws_gateway.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "api/errors.hpp"
#include "base/log.hpp"
#include "proto/room_event_kind.hpp"
#include "proto/frames.hpp"
#include "proto/render.hpp"
#include "proto/server_frames.hpp"

namespace redoubt::api {
namespace asio = boost::asio;
namespace server = proto::server;

namespace {
constexpr int replay_page = 500;

chat::frame_ptr shared_frame(std::string text) {
  return std::make_shared<const std::string>(std::move(text));
}

// True for the member_left event of `me`: the room's events stop after it.
bool removes_me(const chat::room_event& e, chat::user_id me) {
  if (chat::room_event_kind_from_string(e.kind) != chat::room_event_kind::member_left) return false;
  auto left = chat::decode_payload<chat::member_left_payload>(e.payload_json);
  return left && left->user == me;
}
}  // namespace

ws_gateway::ws_gateway(gateway_context ctx, asio::any_io_executor strand, ws_link& link,
                       chat::session_info session, std::string remote_ip)
    : ctx_(ctx),
      strand_(std::move(strand)),
      link_(link),
      session_(std::move(session)),
      remote_ip_(std::move(remote_ip)),
      session_expiry_(strand_) {}

ws_gateway::~ws_gateway() = default;

void ws_gateway::send(const chat::frame_ptr& frame) {
  if (closed_) return;
  ctx_.stats.ws_frames_out.fetch_add(1, std::memory_order_relaxed);
  if (!link_.send(frame)) {
    ctx_.stats.ws_slow_consumer_closes.fetch_add(1);
    log::warn("ws_slow_consumer", {{"user_id", session_.account.id}, {"ip", remote_ip_}});
    closed_ = true;
  }
}

void ws_gateway::send_json(std::string text) { send(shared_frame(std::move(text))); }

void ws_gateway::send_error(const std::optional<std::string>& ref, const error& e) {
  send_json(server::encode(ws_error_frame(ref, e)));
}

void ws_gateway::open() {
  auto self = shared_from_this();
  server::hello_frame hello{proto::user_json(session_.account, true), session_.id};
  send_json(server::encode(hello));
  ctx_.hub.attach(self);
  // The session's absolute lifetime ends the connection too.
  if (session_.seconds_left > 0) {
    session_expiry_.expires_after(std::chrono::seconds(session_.seconds_left));
    session_expiry_.async_wait([self](boost::system::error_code ec) {
      if (!ec) self->end_session("expired");
    });
  }
}

void ws_gateway::end_session(std::string_view why) {
  if (closed_) return;
  closed_ = true;  // nothing is sent after the close frame
  session_expiry_.cancel();
  log::info("ws_session_ended", {{"user_id", user()}, {"session_id", session_.id}, {"reason", why}});
  link_.close(ws_close_code::session_ended, "session ended");
}

void ws_gateway::closed() {
  if (subscription_ != subscription::none) {
    auto rooms = ctx_.hub.rooms_followed_by(user());
    bool last = ctx_.hub.detach(this);
    if (last) {
      auto frame = shared_frame(server::encode(server::presence_frame{user(), server::presence_status::offline}));
      for (auto r : rooms) ctx_.hub.publish_ephemeral(r, frame, user());
    }
  } else {
    ctx_.hub.detach(this);
  }
  closed_ = true;
  session_expiry_.cancel();
}

void ws_gateway::broadcast_presence(server::presence_status status) {
  auto frame = shared_frame(server::encode(server::presence_frame{user(), status}));
  for (const auto& [room, _] : rooms_) ctx_.hub.publish_ephemeral(room, frame, user(), /*to_peers=*/false);
}

// --- hub callbacks (any thread) -> strand

void ws_gateway::on_event(chat::room_id room, chat::seq_t seq, const chat::frame_ptr& frame) {
  asio::post(strand_, [self = shared_from_this(), room, seq, frame] { self->deliver(room, seq, frame); });
}

void ws_gateway::on_ephemeral(const chat::frame_ptr& frame) {
  asio::post(strand_, [self = shared_from_this(), frame] { self->send(frame); });
}

void ws_gateway::on_room_added(chat::room_id room, chat::seq_t first_seq) {
  asio::post(strand_,
             [self = shared_from_this(), room, first_seq] { self->room_added(room, first_seq); });
}

void ws_gateway::on_room_removed(chat::room_id room, chat::seq_t seq) {
  asio::post(strand_, [self = shared_from_this(), room, seq] { self->room_removed(room, seq); });
}

// --- membership changes (strand only)

void ws_gateway::room_added(chat::room_id room, chat::seq_t first_seq) {
  if (subscription_ == subscription::loading) {
    held_changes_.push_back({room, first_seq, true});
    return;
  }
  if (subscription_ != subscription::live || closed_ || rooms_.contains(room)) return;
  asio::co_spawn(strand_, [self = shared_from_this(), room, first_seq]() { return self->follow(room, first_seq); },
                 asio::detached);
}

asio::awaitable<void> ws_gateway::follow(chat::room_id room, chat::seq_t first_seq) {
  // A membership change may come from a peer node: believe the database, not the message.
  auto facts = co_await ctx_.chat.facts(room, user());
  const bool member = facts && auth::authorize_live_follow(*facts);
  if (!member) {
    if (!facts && facts.error().code != errc::not_found)
      log::warn("ws_membership_check_failed", {{"room", room}, {"code", errc_name(facts.error().code)}});
    else
      log::warn("ws_membership_not_confirmed", {{"room", room}, {"user_id", user()}});
    co_return;
  }
  if (subscription_ != subscription::live || closed_ || rooms_.contains(room)) co_return;
  auto& st = rooms_[room];
  st.cursor = first_seq - 1;
  ctx_.hub.subscribe(room, shared_from_this());
  // The join event may already be committed and published: fetch it.
  start_catch_up(room);
}

void ws_gateway::room_removed(chat::room_id room, chat::seq_t seq) {
  if (subscription_ == subscription::loading) {
    held_changes_.push_back({room, seq, false});
    return;
  }
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return;
  // Deliver up to and including the removal event, then stop following.
  if (it->second.cursor < seq) {
    it->second.gap_pending = true;
    start_catch_up(room);
    return;  // catch_up finishes the removal when it reaches seq (see deliver)
  }
  ctx_.hub.unsubscribe(room, this);
  rooms_.erase(it);
}

void ws_gateway::on_session_ended() {
  asio::post(strand_, [self = shared_from_this()] { self->end_session("ended"); });
}

// --- delivery with per-room cursors (strand only)

void ws_gateway::deliver(chat::room_id room, chat::seq_t seq, const chat::frame_ptr& frame) {
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return;
  auto& st = it->second;
  if (seq <= st.cursor) return;  // already delivered: no duplicates
  if (seq == st.cursor + 1 && !st.fetching) {
    st.cursor = seq;
    send(frame);
    return;
  }
  // A gap (events committed but not seen here yet): fill it from the database, in order.
  st.gap_pending = true;
  start_catch_up(room);
}

void ws_gateway::start_catch_up(chat::room_id room) {
  auto it = rooms_.find(room);
  if (it == rooms_.end() || it->second.fetching || closed_) return;
  it->second.fetching = true;
  asio::co_spawn(strand_, [self = shared_from_this(), room]() { return self->catch_up(room); },
                 asio::detached);
}

asio::awaitable<void> ws_gateway::catch_up(chat::room_id room) {
  for (;;) {
    auto it = rooms_.find(room);
    if (it == rooms_.end() || closed_) co_return;
    it->second.gap_pending = false;
    auto from = it->second.cursor;
    auto items = co_await ctx_.chat.replay(room, from, replay_page);
    it = rooms_.find(room);
    if (it == rooms_.end() || closed_) co_return;
    auto& st = it->second;
    if (!items) {
      log::warn("ws_replay_failed", {{"room", room}, {"code", errc_name(items.error().code)}});
      st.fetching = false;
      send_error(std::nullopt, make_error(errc::unavailable, "could not replay room " +
                                                                 std::to_string(room) + "; resubscribe"));
      co_return;
    }
    bool removed = false;
    for (const auto& item : *items) {
      chat::seq_t seq = 0;
      std::string frame;
      if (auto* m = std::get_if<chat::message>(&item)) {
        seq = m->seq;
        frame = proto::message_event_frame(*m);
      } else {
        const auto& e = std::get<chat::room_event>(item);
        seq = e.seq;
        frame = proto::room_event_frame(e);
        removed = removes_me(e, user());
      }
      if (seq != st.cursor + 1) break;  // not yet visible: a later pass picks it up
      st.cursor = seq;
      send(std::make_shared<const std::string>(std::move(frame)));
      if (removed) break;
    }
    if (removed) {
      ctx_.hub.unsubscribe(room, this);
      rooms_.erase(room);
      co_return;
    }
    bool full_page = static_cast<int>(items->size()) == replay_page;
    if (!full_page && !st.gap_pending) {
      st.fetching = false;
      co_return;
    }
  }
}

// --- frames from the client

bool ws_gateway::allow_message() { return ctx_.messages_per_user.allow(std::to_string(user())); }

asio::awaitable<void> ws_gateway::on_text(std::string text) {
  ctx_.stats.ws_frames_in.fetch_add(1, std::memory_order_relaxed);
  if (closed_) co_return;  // the session ended: frames still in flight are not acted on
  std::optional<std::string> ref;
  proto::frame_limits limits{ctx_.config.limits.max_message_body_chars,
                              ctx_.config.limits.max_attachments_per_message};
  auto frame = proto::parse_client_frame(text, limits, ref);
  if (!frame) {
    send_error(ref, frame.error());
    co_return;
  }
  auto self = shared_from_this();
  if (auto* f = std::get_if<proto::subscribe_frame>(&*frame)) {
    co_await handle_subscribe(f->id, std::move(f->after_seq));
  } else if (auto* f = std::get_if<proto::send_frame>(&*frame)) {
    if (subscription_ != subscription::live) {
      send_error(f->id, make_error(errc::failed_precondition, "send 'subscribe' first"));
      co_return;
    }
    if (inflight_sends_ >= ctx_.config.limits.max_inflight_sends_per_connection) {
      send_error(f->id ? f->id : std::optional(f->client_id),
                 make_error(errc::resource_exhausted, "too many unacknowledged sends; wait for acks"));
      co_return;
    }
    if (!allow_message()) {
      ctx_.stats.rate_limited.fetch_add(1);
      send_error(f->id ? f->id : std::optional(f->client_id),
                 make_error(errc::resource_exhausted, "sending too fast; slow down"));
      co_return;
    }
    ++inflight_sends_;
    asio::co_spawn(strand_,
                   [self, id = f->id, room = f->room, cid = std::move(f->client_id), body = std::move(f->body),
                    reply = f->reply_to, files = std::move(f->attachments)]() mutable {
                     return self->handle_send(std::move(id), room, std::move(cid), std::move(body), reply,
                                              std::move(files));
                   },
                   asio::detached);
  } else if (auto* f = std::get_if<proto::typing_frame>(&*frame)) {
    auto it = rooms_.find(f->room);
    if (it == rooms_.end()) {
      send_error(f->id, make_error(errc::not_found, "room not found"));
      co_return;
    }
    auto now = std::chrono::steady_clock::now();
    auto& st = it->second;
    if (now - st.typing_window > std::chrono::seconds(10)) {
      st.typing_window = now;
      st.typing_count = 0;
    }
    if (++st.typing_count > ctx_.config.limits.typing_per_10s) co_return;  // ephemeral: drop silently
    server::typing_frame typing{f->room, user(), session_.account.username};
    ctx_.hub.publish_ephemeral(f->room, shared_frame(server::encode(typing)), user());
  } else if (auto* f = std::get_if<proto::read_frame>(&*frame)) {
    auth::actor who{session_.account.id, session_.account.is_admin};
    auto ok = co_await ctx_.chat.mark_read(who, f->room, f->seq);
    if (!ok) {
      send_error(f->id, ok.error());
      co_return;
    }
    if (f->id) send_json(server::encode(server::ok_frame{*f->id}));
  } else if (auto* f = std::get_if<proto::presence_frame>(&*frame)) {
    const bool away = f->status == "away";
    away_.store(away);
    broadcast_presence(away ? server::presence_status::away : server::presence_status::online);
    if (f->id) send_json(server::encode(server::ok_frame{*f->id}));
  } else if (auto* f = std::get_if<proto::ping_frame>(&*frame)) {
    send_json(server::encode(server::pong_frame{f->id}));
  }
}

asio::awaitable<void> ws_gateway::handle_subscribe(std::optional<std::string> id,
                                                   std::map<std::int64_t, std::int64_t> after) {
  if (subscription_ != subscription::none) {
    send_error(id, make_error(errc::failed_precondition, "already subscribed"));
    co_return;
  }
  subscription_ = subscription::loading;
  auto self = shared_from_this();
  const auth::actor me{session_.account.id, session_.account.is_admin};
  auto rooms = co_await ctx_.chat.my_rooms(me);
  if (!rooms) {
    subscription_ = subscription::none;
    held_changes_.clear();
    send_error(id, rooms.error());
    co_return;
  }
  server::subscribed_frame listed{{}, id};
  for (const auto& r : *rooms) {
    auto& st = rooms_[r.id];
    st.facts = auth::room_facts{r.kind, r.my_role};
    auto a = after.find(r.id);
    // A client may not ask for more than the room has; it gets live events from its cursor.
    st.cursor = a == after.end() ? r.last_seq : std::min(a->second, r.last_seq);
    ctx_.hub.subscribe(r.id, self);
    listed.rooms.push_back(server::room_cursor{r.id, r.last_seq, st.cursor});
  }
  subscription_ = subscription::live;
  send_json(server::encode(listed));
  // Anything committed between reading the rooms and subscribing is fetched now; the
  // cursors make the overlap with live delivery harmless.
  for (auto& [room, st] : rooms_) start_catch_up(room);
  // Joins and removals seen while loading: a room already listed keeps its cursor.
  auto held = std::move(held_changes_);
  held_changes_.clear();
  for (const auto& c : held) {
    if (c.joined)
      room_added(c.room, c.seq);
    else
      room_removed(c.room, c.seq);
  }
  if (ctx_.hub.online(user())) broadcast_presence(server::presence_status::online);
  // Who is already here: one presence frame per online member of these rooms (this node).
  std::vector<chat::room_id> mine;
  for (const auto& [room, st] : rooms_) mine.push_back(room);
  for (const auto& other : ctx_.hub.online_in(mine))
    if (other.user != user())
      send_json(server::encode(server::presence_frame{
          other.user, other.away ? server::presence_status::away : server::presence_status::online}));
}

asio::awaitable<void> ws_gateway::handle_send(std::optional<std::string> id, chat::room_id room,
                                              std::string client_id, std::string body,
                                              std::optional<chat::message_id> reply_to,
                                              std::vector<std::int64_t> attachments) {
  auto start = std::chrono::steady_clock::now();
  auth::actor who{session_.account.id, session_.account.is_admin};
  std::optional<auth::room_facts> facts;
  if (auto it = rooms_.find(room); it != rooms_.end()) facts = it->second.facts;
  auto cid = client_id;
  auto out = co_await ctx_.chat.post(who, session_.account.username, room, std::move(client_id),
                                     std::move(body), reply_to, std::move(attachments), facts);
  --inflight_sends_;
  if (!out) {
    send_error(id ? id : std::optional(cid), out.error());
    co_return;
  }
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
  ctx_.stats.messages_acked.fetch_add(1, std::memory_order_relaxed);
  ctx_.stats.ack_latency_us_sum.fetch_add(static_cast<std::uint64_t>(us.count()), std::memory_order_relaxed);
  server::ack_frame ack{cid,
                        room,
                        out->id,
                        out->seq,
                        out->created_at,
                        out->status == chat::post_status::duplicate,
                        id};
  send_json(server::encode(ack));
}

}  // namespace redoubt::api
