#include "chat/hub.hpp"

namespace redoubt::chat {

bool hub::attach(const std::shared_ptr<subscriber>& s) {
  std::unique_lock lock(mutex_);
  auto& sessions = users_[s->user()];
  bool first = sessions.empty();
  sessions[s.get()] = s;
  followed_[s.get()];
  return first;
}

bool hub::detach(const subscriber* s) {
  std::unique_lock lock(mutex_);
  if (auto f = followed_.find(s); f != followed_.end()) {
    for (auto room : f->second) {
      auto r = rooms_.find(room);
      if (r == rooms_.end()) continue;
      r->second.erase(s);
      if (r->second.empty()) rooms_.erase(r);
    }
    followed_.erase(f);
  }
  auto u = users_.find(s->user());
  if (u == users_.end()) return false;
  u->second.erase(s);
  if (!u->second.empty()) return false;
  users_.erase(u);
  return true;
}

void hub::subscribe(room_id room, const std::shared_ptr<subscriber>& s) {
  std::unique_lock lock(mutex_);
  rooms_[room][s.get()] = s;
  followed_[s.get()].insert(room);
}

void hub::unsubscribe(room_id room, const subscriber* s) {
  std::unique_lock lock(mutex_);
  if (auto r = rooms_.find(room); r != rooms_.end()) {
    r->second.erase(s);
    if (r->second.empty()) rooms_.erase(r);
  }
  if (auto f = followed_.find(s); f != followed_.end()) f->second.erase(room);
}

std::vector<std::shared_ptr<subscriber>> hub::room_targets(room_id room) const {
  std::vector<std::shared_ptr<subscriber>> out;
  std::shared_lock lock(mutex_);
  auto r = rooms_.find(room);
  if (r == rooms_.end()) return out;
  out.reserve(r->second.size());
  for (const auto& [_, weak] : r->second)
    if (auto s = weak.lock()) out.push_back(std::move(s));
  return out;
}

std::vector<std::shared_ptr<subscriber>> hub::user_targets(user_id user) const {
  std::vector<std::shared_ptr<subscriber>> out;
  std::shared_lock lock(mutex_);
  auto u = users_.find(user);
  if (u == users_.end()) return out;
  for (const auto& [_, weak] : u->second)
    if (auto s = weak.lock()) out.push_back(std::move(s));
  return out;
}

void hub::publish(room_id room, seq_t seq, const frame_ptr& frame) {
  publish_from_peer(room, seq, frame);
  if (forward_.event) forward_.event(room, seq, frame);
}

void hub::publish_from_peer(room_id room, seq_t seq, const frame_ptr& frame) {
  for (const auto& s : room_targets(room)) s->on_event(room, seq, frame);
}

void hub::publish_ephemeral(room_id room, const frame_ptr& frame, user_id except_user, bool to_peers) {
  publish_ephemeral_from_peer(room, frame, except_user);
  if (to_peers && forward_.ephemeral) forward_.ephemeral(room, frame, except_user);
}

void hub::publish_ephemeral_from_peer(room_id room, const frame_ptr& frame, user_id except_user) {
  for (const auto& s : room_targets(room))
    if (s->user() != except_user) s->on_ephemeral(frame);
}

void hub::member_added(room_id room, user_id user, seq_t seq) {
  membership_from_peer(room, user, seq, true);
  if (forward_.membership) forward_.membership(room, user, seq, true);
}

void hub::member_removed(room_id room, user_id user, seq_t seq) {
  membership_from_peer(room, user, seq, false);
  if (forward_.membership) forward_.membership(room, user, seq, false);
}

void hub::membership_from_peer(room_id room, user_id user, seq_t seq, bool joined) {
  for (const auto& s : user_targets(user)) {
    if (joined)
      s->on_room_added(room, seq);
    else
      s->on_room_removed(room, seq);
  }
}

std::vector<hub::live_session> hub::live_sessions() const {
  std::vector<std::shared_ptr<subscriber>> live;
  {
    // Released after the lock: the last reference may be the one that destroys a subscriber.
    std::shared_lock lock(mutex_);
    for (const auto& [_, connections] : users_)
      for (const auto& [ptr, weak] : connections)
        if (auto s = weak.lock()) live.push_back(std::move(s));
  }
  std::vector<live_session> out;
  std::unordered_set<std::int64_t> seen;
  for (const auto& s : live)
    if (seen.insert(s->session_id()).second) out.push_back({s->user(), s->session_id()});
  return out;
}

void hub::end_sessions(const session_end& ended) {
  end_sessions_from_peer(ended);
  if (forward_.session_end) forward_.session_end(ended);
}

void hub::end_sessions_from_peer(const session_end& ended) {
  for (const auto& s : user_targets(ended.user))
    if (ended.covers(s->session_id())) s->on_session_ended();
}

std::vector<room_id> hub::rooms_followed_by(user_id user) const {
  std::unordered_set<room_id> rooms;
  std::shared_lock lock(mutex_);
  if (auto u = users_.find(user); u != users_.end()) {
    for (const auto& [ptr, _] : u->second)
      if (auto f = followed_.find(ptr); f != followed_.end()) rooms.insert(f->second.begin(), f->second.end());
  }
  return {rooms.begin(), rooms.end()};
}

bool hub::online(user_id user) const {
  std::shared_lock lock(mutex_);
  return users_.contains(user);
}

std::vector<hub::presence_entry> hub::online_in(const std::vector<room_id>& rooms) const {
  std::unordered_map<user_id, bool> all_away;
  std::shared_lock lock(mutex_);
  for (auto room : rooms) {
    auto r = rooms_.find(room);
    if (r == rooms_.end()) continue;
    for (const auto& [ptr, weak] : r->second) {
      auto s = weak.lock();
      if (!s) continue;
      auto [it, added] = all_away.try_emplace(s->user(), true);
      it->second = it->second && s->away();
    }
  }
  std::vector<presence_entry> out;
  out.reserve(all_away.size());
  for (const auto& [user, away] : all_away) out.push_back({user, away});
  return out;
}

std::size_t hub::connections_of(user_id user) const {
  std::shared_lock lock(mutex_);
  auto u = users_.find(user);
  return u == users_.end() ? 0 : u->second.size();
}

std::size_t hub::connection_count() const {
  std::shared_lock lock(mutex_);
  return followed_.size();
}

}  // namespace redoubt::chat
