// Parsers and validators of untrusted input.
#include <gtest/gtest.h>

#include "api/errors.hpp"
#include "api/router.hpp"
#include "auth/rate_limit.hpp"
#include "proto/frames.hpp"
#include "proto/text.hpp"

namespace redoubt {
namespace {

TEST(Text, Utf8LengthRejectsInvalidSequences) {
  EXPECT_EQ(proto::utf8_length("abc"), 3u);
  EXPECT_EQ(proto::utf8_length("h\xC3\xA9llo"), 5u);
  EXPECT_EQ(proto::utf8_length("\xF0\x9F\x91\x8D"), 1u);
  EXPECT_FALSE(proto::utf8_length("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(proto::utf8_length("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(proto::utf8_length("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(proto::utf8_length("\xE2\x82"));          // truncated
  EXPECT_FALSE(proto::utf8_length("\x80"));
}

TEST(Text, ControlCharacters) {
  EXPECT_FALSE(proto::has_control_chars("line\nnext\ttab", true));
  EXPECT_TRUE(proto::has_control_chars("line\nnext", false));
  EXPECT_TRUE(proto::has_control_chars(std::string("nul\0x", 5), true));
  EXPECT_TRUE(proto::has_control_chars("esc\x1b[31m", true));
  EXPECT_TRUE(proto::has_control_chars("c1\xC2\x85", true));
}

// Issue 12 point 8: header values stored in the database (User-Agent in sessions, Origin in the
// audit log) are valid UTF-8 and cut on a character boundary.
TEST(Text, HeaderTextIsValidUtf8AndCutOnACharacterBoundary) {
  EXPECT_EQ(proto::header_text("Mozilla/5.0", 256), "Mozilla/5.0");
  EXPECT_EQ(proto::header_text("a\xFF" "b", 256), "a\xEF\xBF\xBD" "b");
  // 255 ASCII bytes, then a 2-byte character: a byte cut would leave half of it.
  const std::string ua = std::string(255, 'x') + "\xC3\xA9tail";
  const auto cut = proto::header_text(ua, 256);
  EXPECT_EQ(cut, std::string(255, 'x'));
  EXPECT_TRUE(proto::utf8_length(cut));
  EXPECT_EQ(proto::header_text("tab\tok\x1b[31m\xC2\x85", 256), "tab\tok[31m");
  for (std::size_t n = 0; n < 12; ++n) {
    const auto s = proto::header_text("\xF0\x9F\x91\x8D\xE2\x82\xAC\xC3\xA9!", n);
    EXPECT_LE(s.size(), n);
    EXPECT_TRUE(proto::utf8_length(s)) << n;
  }
}

TEST(Text, NamesAndAddresses) {
  EXPECT_TRUE(proto::valid_username("alice"));
  EXPECT_TRUE(proto::valid_username("a.b-c_d9"));
  EXPECT_FALSE(proto::valid_username("Alice"));
  EXPECT_FALSE(proto::valid_username("../x"));
  EXPECT_FALSE(proto::valid_username("_x"));
  EXPECT_FALSE(proto::valid_username(std::string(33, 'a')));
  EXPECT_TRUE(proto::valid_email("a@example.org"));
  EXPECT_FALSE(proto::valid_email("a@b\r\nBcc: c@d.org"));
  EXPECT_FALSE(proto::valid_email("two@@example.org"));
  EXPECT_FALSE(proto::valid_email("nodomain@x"));
  EXPECT_TRUE(proto::valid_client_id("9f1c-AB_x"));
  EXPECT_FALSE(proto::valid_client_id(""));
  EXPECT_FALSE(proto::valid_client_id("has space"));
  EXPECT_FALSE(proto::valid_client_id(std::string(65, 'a')));
}

TEST(Text, Mentions) {
  auto m = proto::parse_mentions("hi @Bob and @carol.x, mail me at dave@example.org @bob @1");
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0], "bob");
  EXPECT_EQ(m[1], "carol.x");
  EXPECT_TRUE(proto::parse_mentions("no mentions here").empty());
  EXPECT_TRUE(proto::parse_mentions("@").empty());
}

TEST(Frames, SendIsValidatedStrictly) {
  proto::frame_limits limits{100};
  std::optional<std::string> id;
  auto ok = proto::parse_client_frame(R"({"type":"send","id":"r1","room":5,"client_id":"c-1","body":"  hi  "})", limits, id);
  ASSERT_TRUE(ok);
  auto& send = std::get<proto::send_frame>(*ok);
  EXPECT_EQ(send.room, 5);
  EXPECT_EQ(send.body, "hi");
  EXPECT_EQ(id, "r1");
  EXPECT_TRUE(proto::parse_client_frame(R"({"type":"send","room":"5","client_id":"c","body":"x"})", limits, id))
      << "ids as strings are accepted";
  for (const char* bad : {R"({"type":"send","room":5,"client_id":"c","body":""})",
                          R"({"type":"send","room":5,"client_id":"c"})",
                          R"({"type":"send","room":-1.5,"client_id":"c","body":"x"})",
                          R"({"type":"send","room":5,"client_id":"c","body":"x","extra":1})",
                          R"({"type":"send","room":5,"client_id":"c","body":"\u0000"})",
                          R"({"type":"nope"})", R"({"id":"x"})", R"("just a string")", "{", ""}) {
    auto r = proto::parse_client_frame(bad, limits, id);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, errc::invalid_argument) << bad;
  }
  auto too_long = proto::parse_client_frame(
      std::string(R"({"type":"send","room":5,"client_id":"c","body":")") + std::string(101, 'a') + "\"}", limits, id);
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().code, errc::payload_too_large);
}

TEST(Frames, IdsAsStringsCannotOverflow) {
  proto::frame_limits limits;
  std::optional<std::string> id;
  auto max = proto::parse_client_frame(R"({"type":"typing","room":"9223372036854775807"})", limits, id);
  ASSERT_TRUE(max);
  EXPECT_EQ(std::get<proto::typing_frame>(*max).room, INT64_MAX);
  // Found by fuzz_client_frame: 19 digits above INT64_MAX used to wrap to a negative id.
  for (const char* big : {R"({"type":"typing","room":"9999999999999999999"})",
                          R"({"type":"typing","room":"9223372036854775808"})",
                          R"({"type":"read","room":1,"seq":"9999999999999999999"})"}) {
    auto r = proto::parse_client_frame(big, limits, id);
    ASSERT_FALSE(r) << big;
    EXPECT_EQ(r.error().code, errc::invalid_argument);
  }
}

TEST(Frames, SubscribeReadPresence) {
  proto::frame_limits limits;
  std::optional<std::string> id;
  auto sub = proto::parse_client_frame(R"({"type":"subscribe","rooms":{"3":10,"4":0}})", limits, id);
  ASSERT_TRUE(sub);
  auto& s = std::get<proto::subscribe_frame>(*sub);
  EXPECT_EQ(s.after_seq.at(3), 10);
  EXPECT_EQ(s.after_seq.at(4), 0);
  EXPECT_FALSE(proto::parse_client_frame(R"({"type":"subscribe","rooms":{"x":1}})", limits, id));
  EXPECT_FALSE(proto::parse_client_frame(R"({"type":"subscribe","rooms":{"3":-1}})", limits, id));
  EXPECT_FALSE(proto::parse_client_frame(R"({"type":"read","room":3,"seq":-2})", limits, id));
  EXPECT_FALSE(proto::parse_client_frame(R"({"type":"presence","status":"invisible"})", limits, id));
  EXPECT_TRUE(proto::parse_client_frame(R"({"type":"presence","status":"away"})", limits, id));
  // Deeply nested JSON is refused by the parser's depth limit.
  std::string deep = R"({"type":"ping","x":)" + std::string(100, '[') + std::string(100, ']') + "}";
  EXPECT_FALSE(proto::parse_client_frame(deep, limits, id));
}

TEST(Errors, StatusTable) {
  EXPECT_EQ(api::http_status(errc::invalid_argument), 400);
  EXPECT_EQ(api::http_status(errc::unauthenticated), 401);
  EXPECT_EQ(api::http_status(errc::permission_denied), 403);
  EXPECT_EQ(api::http_status(errc::not_found), 404);
  EXPECT_EQ(api::http_status(errc::already_exists), 409);
  EXPECT_EQ(api::http_status(errc::payload_too_large), 413);
  EXPECT_EQ(api::http_status(errc::resource_exhausted), 429);
  EXPECT_EQ(api::http_status(errc::unavailable), 503);
  auto r = api::error_response(errc::internal, "pq: secret detail");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body.find("secret detail"), std::string::npos) << "internal details are not leaked";
  auto busy = api::error_response(errc::unavailable, "database unavailable");
  ASSERT_EQ(busy.headers.size(), 1u);
  EXPECT_EQ(busy.headers[0].first, "Retry-After");
}

TEST(Cookies, SessionCookieParsing) {
  EXPECT_EQ(api::cookie_value("a=1; __Host-redoubt_session=tok; b=2", "__Host-redoubt_session"), "tok");
  EXPECT_EQ(api::cookie_value("__Host-redoubt_session=tok", "__Host-redoubt_session"), "tok");
  EXPECT_FALSE(api::cookie_value("x__Host-redoubt_session=tok", "__Host-redoubt_session"));
  EXPECT_FALSE(api::cookie_value("", "__Host-redoubt_session"));
}

TEST(RateLimit, TokenBucket) {
  auth::rate_limiter limiter(1.0, 3.0);
  auto t0 = auth::rate_limiter::clock::now();
  std::chrono::seconds retry{0};
  EXPECT_TRUE(limiter.allow("k", &retry, t0));
  EXPECT_TRUE(limiter.allow("k", &retry, t0));
  EXPECT_TRUE(limiter.allow("k", &retry, t0));
  EXPECT_FALSE(limiter.allow("k", &retry, t0));
  EXPECT_GE(retry.count(), 1);
  EXPECT_TRUE(limiter.allow("other", &retry, t0)) << "buckets are per key";
  EXPECT_TRUE(limiter.allow("k", &retry, t0 + std::chrono::milliseconds(1100)));
}

}  // namespace
}  // namespace redoubt

namespace redoubt::proto {
namespace {
TEST(Text, BidiFormattingCharactersAreFoundAnywhere) {
  for (const char* mark : {"\xd8\x9c", "\xe2\x80\x8e", "\xe2\x80\x8f", "\xe2\x80\xaa", "\xe2\x80\xae", "\xe2\x81\xa6",
                           "\xe2\x81\xa9"}) {
    EXPECT_TRUE(has_bidi_controls(std::string("admin") + mark + "gnp.exe")) << mark;
    EXPECT_TRUE(has_bidi_controls(mark));
  }
  // Neighbours of the ranges, right-to-left letters and ordinary punctuation are not marks.
  EXPECT_FALSE(has_bidi_controls("\xe2\x80\x8d"));  // zero-width joiner (emoji sequences)
  EXPECT_FALSE(has_bidi_controls("\xe2\x80\xaf"));  // narrow no-break space
  EXPECT_FALSE(has_bidi_controls("\xe2\x81\xa5"));
  EXPECT_FALSE(has_bidi_controls("\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d"));
  EXPECT_FALSE(has_bidi_controls("caf\xc3\xa9 \xe2\x80\x94 ok"));
  EXPECT_FALSE(has_bidi_controls("\xe2\x80"));  // cut sequence
}
}  // namespace
}  // namespace redoubt::proto
