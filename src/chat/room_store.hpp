// Rooms, membership and read markers: the port the chat use cases depend on. Implemented in
// storage/ (room_repository). Methods returning a seq recorded a room event with that seq.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/awaitable.hpp"
#include "base/errc.hpp"
#include "model/model.hpp"

namespace redoubt::chat {

class room_store {
 public:
  virtual ~room_store() = default;

  virtual awaitable<result<room>> create_room(room_kind kind, const std::string& name, const std::string& topic,
                                              user_id creator) = 0;
  virtual awaitable<result<room>> open_direct(user_id a, user_id b) = 0;
  virtual awaitable<result<std::optional<room>>> get_room(room_id id, user_id viewer) = 0;
  virtual awaitable<result<std::vector<room>>> rooms_of(user_id user) = 0;
  virtual awaitable<result<std::vector<room>>> public_rooms(user_id viewer) = 0;
  virtual awaitable<result<std::vector<member>>> members(room_id id) = 0;
  virtual awaitable<result<room_role>> role_of(room_id id, user_id user) = 0;
  // nullopt when nothing changed (already a member / not a member).
  virtual awaitable<result<std::optional<seq_t>>> add_member(room_id id, user_id user, room_role role,
                                                             user_id actor) = 0;
  virtual awaitable<result<std::optional<seq_t>>> remove_member(room_id id, user_id user, user_id actor) = 0;
  virtual awaitable<result<std::optional<seq_t>>> set_role(room_id id, user_id user, room_role role,
                                                           user_id actor) = 0;
  virtual awaitable<result<std::int64_t>> owner_count(room_id id) = 0;
  virtual awaitable<result<seq_t>> set_topic(room_id id, const std::string& topic, user_id actor) = 0;
  // 0 turns retention off. Audited in the same statement.
  virtual awaitable<result<void>> set_retention(room_id id, int days, user_id actor) = 0;
  virtual awaitable<result<void>> set_read(room_id id, user_id user, seq_t seq) = 0;
  // The account behind a username, for invitations and direct messages.
  virtual awaitable<result<std::optional<user>>> find_user(const std::string& username) = 0;
};

}  // namespace redoubt::chat
