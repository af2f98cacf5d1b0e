// The authorization policy as a table: every action x room kind x role.
#include <gtest/gtest.h>

#include "auth/policy.hpp"

namespace redoubt::auth {
namespace {

using chat::room_kind;
using chat::room_role;

errc decide(action a, room_kind k, room_role r, std::optional<message_facts> m = std::nullopt,
            chat::user_id who = 1) {
  auto res = authorize(actor{who, false}, a, room_facts{k, r}, m);
  return res ? errc::ok : res.error().code;
}

TEST(Policy, NonMembersLearnNothingAboutPrivateOrDirectRooms) {
  for (auto k : {room_kind::private_room, room_kind::direct})
    for (auto a : {action::view_room, action::read_history, action::join, action::leave, action::post,
                   action::invite, action::set_topic, action::set_retention, action::rename, action::edit_message,
                   action::delete_message, action::set_member_role, action::remove_member})
      EXPECT_EQ(decide(a, k, room_role::none), errc::not_found) << static_cast<int>(a);
  // Not even site administrators.
  auto res = authorize(actor{1, true}, action::read_history, room_facts{room_kind::private_room, room_role::none});
  EXPECT_EQ(res.error().code, errc::not_found);
}

TEST(Policy, PublicRoomOutsiders) {
  EXPECT_EQ(decide(action::view_room, room_kind::public_room, room_role::none), errc::ok);
  EXPECT_EQ(decide(action::join, room_kind::public_room, room_role::none), errc::ok);
  EXPECT_EQ(decide(action::read_history, room_kind::public_room, room_role::none), errc::permission_denied);
  EXPECT_EQ(decide(action::post, room_kind::public_room, room_role::none), errc::permission_denied);
  EXPECT_EQ(decide(action::invite, room_kind::public_room, room_role::none), errc::permission_denied);
  EXPECT_EQ(decide(action::join, room_kind::public_room, room_role::member), errc::already_exists);
}

TEST(Policy, RoleTable) {
  struct row {
    action a;
    room_kind k;
    errc member, moderator, owner;
  };
  const row table[] = {
      {action::post, room_kind::private_room, errc::ok, errc::ok, errc::ok},
      {action::read_history, room_kind::public_room, errc::ok, errc::ok, errc::ok},
      {action::invite, room_kind::private_room, errc::permission_denied, errc::ok, errc::ok},
      {action::invite, room_kind::public_room, errc::ok, errc::ok, errc::ok},
      {action::invite, room_kind::direct, errc::permission_denied, errc::permission_denied, errc::permission_denied},
      {action::set_topic, room_kind::public_room, errc::permission_denied, errc::ok, errc::ok},
      {action::set_topic, room_kind::direct, errc::ok, errc::ok, errc::ok},
      {action::set_retention, room_kind::public_room, errc::permission_denied, errc::permission_denied, errc::ok},
      {action::set_retention, room_kind::private_room, errc::permission_denied, errc::permission_denied, errc::ok},
      {action::set_retention, room_kind::direct, errc::ok, errc::ok, errc::ok},
      {action::rename, room_kind::private_room, errc::permission_denied, errc::permission_denied, errc::ok},
      {action::leave, room_kind::public_room, errc::ok, errc::ok, errc::ok},
      {action::leave, room_kind::direct, errc::permission_denied, errc::permission_denied, errc::permission_denied},
      {action::set_member_role, room_kind::private_room, errc::permission_denied, errc::ok, errc::ok},
  };
  for (const auto& r : table) {
    EXPECT_EQ(decide(r.a, r.k, room_role::member), r.member) << static_cast<int>(r.a) << "/" << static_cast<int>(r.k);
    EXPECT_EQ(decide(r.a, r.k, room_role::moderator), r.moderator) << static_cast<int>(r.a);
    EXPECT_EQ(decide(r.a, r.k, room_role::owner), r.owner) << static_cast<int>(r.a);
  }
}

TEST(Policy, MessagesEditedByAuthorDeletedByAuthorOrModerator) {
  message_facts mine{1, false}, theirs{2, false}, gone{1, true};
  EXPECT_EQ(decide(action::edit_message, room_kind::public_room, room_role::member, mine), errc::ok);
  EXPECT_EQ(decide(action::edit_message, room_kind::public_room, room_role::owner, theirs), errc::permission_denied);
  EXPECT_EQ(decide(action::edit_message, room_kind::public_room, room_role::member, gone), errc::not_found);
  EXPECT_EQ(decide(action::delete_message, room_kind::public_room, room_role::member, theirs), errc::permission_denied);
  EXPECT_EQ(decide(action::delete_message, room_kind::public_room, room_role::moderator, theirs), errc::ok);
  EXPECT_EQ(decide(action::delete_message, room_kind::direct, room_role::member, theirs), errc::permission_denied);
  EXPECT_EQ(decide(action::delete_message, room_kind::private_room, room_role::member, mine), errc::ok);
}

TEST(Policy, RoleChanges) {
  actor who{1, false};
  room_facts as_mod{room_kind::public_room, room_role::moderator};
  room_facts as_owner{room_kind::public_room, room_role::owner};
  EXPECT_TRUE(authorize_role_change(who, as_mod, room_role::member, room_role::moderator));
  EXPECT_FALSE(authorize_role_change(who, as_mod, room_role::moderator, room_role::member));
  EXPECT_FALSE(authorize_role_change(who, as_mod, room_role::member, room_role::owner));
  EXPECT_TRUE(authorize_role_change(who, as_owner, room_role::moderator, room_role::member));
  EXPECT_FALSE(authorize_role_change(who, {room_kind::public_room, room_role::member}, room_role::member,
                                     room_role::moderator));
}

TEST(Policy, MemberRemoval) {
  actor who{1, false};
  room_facts mod{room_kind::private_room, room_role::moderator};
  room_facts owner{room_kind::private_room, room_role::owner};
  room_facts member{room_kind::private_room, room_role::member};
  EXPECT_TRUE(authorize_member_removal(who, mod, room_role::member));
  EXPECT_FALSE(authorize_member_removal(who, mod, room_role::moderator));
  EXPECT_FALSE(authorize_member_removal(who, mod, room_role::owner));
  EXPECT_TRUE(authorize_member_removal(who, owner, room_role::moderator));
  EXPECT_EQ(authorize_member_removal(who, member, room_role::member).error().code, errc::permission_denied);
  EXPECT_EQ(authorize_member_removal(who, {room_kind::private_room, room_role::none}, room_role::member).error().code,
            errc::not_found);
  EXPECT_FALSE(authorize_member_removal(who, {room_kind::direct, room_role::member}, room_role::member));
}

TEST(Policy, AttachmentsAreReadByMembersOnlyWhileTheirMessageLives) {
  struct row {
    room_kind kind;
    room_role role;
    chat::user_id uploader;
    bool attached;
    bool deleted;
    errc expected;
  };
  const row rows[] = {
      // Members of any room kind read attached files of live messages.
      {room_kind::public_room, room_role::member, 2, true, false, errc::ok},
      {room_kind::private_room, room_role::member, 2, true, false, errc::ok},
      {room_kind::direct, room_role::member, 2, true, false, errc::ok},
      // Non-members never, even in public rooms.
      {room_kind::public_room, room_role::none, 2, true, false, errc::not_found},
      {room_kind::private_room, room_role::none, 1, false, false, errc::not_found},
      // A deleted message takes its files with it, for everyone including its author.
      {room_kind::public_room, room_role::owner, 1, true, true, errc::not_found},
      // Not yet attached: the uploader only.
      {room_kind::public_room, room_role::member, 1, false, false, errc::ok},
      {room_kind::public_room, room_role::owner, 2, false, false, errc::not_found},
  };
  for (const auto& r : rows) {
    auto res = authorize_attachment_read(actor{1, false}, room_facts{r.kind, r.role},
                                         attachment_facts{r.uploader, r.attached, r.deleted});
    EXPECT_EQ(res ? errc::ok : res.error().code, r.expected)
        << static_cast<int>(r.kind) << "/" << static_cast<int>(r.role) << " uploader " << r.uploader;
  }
}

TEST(Policy, OnlyTheUploaderDiscardsAndOnlyBeforeAttachingAndOnlyAdminsAdminister) {
  EXPECT_TRUE(authorize_attachment_discard(actor{1, false}, attachment_facts{1, false, false}));
  EXPECT_EQ(authorize_attachment_discard(actor{1, false}, attachment_facts{1, true, false}).error().code,
            errc::permission_denied);
  EXPECT_EQ(authorize_attachment_discard(actor{1, true}, attachment_facts{2, false, false}).error().code,
            errc::not_found);
  EXPECT_TRUE(authorize_admin(actor{1, true}));
  EXPECT_EQ(authorize_admin(actor{1, false}).error().code, errc::permission_denied);
  EXPECT_TRUE(authorize_account_change(actor{1, true}, 2, true, true));
  EXPECT_TRUE(authorize_account_change(actor{1, true}, 1, false, false));
  EXPECT_EQ(authorize_account_change(actor{1, true}, 1, true, false).error().code, errc::failed_precondition);
  EXPECT_EQ(authorize_account_change(actor{1, true}, 1, false, true).error().code, errc::failed_precondition);
  EXPECT_EQ(authorize_account_change(actor{1, false}, 2, false, false).error().code, errc::permission_denied);
}

}  // namespace
}  // namespace redoubt::auth
