// Server -> client frames: the exact bytes of each encoder (docs/protocol.md is the contract),
// and the errc -> wire table with the WebSocket close codes.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "api/errors.hpp"
#include "proto/server_frames.hpp"
#include "proto/text.hpp"

namespace redoubt {
namespace {
namespace json = boost::json;
namespace server = proto::server;

TEST(ServerFrames, Hello) {
  json::object user{{"id", 1}, {"username", "alice"}};
  EXPECT_EQ(server::encode(server::hello_frame{user, 7}),
            R"({"type":"hello","user":{"id":1,"username":"alice"},"session_id":7,"protocol":1})");
}

TEST(ServerFrames, Subscribed) {
  server::subscribed_frame f{{{3, 42, 40}, {5, 0, 0}}, "s1"};
  EXPECT_EQ(server::encode(f),
            R"({"type":"subscribed","rooms":[{"room":3,"last_seq":42,"from_seq":40},)"
            R"({"room":5,"last_seq":0,"from_seq":0}],"ref":"s1"})");
  EXPECT_EQ(server::encode(server::subscribed_frame{}), R"({"type":"subscribed","rooms":[]})");
}

TEST(ServerFrames, Event) {
  server::event_frame f{3,
                        42,
                        "message_edited",
                        1,
                        "2026-11-23T21:00:58.145619Z",
                        json::object{{"body", "fixed"}, {"message_id", 9}}};
  EXPECT_EQ(server::encode(f),
            R"({"type":"event","room":3,"seq":42,"kind":"message_edited","actor":1,)"
            R"("at":"2026-11-23T21:00:58.145619Z","data":{"body":"fixed","message_id":9}})");
  f.actor.reset();
  EXPECT_NE(server::encode(f).find(R"("actor":null)"), std::string::npos);
}

TEST(ServerFrames, Ack) {
  server::ack_frame f{"a-2", 3, 11, 43, "t", false, "c7"};
  EXPECT_EQ(server::encode(f),
            R"({"type":"ack","client_id":"a-2","room":3,"message_id":11,"seq":43,"created_at":"t",)"
            R"("duplicate":false,"ref":"c7"})");
  f.ref.reset();
  f.duplicate = true;
  EXPECT_EQ(server::encode(f),
            R"({"type":"ack","client_id":"a-2","room":3,"message_id":11,"seq":43,"created_at":"t",)"
            R"("duplicate":true})");
}

TEST(ServerFrames, TypingPresencePongOk) {
  EXPECT_EQ(server::encode(server::typing_frame{3, 2, "bob"}),
            R"({"type":"typing","room":3,"user":2,"username":"bob"})");
  EXPECT_EQ(server::encode(server::presence_frame{2, server::presence_status::online}),
            R"({"type":"presence","user":2,"status":"online"})");
  EXPECT_EQ(server::encode(server::presence_frame{2, server::presence_status::away}),
            R"({"type":"presence","user":2,"status":"away"})");
  EXPECT_EQ(server::encode(server::presence_frame{2, server::presence_status::offline}),
            R"({"type":"presence","user":2,"status":"offline"})");
  EXPECT_EQ(server::encode(server::pong_frame{"p1"}), R"({"type":"pong","ref":"p1"})");
  EXPECT_EQ(server::encode(server::pong_frame{}), R"({"type":"pong"})");
  EXPECT_EQ(server::encode(server::ok_frame{"r1"}), R"({"type":"ok","ref":"r1"})");
}

TEST(ServerFrames, Error) {
  EXPECT_EQ(server::encode(server::error_frame{"c1", "not_found", "room not found"}),
            R"({"type":"error","ref":"c1","code":"not_found","message":"room not found"})");
  EXPECT_EQ(
      server::encode(
          server::error_frame{std::nullopt, "invalid_argument", "binary frames are not supported"}),
      R"({"type":"error","code":"invalid_argument","message":"binary frames are not supported"})");
}

TEST(ServerFrames, StringsAreAlwaysValidJson) {
  // Quotes and control characters are escaped; invalid UTF-8 becomes U+FFFD.
  auto text = server::encode(server::typing_frame{1, 2, std::string("a\"b\n\x01\xFF\xC3", 7)});
  auto v = json::parse(text);
  EXPECT_EQ(v.at("username").as_string(), "a\"b\n\x01\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(proto::utf8_or_replacement("h\xC3\xA9llo"), "h\xC3\xA9llo");
  EXPECT_EQ(proto::utf8_or_replacement("\xED\xA0\x80x"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDx");
}

TEST(ErrorTable, EveryErrcHasOneRowWithItsName) {
  for (int i = 0; i <= static_cast<int>(errc::quota_exceeded); ++i) {
    auto code = static_cast<errc>(i);
    EXPECT_EQ(api::wire_code(code), errc_name(code)) << i;
    EXPECT_GE(api::http_status(code), 200) << i;
  }
  EXPECT_EQ(api::http_status(errc::failed_precondition), 412);
  EXPECT_EQ(api::http_status(errc::conflict), 409);
  EXPECT_EQ(api::http_status(errc::quota_exceeded), 507);
  EXPECT_EQ(api::http_status(errc::deadline_exceeded), 503);
  EXPECT_EQ(api::http_status(errc::internal), 500);
}

TEST(ErrorTable, WsErrorFrameHidesInternalDetails) {
  auto f = api::ws_error_frame("x", make_error(errc::internal, "pq: secret detail"));
  EXPECT_EQ(server::encode(f),
            R"({"type":"error","ref":"x","code":"internal","message":"internal error"})");
  auto g = api::ws_error_frame(std::nullopt, make_error(errc::resource_exhausted, "slow down"));
  EXPECT_EQ(server::encode(g),
            R"({"type":"error","code":"resource_exhausted","message":"slow down"})");
}

TEST(ErrorTable, CloseCodes) {
  EXPECT_EQ(api::ws_close_code::normal, 1000);
  EXPECT_EQ(api::ws_close_code::slow_consumer, 1008);
  EXPECT_EQ(api::ws_close_code::message_too_big, 1009);
}

}  // namespace
}  // namespace redoubt
