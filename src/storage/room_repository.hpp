// chat::room_store over PostgreSQL: rooms, direct rooms, membership (each change a room event
// in the same statement), read markers. Thread-safe (stateless apart from the shared pool).
#pragma once

#include <memory>
#include <string_view>

#include "chat/room_store.hpp"
#include "db/pg.hpp"

namespace redoubt::storage {

class room_repository final : public chat::room_store {
 public:
  explicit room_repository(std::shared_ptr<db::pool> pool) : pool_(std::move(pool)) {}

  awaitable<result<chat::room>> create_room(chat::room_kind kind, const std::string& name,
                                            const std::string& topic,
                                            chat::user_id creator) override;
  awaitable<result<chat::room>> open_direct(chat::user_id a, chat::user_id b) override;
  awaitable<result<std::optional<chat::room>>> get_room(chat::room_id id,
                                                        chat::user_id viewer) override;
  awaitable<result<std::vector<chat::room>>> rooms_of(chat::user_id user) override;
  awaitable<result<std::vector<chat::room>>> public_rooms(chat::user_id viewer) override;
  awaitable<result<std::vector<chat::member>>> members(chat::room_id id) override;
  awaitable<result<chat::room_role>> role_of(chat::room_id id, chat::user_id user) override;
  awaitable<result<std::optional<chat::seq_t>>> add_member(chat::room_id id, chat::user_id user,
                                                           chat::room_role role,
                                                           chat::user_id actor) override;
  awaitable<result<std::optional<chat::seq_t>>> remove_member(chat::room_id id, chat::user_id user,
                                                              chat::user_id actor) override;
  awaitable<result<std::optional<chat::seq_t>>> set_role(chat::room_id id, chat::user_id user,
                                                         chat::room_role role,
                                                         chat::user_id actor) override;
  awaitable<result<std::int64_t>> owner_count(chat::room_id id) override;
  awaitable<result<chat::seq_t>> set_topic(chat::room_id id, const std::string& topic,
                                           chat::user_id actor) override;
  awaitable<result<void>> set_retention(chat::room_id id, int days, chat::user_id actor) override;
  awaitable<result<void>> set_read(chat::room_id id, chat::user_id user, chat::seq_t seq) override;
  awaitable<result<std::optional<chat::user>>> find_user(const std::string& username) override;

 private:
  // add_member and set_role: one statement ($1 room, $2 user, $3 role, $4 actor) that changes
  // the membership and appends its room event; the event's seq, nullopt when nothing changed.
  awaitable<result<std::optional<chat::seq_t>>> change_member(std::string_view sql_text,
                                                              chat::room_id id, chat::user_id user,
                                                              chat::room_role role,
                                                              chat::user_id actor);

  std::shared_ptr<db::pool> pool_;
};

}  // namespace redoubt::storage
