// Live fan-out: which connected clients follow which rooms, and who is online.
// Thread-safe; deliveries are collected under a shared lock and made outside it.
// A subscriber's callbacks must not block (they queue work onto the connection's strand).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "model/model.hpp"

namespace redoubt::chat {

using frame_ptr = std::shared_ptr<const std::string>;

class subscriber {
 public:
  virtual ~subscriber() = default;
  virtual user_id user() const = 0;
  // The session the connection was opened with.
  virtual std::int64_t session_id() const = 0;
  // The user said "away" on this connection (presence frame); any thread.
  virtual bool away() const { return false; }
  // An event of the room's sequence (messages, edits, membership...).
  virtual void on_event(room_id room, seq_t seq, const frame_ptr& frame) = 0;
  // Typing and presence: not sequenced, may be dropped.
  virtual void on_ephemeral(const frame_ptr& frame) = 0;
  // The user joined (or was added to) a room while connected; events from `first_seq` follow.
  virtual void on_room_added(room_id room, seq_t first_seq) = 0;
  // The user left (or was removed from) a room.
  virtual void on_room_removed(room_id room, seq_t seq) = 0;
  // The connection's session ended: close it, deliver nothing more.
  virtual void on_session_ended() = 0;
};

class hub {
 public:
  // What this node passes on to the other server nodes: committed events, membership changes,
  // typing and presence. Set once, before serving.
  struct forwarders {
    std::function<void(room_id, seq_t, const frame_ptr&)> event;
    std::function<void(room_id, user_id, seq_t, bool joined)> membership;
    std::function<void(room_id, const frame_ptr&, user_id except_user)> ephemeral;
    std::function<void(const session_end&)> session_end;
  };
  void set_forwarders(forwarders f) { forward_ = std::move(f); }

  // Returns true when this is the user's first live connection (they came online).
  bool attach(const std::shared_ptr<subscriber>& s);
  // Returns true when this was the user's last live connection (they went offline).
  bool detach(const subscriber* s);

  void subscribe(room_id room, const std::shared_ptr<subscriber>& s);
  void unsubscribe(room_id room, const subscriber* s);

  // A committed event of this node: to local followers and to the forwarder.
  void publish(room_id room, seq_t seq, const frame_ptr& frame);
  // An event committed by another node: to local followers only.
  void publish_from_peer(room_id room, seq_t seq, const frame_ptr& frame);
  // Typing and presence of this node's users: to local followers and, with `to_peers`, to the
  // forwarder. (Presence stays on its node: "offline" here says nothing of other nodes.)
  void publish_ephemeral(room_id room, const frame_ptr& frame, user_id except_user, bool to_peers = true);
  void publish_ephemeral_from_peer(room_id room, const frame_ptr& frame, user_id except_user);
  // The user's live connections follow (or stop following) the room from `seq` on; here and,
  // through the forwarder, on the other nodes.
  void member_added(room_id room, user_id user, seq_t seq);
  void member_removed(room_id room, user_id user, seq_t seq);
  void membership_from_peer(room_id room, user_id user, seq_t seq, bool joined);
  // Closes the live connections of ended sessions, here and, through the forwarder, on the
  // other nodes.
  void end_sessions(const session_end& ended);
  void end_sessions_from_peer(const session_end& ended);
  // Rooms any live connection of `user` follows (for presence broadcasts).
  std::vector<room_id> rooms_followed_by(user_id user) const;
  bool online(user_id user) const;
  // Users with a live connection following any of `rooms` (the presence snapshot of a newcomer);
  // `away` when every one of their connections said so.
  struct presence_entry {
    user_id user;
    bool away;
  };
  std::vector<presence_entry> online_in(const std::vector<room_id>& rooms) const;
  std::size_t connection_count() const;
  std::size_t connections_of(user_id user) const;
  // The (user, session) of every live connection, once each.
  struct live_session {
    user_id user;
    std::int64_t session;
  };
  std::vector<live_session> live_sessions() const;

 private:
  std::vector<std::shared_ptr<subscriber>> room_targets(room_id room) const;
  std::vector<std::shared_ptr<subscriber>> user_targets(user_id user) const;

  forwarders forward_;
  mutable std::shared_mutex mutex_;
  std::unordered_map<room_id, std::unordered_map<const subscriber*, std::weak_ptr<subscriber>>> rooms_;
  std::unordered_map<user_id, std::unordered_map<const subscriber*, std::weak_ptr<subscriber>>> users_;
  std::unordered_map<const subscriber*, std::unordered_set<room_id>> followed_;
};

}  // namespace redoubt::chat
