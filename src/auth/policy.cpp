#include "auth/policy.hpp"

namespace redoubt::auth {
namespace {

using chat::room_kind;
using chat::room_role;

result<void> hidden() { return make_error(errc::not_found, "room not found"); }
result<void> denied(std::string why) { return make_error(errc::permission_denied, std::move(why)); }

bool at_least(room_role have, room_role need) {
  return static_cast<int>(have) >= static_cast<int>(need);
}

}  // namespace

result<void> authorize(const actor& who, action what, const room_facts& room,
                       const std::optional<message_facts>& message) {
  const bool member = room.actor_role != room_role::none;
  // Private and direct rooms do not exist for non-members, whatever their global role.
  if (!member && room.kind != room_kind::public_room) return hidden();

  switch (what) {
    case action::view_room:
      return {};
    case action::join:
      if (member) return make_error(errc::already_exists, "already a member");
      if (room.kind != room_kind::public_room) return hidden();
      return {};
    case action::read_history:
    case action::post:
      if (!member) return denied("join the room first");
      return {};
    case action::leave:
      if (!member) return denied("not a member");
      if (room.kind == room_kind::direct) return denied("direct conversations cannot be left");
      return {};
    case action::invite:
      if (!member) return denied("not a member");
      if (room.kind == room_kind::direct) return denied("direct conversations have two members");
      if (room.kind == room_kind::private_room && !at_least(room.actor_role, room_role::moderator))
        return denied("only moderators and owners invite to private rooms");
      return {};
    case action::set_topic:
      if (!member) return denied("not a member");
      if (room.kind == room_kind::direct) return {};
      if (!at_least(room.actor_role, room_role::moderator))
        return denied("only moderators and owners change the topic");
      return {};
    case action::set_retention:
      if (!member) return denied("not a member");
      if (room.kind == room_kind::direct) return {};
      if (room.actor_role != room_role::owner) return denied("only owners change the retention");
      return {};
    case action::rename:
      if (room.kind == room_kind::direct) return denied("direct conversations have no name");
      if (!at_least(room.actor_role, room_role::owner)) return denied("only owners rename a room");
      return {};
    case action::edit_message:
      if (!member) return denied("not a member");
      if (!message || message->deleted) return make_error(errc::not_found, "message not found");
      if (message->author != who.id) return denied("only the author edits a message");
      return {};
    case action::delete_message:
      if (!member) return denied("not a member");
      if (!message || message->deleted) return make_error(errc::not_found, "message not found");
      if (message->author == who.id) return {};
      if (room.kind != room_kind::direct && at_least(room.actor_role, room_role::moderator)) return {};
      return denied("only the author or a moderator deletes a message");
    case action::set_member_role:
    case action::remove_member:
      if (room.kind == room_kind::direct) return denied("direct conversations have no roles");
      if (!at_least(room.actor_role, room_role::moderator)) return denied("moderators only");
      return {};
  }
  return denied("unknown action");
}

result<void> authorize_role_change(const actor& who, const room_facts& room,
                                   room_role current, room_role target_role) {
  if (auto r = authorize(who, action::set_member_role, room); !r) return r;
  if (target_role == room_role::none) return make_error(errc::invalid_argument, "bad role");
  // Owners manage everyone; moderators only move plain members up to moderator or back.
  if (room.actor_role == room_role::owner) return {};
  if (current == room_role::owner || target_role == room_role::owner)
    return denied("only owners grant or remove ownership");
  if (current == room_role::moderator && target_role == room_role::member)
    return denied("only owners demote moderators");
  return {};
}

result<void> authorize_member_removal(const actor& who, const room_facts& room, room_role target_role) {
  if (auto r = authorize(who, action::remove_member, room); !r) return r;
  if (room.actor_role == room_role::owner) return {};
  if (target_role != room_role::member) return denied("only owners remove moderators and owners");
  return {};
}

result<void> authorize_attachment_read(const actor& who, const room_facts& room, const attachment_facts& file) {
  const auto gone = make_error(errc::not_found, "attachment not found");
  if (room.actor_role == room_role::none) return gone;
  if (!file.attached && file.uploader != who.id) return gone;
  if (file.attached && file.message_deleted) return gone;
  return {};
}

result<void> authorize_attachment_discard(const actor& who, const attachment_facts& file) {
  if (file.uploader != who.id) return make_error(errc::not_found, "attachment not found");
  if (file.attached) return denied("attached files go away with their message");
  return {};
}

result<void> authorize_live_follow(const room_facts& room) {
  if (room.actor_role == chat::room_role::none) return make_error(errc::not_found, "room not found");
  return {};
}

result<void> authorize_admin(const actor& who) {
  if (!who.is_admin) return denied("administrators only");
  return {};
}

result<void> authorize_account_change(const actor& who, chat::user_id target, bool disabling, bool demoting) {
  if (auto ok = authorize_admin(who); !ok) return ok;
  if (target == who.id && (disabling || demoting))
    return make_error(errc::failed_precondition, "you cannot disable or demote yourself");
  return {};
}

}  // namespace redoubt::auth
