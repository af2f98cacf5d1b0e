// Chat use cases shared by the REST API and the WebSocket gateway. Every action is checked by
// auth::policy before it touches storage; every committed room event is published to the hub.
// Thread-safe: holds no per-request state.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "audit/recorder.hpp"
#include "auth/policy.hpp"
#include "base/awaitable.hpp"
#include "base/config.hpp"
#include "base/errc.hpp"
#include "chat/hub.hpp"
#include "chat/message_store.hpp"
#include "chat/message_writer.hpp"
#include "chat/room_store.hpp"
#include "model/model.hpp"

namespace redoubt::chat {

struct history_page {
  std::vector<message> messages;  // oldest first
  std::optional<seq_t> next_before;
};

using edit_outcome = message_change;

class service {
 public:
  service(room_store& rooms, message_store& messages, audit::recorder& audit, hub& live, message_writer& writer,
          const limits_settings& limits)
      : rooms_(rooms), messages_(messages), audit_(audit), hub_(live), writer_(writer), limits_(limits) {}

  // Loads what the policy needs about `room` for `who`; not_found when the room does not exist.
  awaitable<result<auth::room_facts>> facts(room_id room, user_id who);

  awaitable<result<post_outcome>> post(const auth::actor& who, const std::string& username,
                                       room_id room, std::string client_id, std::string body,
                                       std::optional<message_id> reply_to, std::vector<std::int64_t> attachments,
                                       const std::optional<auth::room_facts>& known_facts);

  awaitable<result<room>> create_room(const auth::actor& who, room_kind kind, std::string name,
                                      std::string topic);
  awaitable<result<room>> open_direct(const auth::actor& who, const std::string& other_username);
  awaitable<result<room>> get_room(const auth::actor& who, room_id room);
  awaitable<result<std::vector<room>>> my_rooms(const auth::actor& who);
  awaitable<result<std::vector<room>>> public_rooms(const auth::actor& who);
  awaitable<result<std::vector<member>>> members(const auth::actor& who, room_id room);
  awaitable<result<room>> join(const auth::actor& who, room_id room);
  awaitable<result<void>> leave(const auth::actor& who, room_id room);
  awaitable<result<void>> invite(const auth::actor& who, room_id room, const std::string& username);
  awaitable<result<void>> set_topic(const auth::actor& who, room_id room, std::string topic);
  // days 0 = keep messages; otherwise 1..36500.
  awaitable<result<void>> set_retention(const auth::actor& who, room_id room, std::int64_t days);
  awaitable<result<void>> set_member_role(const auth::actor& who, room_id room, user_id member, room_role role,
                                          const audit::origin& from);
  awaitable<result<void>> remove_member(const auth::actor& who, room_id room, user_id member,
                                        const audit::origin& from);
  awaitable<result<history_page>> history(const auth::actor& who, room_id room, seq_t before, int limit);
  awaitable<result<void>> mark_read(const auth::actor& who, room_id room, seq_t seq);
  awaitable<result<edit_outcome>> edit(const auth::actor& who, message_id id, std::string body);
  awaitable<result<edit_outcome>> remove(const auth::actor& who, message_id id, const audit::origin& from);
  awaitable<result<edit_outcome>> react(const auth::actor& who, message_id id, std::string emoji, bool add);

  // Raw event log access for the WebSocket gateway (which has checked membership).
  awaitable<result<std::vector<replay_item>>> replay(room_id room, seq_t after, int limit);

 private:
  awaitable<void> publish_event(room_id room, seq_t seq);
  awaitable<result<message>> authorized_message(const auth::actor& who, message_id id, auth::action what);

  room_store& rooms_;
  message_store& messages_;
  audit::recorder& audit_;
  hub& hub_;
  message_writer& writer_;
  const limits_settings& limits_;
};

}  // namespace redoubt::chat
