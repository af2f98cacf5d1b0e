// chat::message_store over PostgreSQL: the group-commit batch statement, edits, deletes,
// reactions, history and gapless replay. Thread-safe (stateless apart from the shared pool).
#pragma once

#include <memory>

#include "chat/message_store.hpp"
#include "db/pg.hpp"

namespace redoubt::storage {

class message_repository final : public chat::message_store {
 public:
  explicit message_repository(std::shared_ptr<db::pool> pool) : pool_(std::move(pool)) {}

  boost::asio::awaitable<result<std::vector<chat::post_outcome>>> post_batch(
      const std::vector<chat::post_request>& posts) override;
  boost::asio::awaitable<result<std::optional<chat::message>>> get_message(chat::message_id id) override;
  boost::asio::awaitable<result<std::optional<chat::message_change>>> edit_message(chat::message_id id,
                                                                                 const std::string& body,
                                                                                 chat::user_id actor) override;
  boost::asio::awaitable<result<std::optional<chat::message_change>>> delete_message(chat::message_id id,
                                                                                   chat::user_id actor) override;
  boost::asio::awaitable<result<std::optional<chat::message_change>>> set_reaction(chat::message_id id,
                                                                                 chat::user_id user,
                                                                                 const std::string& emoji,
                                                                                 bool add) override;
  boost::asio::awaitable<result<std::vector<chat::message>>> history(chat::room_id room, chat::seq_t before,
                                                                     int limit) override;
  boost::asio::awaitable<result<std::vector<chat::replay_item>>> replay(chat::room_id room, chat::seq_t after,
                                                                        int limit) override;
  boost::asio::awaitable<result<std::optional<chat::room_event>>> event_at(chat::room_id room,
                                                                          chat::seq_t seq) override;

 private:
  std::shared_ptr<db::pool> pool_;
};

}  // namespace redoubt::storage
