// Where messages and room events are kept: the port the chat use cases and the group-commit
// writer depend on. Implemented in storage/ (message_repository); faked in unit tests.
// Every method is one transaction: nothing partial is ever written.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "base/errc.hpp"
#include "model/model.hpp"

namespace redoubt::chat {

// Where a changed message sits in its room's event log.
struct message_change {
  room_id room = 0;
  seq_t seq = 0;
  std::string edited_at;  // edits only
};

class message_store {
 public:
  virtual ~message_store() = default;

  // One outcome per request, in request order, all in one transaction.
  virtual boost::asio::awaitable<result<std::vector<post_outcome>>> post_batch(
      const std::vector<post_request>& posts) = 0;
  virtual boost::asio::awaitable<result<std::optional<message>>> get_message(message_id id) = 0;
  // nullopt: nothing changed (no such message, or already deleted).
  virtual boost::asio::awaitable<result<std::optional<message_change>>> edit_message(message_id id,
                                                                                   const std::string& body,
                                                                                   user_id actor) = 0;
  virtual boost::asio::awaitable<result<std::optional<message_change>>> delete_message(message_id id,
                                                                                     user_id actor) = 0;
  virtual boost::asio::awaitable<result<std::optional<message_change>>> set_reaction(message_id id, user_id user,
                                                                                   const std::string& emoji,
                                                                                   bool add) = 0;
  // Newest first, seq < before (0 = from the end), at most limit.
  virtual boost::asio::awaitable<result<std::vector<message>>> history(room_id room, seq_t before, int limit) = 0;
  // Everything with seq in (after, after + limit], in seq order, from one snapshot.
  virtual boost::asio::awaitable<result<std::vector<replay_item>>> replay(room_id room, seq_t after,
                                                                          int limit) = 0;
  virtual boost::asio::awaitable<result<std::optional<room_event>>> event_at(room_id room, seq_t seq) = 0;
};

}  // namespace redoubt::chat
