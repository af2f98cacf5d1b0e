#include "model/model.hpp"

namespace redoubt::chat {

std::string_view to_string(room_kind k) noexcept {
  switch (k) {
    case room_kind::public_room: return "public";
    case room_kind::private_room: return "private";
    case room_kind::direct: return "direct";
  }
  return "public";
}

std::string_view to_string(room_role r) noexcept {
  switch (r) {
    case room_role::none: return "none";
    case room_role::member: return "member";
    case room_role::moderator: return "moderator";
    case room_role::owner: return "owner";
  }
  return "none";
}

std::optional<room_kind> room_kind_from(std::string_view s) noexcept {
  if (s == "public") return room_kind::public_room;
  if (s == "private") return room_kind::private_room;
  if (s == "direct") return room_kind::direct;
  return std::nullopt;
}

std::optional<room_role> room_role_from(std::string_view s) noexcept {
  if (s == "member") return room_role::member;
  if (s == "moderator") return room_role::moderator;
  if (s == "owner") return room_role::owner;
  return std::nullopt;
}

}  // namespace redoubt::chat
