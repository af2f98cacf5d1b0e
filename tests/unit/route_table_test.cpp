// The route table and its matcher: patterns, captures, precedence, and the table's own rules.
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "api/route_table.hpp"
#include "storage/sql_support.hpp"

namespace redoubt::api {
namespace {

TEST(RouteTable, LiteralPathsMatchExactly) {
  EXPECT_TRUE(match_path("/api/v1/rooms", "/api/v1/rooms"));
  EXPECT_FALSE(match_path("/api/v1/rooms", "/api/v1/room"));
  EXPECT_FALSE(match_path("/api/v1/rooms", "/api/v1/rooms/5"));
  EXPECT_FALSE(match_path("/api/v1/rooms/5", "/api/v1/rooms"));
  EXPECT_FALSE(match_path("/api/v1/rooms", "/api/v2/rooms"));
}

TEST(RouteTable, EmptySegmentsAreSkippedLikeBefore) {
  EXPECT_TRUE(match_path("/api/v1/rooms", "/api/v1/rooms/"));
  EXPECT_TRUE(match_path("/api/v1/rooms", "//api//v1/rooms"));
}

TEST(RouteTable, CapturesAreDecodedSegments) {
  auto m = match_path("/api/v1/messages/{message}/reactions/{emoji:text}",
                      "/api/v1/messages/42/reactions/%F0%9F%91%8D");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->id("message"), 42);
  EXPECT_EQ(m->get("emoji"), "\xF0\x9F\x91\x8D");
  EXPECT_EQ(m->get("absent"), "");
}

TEST(RouteTable, IdsArePositiveDecimalNumbersOnly) {
  EXPECT_EQ(parse_id("1"), 1);
  EXPECT_EQ(parse_id("999999999999999999"), 999999999999999999);
  for (const char* bad : {"", "0", "-1", "+1", "1x", "0x10", " 1", "1000000000000000000", "1.5"})
    EXPECT_FALSE(parse_id(bad)) << bad;
  auto m = match_path("/api/v1/rooms/{room}", "/api/v1/rooms/abc");
  ASSERT_TRUE(m);  // the shape matches; the router answers 404 "room not found"
  EXPECT_FALSE(m->id("room"));
  EXPECT_EQ(m->invalid_id(), "room");
  auto ok = match_path("/api/v1/rooms/{room}/members/{member}", "/api/v1/rooms/3/members/4");
  ASSERT_TRUE(ok);
  EXPECT_FALSE(ok->invalid_id());
}

TEST(RouteTable, TextCapturesAreNotIds) {
  auto m = match_path("/api/v1/messages/{message}/reactions/{emoji:text}", "/api/v1/messages/9/reactions/abc");
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->invalid_id());
  EXPECT_EQ(m->get("emoji"), "abc");
  auto bad = match_path("/api/v1/messages/{message}/reactions/{emoji:text}", "/api/v1/messages/x/reactions/abc");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->invalid_id(), "message");
}

TEST(RouteTable, BadPercentEncodingMatchesNothing) {
  EXPECT_FALSE(match_path("/api/v1/messages/{message}/reactions/{emoji:text}", "/api/v1/messages/1/reactions/%ZZ"));
}

TEST(RouteTable, FindsByMethodAndPrefersTheLiteralRow) {
  auto table = route_table();
  auto pub = find_route(table, "GET", "/api/v1/rooms/public");
  ASSERT_TRUE(pub);
  EXPECT_EQ(pub->row->pattern, "/api/v1/rooms/public");
  auto one = find_route(table, "GET", "/api/v1/rooms/7");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->row->pattern, "/api/v1/rooms/{room}");
  EXPECT_EQ(one->params.id("room"), 7);
  EXPECT_FALSE(find_route(table, "PUT", "/api/v1/rooms/7"));
  EXPECT_FALSE(find_route(table, "GET", "/api/v1/nothing"));
}

TEST(RouteTable, EveryRowIsWellFormed) {
  std::set<std::string> seen;
  for (const auto& r : route_table()) {
    const int handlers = (r.fn != nullptr) + (r.upload != nullptr) + (r.download != nullptr);
    EXPECT_EQ(handlers, 1) << r.method << " " << r.pattern;
    EXPECT_TRUE(seen.insert(std::string(r.method) + " " + std::string(r.pattern)).second)
        << "declared twice: " << r.method << " " << r.pattern;
    const bool probe = r.pattern == "/healthz" || r.pattern == "/readyz";
    const bool ops = probe || r.pattern == "/metrics";
    EXPECT_TRUE(ops || r.pattern.starts_with("/api/v1/")) << r.pattern;
    // Only the probes skip the rate limits; admin pages need a session like any other.
    EXPECT_EQ(r.rate == rate_class::unlimited, probe) << r.pattern;
    // /metrics needs the scrape token (and only /metrics takes it).
    EXPECT_EQ(r.who == caller::scraper, r.pattern == "/metrics") << r.pattern;
    if (r.pattern.starts_with("/api/v1/admin/")) {
      EXPECT_EQ(r.who, caller::admin) << r.pattern;
    }
    if (r.upload) {
      EXPECT_EQ(r.method, "POST") << r.pattern;
    }
  }
}

TEST(RouteTable, SignInRoutesAreTheOnlyAnonymousApiRoutes) {
  std::set<std::string> anonymous;
  for (const auto& r : route_table())
    if (r.who == caller::anyone && r.pattern.starts_with("/api/")) anonymous.insert(std::string(r.pattern));
  const std::set<std::string> expected{"/api/v1/auth/register",       "/api/v1/auth/login",
                                       "/api/v1/auth/verify-email",   "/api/v1/auth/password-reset",
                                       "/api/v1/auth/password-reset/confirm", "/api/v1/hooks/email"};
  EXPECT_EQ(anonymous, expected);
}

// Arrays go to PostgreSQL as text literals built in one place; a quote or backslash in an
// element must not end it early.
TEST(SqlArrays, ElementsAreQuotedAndEscaped) {
  EXPECT_EQ(storage::sql::text_array({}), "{}");
  EXPECT_EQ(storage::sql::text_array({"a", "b c", "q\"uote", "back\\slash", "{,}", ""}),
            R"({"a","b c","q\"uote","back\\slash","{,}",""})");
  EXPECT_EQ(storage::sql::int64_array(std::vector<std::int64_t>{1, -2, 3}), "{1,-2,3}");
  EXPECT_EQ(storage::sql::int64_array(std::vector<std::optional<std::int64_t>>{5, std::nullopt}), "{5,NULL}");
}

}  // namespace
}  // namespace redoubt::api
