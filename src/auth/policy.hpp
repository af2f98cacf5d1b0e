// The one place that decides whether an actor may do an action (HTTP and WebSocket alike).
// Pure functions over facts the caller loaded; no I/O. A denial on a room the actor cannot see
// is not_found (it must learn nothing about private rooms), otherwise permission_denied.
#pragma once

#include <optional>

#include "base/errc.hpp"
#include "model/model.hpp"

namespace redoubt::auth {

enum class action {
  view_room,       // metadata: name, topic, member count
  read_history,    // messages, members, events
  join,            // self-join (public rooms)
  leave,
  post,            // send messages, typing, read markers, react
  invite,          // add another user (private rooms)
  set_topic,
  set_retention,   // how long messages are kept
  rename,
  edit_message,
  delete_message,
  set_member_role,
  remove_member,
};

struct actor {
  chat::user_id id = 0;
  bool is_admin = false;
};

struct room_facts {
  chat::room_kind kind = chat::room_kind::public_room;
  chat::room_role actor_role = chat::room_role::none;  // none = not a member
};

struct message_facts {
  chat::user_id author = 0;
  bool deleted = false;
};

struct attachment_facts {
  chat::user_id uploader = 0;
  bool attached = false;         // linked to a message
  bool message_deleted = false;  // that message was deleted (or erased by retention)
};

// Returns ok, or an error whose code is not_found / permission_denied / failed_precondition.
result<void> authorize(const actor& who, action what, const room_facts& room,
                       const std::optional<message_facts>& message = std::nullopt);

// Whether `who` (with role `actor_role`) may give `target_role` to a member currently `current`.
result<void> authorize_role_change(const actor& who, const room_facts& room,
                                   chat::room_role current, chat::room_role target_role);

// Reading an attachment (bytes, metadata, thumbnail): members of its room only, whatever the
// room kind; an upload not yet attached only by its uploader; nobody once its message is
// deleted. Every refusal is not_found: a file id says nothing to someone who may not read it.
result<void> authorize_attachment_read(const actor& who, const room_facts& room, const attachment_facts& file);
// Discarding an upload: only its uploader, only before it is attached.
result<void> authorize_attachment_discard(const actor& who, const attachment_facts& file);
// Following a room's live events on a connection (and replaying them after a membership change
// announced by a peer node): members only, whatever the room kind. The announcement itself is
// never trusted: this is checked against the database's facts first.
result<void> authorize_live_follow(const room_facts& room);
// Server administration (users, storage use, quotas, the audit log).
result<void> authorize_admin(const actor& who);
// An administrator changing an account: never their own admin flag or their own account's
// enabled state (no one locks themselves, or the last administrator, out).
result<void> authorize_account_change(const actor& who, chat::user_id target, bool disabling, bool demoting);

// Whether `who` may remove a member whose role is `target_role` (moderators remove members,
// owners remove anyone). Leaving is action::leave, not this.
result<void> authorize_member_removal(const actor& who, const room_facts& room, chat::room_role target_role);

}  // namespace redoubt::auth
