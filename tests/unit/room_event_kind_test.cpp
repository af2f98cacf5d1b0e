// Room-event kinds: names, and the payload of each kind (encode/decode).
#include <gtest/gtest.h>

#include <set>

#include "proto/room_event_kind.hpp"

namespace redoubt {
namespace {
using chat::room_event_kind;

TEST(RoomEventKind, NamesRoundTripAndAreDistinct) {
  std::set<std::string_view> names;
  for (auto k : chat::all_room_event_kinds) {
    EXPECT_EQ(chat::room_event_kind_from_string(to_string(k)), k);
    names.insert(to_string(k));
  }
  EXPECT_EQ(names.size(), chat::all_room_event_kinds.size());
  EXPECT_EQ(to_string(room_event_kind::member_left), "member_left");
  EXPECT_FALSE(chat::room_event_kind_from_string("Member_left"));
  EXPECT_FALSE(chat::room_event_kind_from_string(""));
}

// What PostgreSQL's jsonb prints, after Boost.JSON re-serializes it for the wire.
TEST(RoomEventKind, PayloadsEncodeLikeTheDatabase) {
  EXPECT_EQ(chat::encode_payload(chat::message_edited_payload{9, "fixed", "t"}),
            R"({"body":"fixed","edited_at":"t","message_id":9})");
  EXPECT_EQ(chat::encode_payload(chat::message_deleted_payload{9}), R"({"message_id":9})");
  EXPECT_EQ(chat::encode_payload(chat::reaction_payload{9, 2, "x"}),
            R"({"emoji":"x","user_id":2,"message_id":9})");
  EXPECT_EQ(chat::encode_payload(chat::member_joined_payload{2, "bob", chat::room_role::member}),
            R"({"role":"member","user_id":2,"username":"bob"})");
  EXPECT_EQ(chat::encode_payload(chat::member_left_payload{2}), R"({"user_id":2})");
  EXPECT_EQ(chat::encode_payload(chat::role_changed_payload{2, chat::room_role::moderator}),
            R"({"role":"moderator","user_id":2})");
  EXPECT_EQ(chat::encode_payload(chat::topic_changed_payload{"hi"}), R"({"topic":"hi"})");
}

TEST(RoomEventKind, PayloadsDecode) {
  auto edited = chat::decode_payload<chat::message_edited_payload>(
      R"({"body": "fixed", "edited_at": "t", "message_id": 9})");
  ASSERT_TRUE(edited);
  EXPECT_EQ(edited->message, 9);
  EXPECT_EQ(edited->body, "fixed");
  auto joined = chat::decode_payload<chat::member_joined_payload>(
      R"({"role": "owner", "user_id": 2, "username": "bob", "later_field": 1})");
  ASSERT_TRUE(joined);
  EXPECT_EQ(joined->role, chat::room_role::owner);
  EXPECT_EQ(joined->username, "bob");
  auto reaction = chat::decode_payload<chat::reaction_payload>(
      chat::encode_payload(chat::reaction_payload{9, 2, "x"}));
  ASSERT_TRUE(reaction);
  EXPECT_EQ(reaction->emoji, "x");
  auto topic = chat::decode_payload<chat::topic_changed_payload>(R"({"topic":""})");
  ASSERT_TRUE(topic);
  EXPECT_EQ(topic->topic, "");
  auto role = chat::decode_payload<chat::role_changed_payload>(R"({"role":"admin","user_id":2})");
  EXPECT_FALSE(role);
  EXPECT_FALSE(chat::decode_payload<chat::member_left_payload>(R"({"user_id":0})"));
  EXPECT_FALSE(chat::decode_payload<chat::member_left_payload>(R"({})"));
  EXPECT_FALSE(chat::decode_payload<chat::member_left_payload>("not json"));
  EXPECT_FALSE(chat::decode_payload<chat::message_deleted_payload>("[1]"));
}

}  // namespace
}  // namespace redoubt
