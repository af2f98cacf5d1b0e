// Rooms, membership and the authorization matrix: every room endpoint x role x membership.
#include <array>

#include "integration/api_env.hpp"

namespace redoubt::test {
namespace {

TEST(Rooms, CreateListJoinLeaveTopic) {
  auto& server = shared_server();
  auto alice = make_user(server, "alice");
  auto bob = make_user(server, "bob");
  auto room = make_room(alice, "public");
  auto rid = std::to_string(room);

  auto pub = bob.http.get("/api/v1/rooms/public");
  ASSERT_EQ(pub.status, 200);
  bool listed = false;
  const auto pub_rooms = pub.json().at("rooms").as_array();
  for (const auto& r : pub_rooms) listed |= r.at("id").as_int64() == room;
  EXPECT_TRUE(listed);

  EXPECT_EQ(bob.http.post("/api/v1/rooms/" + rid + "/join", json::object{}).status, 200);
  auto again = bob.http.post("/api/v1/rooms/" + rid + "/join", json::object{});
  EXPECT_EQ(again.status, 409);
  auto mine = bob.http.get("/api/v1/rooms").json().at("rooms").as_array();
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0].at("my_role").as_string(), "member");

  // Members may not change the topic of a public room; the owner may.
  EXPECT_EQ(bob.http.patch("/api/v1/rooms/" + rid, json::object{{"topic", "hi"}}).status, 403);
  auto t = alice.http.patch("/api/v1/rooms/" + rid, json::object{{"topic", "Release planning"}});
  ASSERT_EQ(t.status, 200) << t.body;
  EXPECT_EQ(t.json().at("room").at("topic").as_string(), "Release planning");

  auto members = alice.http.get("/api/v1/rooms/" + rid + "/members").json().at("members").as_array();
  EXPECT_EQ(members.size(), 2u);
  EXPECT_EQ(bob.http.post("/api/v1/rooms/" + rid + "/leave", json::object{}).status, 204);
  EXPECT_EQ(bob.http.get("/api/v1/rooms/" + rid + "/messages").status, 403);
  EXPECT_EQ(alice.http.get("/api/v1/rooms/" + rid + "/members").json().at("members").as_array().size(), 1u);
}

TEST(Rooms, DuplicateNameAndBadNames) {
  auto& server = shared_server();
  auto alice = make_user(server, "alice");
  auto name = unique_name("dup");
  EXPECT_EQ(alice.http.post("/api/v1/rooms", json::object{{"name", name}}).status, 201);
  EXPECT_EQ(alice.http.post("/api/v1/rooms", json::object{{"name", name}}).status, 409);
  EXPECT_EQ(alice.http.post("/api/v1/rooms", json::object{{"name", "   "}}).status, 400);
  EXPECT_EQ(alice.http.post("/api/v1/rooms", json::object{{"name", std::string(200, 'x')}}).status, 400);
  EXPECT_EQ(alice.http.post("/api/v1/rooms", json::object{{"name", "ok"}, {"kind", "direct"}}).status, 400);
  EXPECT_EQ(alice.http.post("/api/v1/rooms", json::object{{"name", "bell\x07"}}).status, 400);
}

TEST(Rooms, PrivateRoomIsInvisibleToNonMembers) {
  auto& server = shared_server();
  auto owner = make_user(server, "own");
  auto stranger = make_user(server, "str");
  auto room = make_room(owner, "private");
  auto rid = std::to_string(room);
  // Every way of touching it answers 404 not_found, exactly like a room that does not exist.
  auto missing = stranger.http.get("/api/v1/rooms/999999999");
  for (auto res : {stranger.http.get("/api/v1/rooms/" + rid),
                   stranger.http.get("/api/v1/rooms/" + rid + "/messages"),
                   stranger.http.get("/api/v1/rooms/" + rid + "/members"),
                   stranger.http.post("/api/v1/rooms/" + rid + "/join", json::object{}),
                   stranger.http.post("/api/v1/rooms/" + rid + "/messages", json::object{{"client_id", "c1"}, {"body", "x"}}),
                   stranger.http.patch("/api/v1/rooms/" + rid, json::object{{"topic", "x"}}),
                   stranger.http.post("/api/v1/rooms/" + rid + "/invite", json::object{{"username", stranger.username}})}) {
    EXPECT_EQ(res.status, 404) << res.body;
    EXPECT_EQ(res.body, missing.body);
  }
  const auto visible = stranger.http.get("/api/v1/rooms/public").json().at("rooms").as_array();
  for (const auto& r : visible)
    EXPECT_NE(r.at("id").as_int64(), room);
}

// The role x action matrix for a private and a public room.
TEST(Rooms, AuthorizationMatrix) {
  auto& server = shared_server();
  auto owner = make_user(server, "mo");
  auto moderator = make_user(server, "md");
  auto member = make_user(server, "mm");
  auto outsider = make_user(server, "mx");
  auto priv = make_room(owner, "private");
  auto pub = make_room(owner, "public");
  for (auto room : {priv, pub}) {
    auto rid = "/api/v1/rooms/" + std::to_string(room);
    for (auto* u : {&moderator, &member})
      ASSERT_EQ(owner.http.post(rid + "/invite", json::object{{"username", u->username}}).status, 204);
    ASSERT_EQ(owner.http.put(rid + "/members/" + std::to_string(moderator.id), json::object{{"role", "moderator"}}).status, 204);
  }

  auto act = [&](test_user& u, std::int64_t room, const std::string& action) {
    auto rid = "/api/v1/rooms/" + std::to_string(room);
    if (action == "view") return u.http.get(rid).status;
    if (action == "history") return u.http.get(rid + "/messages").status;
    if (action == "members") return u.http.get(rid + "/members").status;
    if (action == "post") return u.http.post(rid + "/messages", json::object{{"client_id", unique_name("c")}, {"body", "hello"}}).status;
    if (action == "topic") return u.http.patch(rid, json::object{{"topic", "t"}}).status;
    if (action == "read") return u.http.post(rid + "/read", json::object{{"seq", 1}}).status;
    if (action == "invite") {
      auto extra = make_user(server, "mi");
      return u.http.post(rid + "/invite", json::object{{"username", extra.username}}).status;
    }
    if (action == "promote" || action == "kick") {
      // A fresh plain member each time, added by the owner.
      auto extra = make_user(server, "mk");
      EXPECT_EQ(owner.http.post(rid + "/invite", json::object{{"username", extra.username}}).status, 204);
      auto target = rid + "/members/" + std::to_string(extra.id);
      return action == "promote" ? u.http.put(target, json::object{{"role", "moderator"}}).status
                                 : u.http.del(target).status;
    }
    return -1;
  };
  // Columns: owner, moderator, member, outsider; first the private room, then the public one.
  struct row {
    std::string action;
    std::array<int, 4> in_private, in_public;
  };
  const std::vector<row> matrix = {
      {"view", {200, 200, 200, 404}, {200, 200, 200, 200}},
      {"history", {200, 200, 200, 404}, {200, 200, 200, 403}},
      {"members", {200, 200, 200, 404}, {200, 200, 200, 403}},
      {"post", {201, 201, 201, 404}, {201, 201, 201, 403}},
      {"read", {204, 204, 204, 404}, {204, 204, 204, 403}},
      {"topic", {200, 200, 403, 404}, {200, 200, 403, 403}},
      {"invite", {204, 204, 403, 404}, {204, 204, 204, 403}},
      {"promote", {204, 204, 403, 404}, {204, 204, 403, 403}},
      {"kick", {204, 204, 403, 404}, {204, 204, 403, 403}},
  };
  std::array<test_user*, 4> who = {&owner, &moderator, &member, &outsider};
  const char* names[] = {"owner", "moderator", "member", "outsider"};
  for (const auto& r : matrix) {
    for (std::size_t k = 0; k < who.size(); ++k) {
      EXPECT_EQ(act(*who[k], priv, r.action), r.in_private[k]) << r.action << " " << names[k] << "/private";
      EXPECT_EQ(act(*who[k], pub, r.action), r.in_public[k]) << r.action << " " << names[k] << "/public";
    }
  }
}

TEST(Rooms, RolesAndModeration) {
  auto& server = shared_server();
  auto owner = make_user(server, "ro");
  auto mod = make_user(server, "rm");
  auto member = make_user(server, "rb");
  auto room = make_room(owner, "private");
  auto rid = "/api/v1/rooms/" + std::to_string(room);
  for (auto* u : {&mod, &member})
    ASSERT_EQ(owner.http.post(rid + "/invite", json::object{{"username", u->username}}).status, 204);
  auto members_of = [&](const std::string& path) { return path + "/members/"; };
  ASSERT_EQ(owner.http.put(members_of(rid) + std::to_string(mod.id), json::object{{"role", "moderator"}}).status, 204);
  // Moderators may not create owners, demote or remove the owner.
  EXPECT_EQ(mod.http.put(members_of(rid) + std::to_string(member.id), json::object{{"role", "owner"}}).status, 403);
  EXPECT_EQ(mod.http.put(members_of(rid) + std::to_string(owner.id), json::object{{"role", "member"}}).status, 403);
  EXPECT_EQ(mod.http.del(members_of(rid) + std::to_string(owner.id)).status, 403);
  // Bad input and unknown members.
  EXPECT_EQ(owner.http.put(members_of(rid) + std::to_string(member.id), json::object{{"role", "king"}}).status, 400);
  auto stranger = make_user(server, "rz");
  EXPECT_EQ(owner.http.put(members_of(rid) + std::to_string(stranger.id), json::object{{"role", "member"}}).status, 404);
  // The last owner cannot step down.
  auto last = owner.http.put(members_of(rid) + std::to_string(owner.id), json::object{{"role", "member"}});
  EXPECT_EQ(last.status, 412);
  EXPECT_EQ(error_code(last), "failed_precondition");
  // A moderator deletes a member's message and removes the member, who then sees nothing.
  auto posted = member.http.post(rid + "/messages", json::object{{"client_id", "spam1"}, {"body", "spam"}});
  ASSERT_EQ(posted.status, 201);
  EXPECT_EQ(mod.http.del("/api/v1/messages/" + std::to_string(posted.json().at("message_id").as_int64())).status, 204);
  EXPECT_EQ(mod.http.del(members_of(rid) + std::to_string(member.id)).status, 204);
  EXPECT_EQ(member.http.get(rid).status, 404);
  EXPECT_EQ(member.http.post(rid + "/messages", json::object{{"client_id", "spam2"}, {"body", "again"}}).status, 404);
  auto roles = owner.http.get(rid + "/members").json().at("members").as_array();
  ASSERT_EQ(roles.size(), 2u);
  for (const auto& m : roles)
    EXPECT_EQ(m.at("role").as_string(), m.at("id").as_int64() == owner.id ? "owner" : "moderator");
}

TEST(Rooms, MessageEditDeleteByRole) {
  auto& server = shared_server();
  auto owner = make_user(server, "eo");
  auto author = make_user(server, "ea");
  auto other = make_user(server, "eb");
  auto room = make_room(owner, "public");
  auto rid = "/api/v1/rooms/" + std::to_string(room);
  ASSERT_EQ(author.http.post(rid + "/join", json::object{}).status, 200);
  ASSERT_EQ(other.http.post(rid + "/join", json::object{}).status, 200);
  auto posted = author.http.post(rid + "/messages", json::object{{"client_id", "m1"}, {"body", "first"}});
  ASSERT_EQ(posted.status, 201) << posted.body;
  auto mid = "/api/v1/messages/" + std::to_string(posted.json().at("message_id").as_int64());

  EXPECT_EQ(other.http.patch(mid, json::object{{"body", "hijack"}}).status, 403);
  EXPECT_EQ(owner.http.patch(mid, json::object{{"body", "owner edit"}}).status, 403) << "only authors edit";
  auto edited = author.http.patch(mid, json::object{{"body", "first (edited)"}});
  ASSERT_EQ(edited.status, 200) << edited.body;
  EXPECT_EQ(other.http.del(mid).status, 403);
  // Reactions: idempotent add, visible in history.
  EXPECT_EQ(other.http.put(mid + "/reactions/%F0%9F%91%8D", json::object{}).status, 204);
  EXPECT_EQ(other.http.put(mid + "/reactions/%F0%9F%91%8D", json::object{}).status, 204);
  auto hist = owner.http.get(rid + "/messages").json().at("messages").as_array();
  ASSERT_EQ(hist.size(), 1u);
  EXPECT_EQ(hist[0].at("body").as_string(), "first (edited)");
  EXPECT_FALSE(hist[0].at("edited_at").is_null());
  ASSERT_EQ(hist[0].at("reactions").as_array().size(), 1u);
  EXPECT_EQ(hist[0].at("reactions").as_array()[0].at("emoji").as_string(), "\xF0\x9F\x91\x8D");
  EXPECT_EQ(hist[0].at("reactions").as_array()[0].at("users").as_array().size(), 1u);
  EXPECT_EQ(other.http.del(mid + "/reactions/%F0%9F%91%8D").status, 204);
  // The room owner (a moderator) may delete; afterwards the message is a tombstone.
  EXPECT_EQ(owner.http.del(mid).status, 204);
  EXPECT_EQ(author.http.patch(mid, json::object{{"body", "zombie"}}).status, 404);
  hist = owner.http.get(rid + "/messages").json().at("messages").as_array();
  ASSERT_EQ(hist.size(), 1u);
  EXPECT_TRUE(hist[0].at("deleted").as_bool());
  EXPECT_EQ(hist[0].at("body").as_string(), "");
}

TEST(Rooms, DirectMessagesHaveTwoMembers) {
  auto& server = shared_server();
  auto a = make_user(server, "da");
  auto b = make_user(server, "db");
  auto c = make_user(server, "dc");
  auto dm = a.http.post("/api/v1/dms", json::object{{"username", b.username}});
  ASSERT_EQ(dm.status, 200) << dm.body;
  auto room = dm.json().at("room").at("id").as_int64();
  auto again = b.http.post("/api/v1/dms", json::object{{"username", a.username}});
  EXPECT_EQ(again.json().at("room").at("id").as_int64(), room) << "one conversation per pair";
  auto rid = "/api/v1/rooms/" + std::to_string(room);
  EXPECT_EQ(c.http.get(rid).status, 404);
  EXPECT_EQ(c.http.post(rid + "/join", json::object{}).status, 404);
  EXPECT_EQ(a.http.post(rid + "/invite", json::object{{"username", c.username}}).status, 403);
  EXPECT_EQ(a.http.post(rid + "/leave", json::object{}).status, 403);
  EXPECT_EQ(a.http.post("/api/v1/dms", json::object{{"username", a.username}}).status, 400);
  EXPECT_EQ(a.http.post("/api/v1/dms", json::object{{"username", "no-such-user-zz"}}).status, 404);
}

TEST(Rooms, HistoryPaginationWithCursor) {
  auto& server = shared_server();
  auto alice = make_user(server, "hp");
  auto room = make_room(alice, "private");
  auto rid = "/api/v1/rooms/" + std::to_string(room);
  for (int i = 1; i <= 25; ++i)
    ASSERT_EQ(alice.http.post(rid + "/messages", json::object{{"client_id", "h" + std::to_string(i)},
                                                               {"body", "message " + std::to_string(i)}}).status, 201);
  std::vector<std::string> seen;
  std::string target = rid + "/messages?limit=10";
  for (int page = 0; page < 5; ++page) {
    auto res = alice.http.get(target);
    ASSERT_EQ(res.status, 200) << res.body;
    auto body = res.json().as_object();
    auto msgs = body.at("messages").as_array();
    std::vector<std::string> chunk;
    std::int64_t prev = 0;
    for (const auto& m : msgs) {
      EXPECT_GT(m.at("seq").as_int64(), prev) << "oldest first within a page";
      prev = m.at("seq").as_int64();
      chunk.emplace_back(m.at("body").as_string());
    }
    seen.insert(seen.begin(), chunk.begin(), chunk.end());
    if (body.at("next_before").is_null()) break;
    target = rid + "/messages?limit=10&before=" + std::to_string(body.at("next_before").as_int64());
  }
  ASSERT_EQ(seen.size(), 25u);
  for (int i = 1; i <= 25; ++i) EXPECT_EQ(seen[i - 1], "message " + std::to_string(i));
  EXPECT_EQ(alice.http.get(rid + "/messages?limit=0").status, 400);
  EXPECT_EQ(alice.http.get(rid + "/messages?limit=100000").status, 400);
  EXPECT_EQ(alice.http.get(rid + "/messages?before=abc").status, 400);
}

TEST(Rooms, InjectionPayloadsAreStoredVerbatim) {
  auto& server = shared_server();
  auto alice = make_user(server, "sq");
  const std::string payloads[] = {"'; DROP TABLE messages; --", "\" OR 1=1 --", "$1) ; SELECT pg_sleep(5); --",
                                  "<script>alert(1)</script>", "Robert'); DELETE FROM users;--"};
  auto room = make_room(alice, "private");
  auto rid = "/api/v1/rooms/" + std::to_string(room);
  int i = 0;
  for (const auto& p : payloads)
    ASSERT_EQ(alice.http.post(rid + "/messages", json::object{{"client_id", "i" + std::to_string(i++)}, {"body", p}}).status, 201);
  auto topic = alice.http.patch(rid, json::object{{"topic", payloads[0]}});
  ASSERT_EQ(topic.status, 200);
  EXPECT_EQ(topic.json().at("room").at("topic").as_string(), payloads[0]);
  auto hist = alice.http.get(rid + "/messages").json().at("messages").as_array();
  ASSERT_EQ(hist.size(), std::size(payloads));
  for (std::size_t k = 0; k < hist.size(); ++k) EXPECT_EQ(hist[k].at("body").as_string(), payloads[k]);
  EXPECT_EQ(alice.http.get("/api/v1/me").status, 200);  // users table still there
}

// Bidirectional formatting characters reorder what is shown around them: "admin\u202Egnp.exe"
// would show as "adminexe.png". Names, topics and display names refuse them.
TEST(Rooms, BidiOverridesAreRefusedInNamesTopicsAndDisplayNames) {
  auto& server = shared_server();
  auto alice = make_user(server, "bidi");
  const std::string rlo = "\xe2\x80\xae", lri = "\xe2\x81\xa6", rlm = "\xe2\x80\x8f";
  for (const auto& mark : {rlo, lri, rlm}) {
    auto res = alice.http.post("/api/v1/rooms", json::object{{"name", unique_name("admin") + mark + "gnp.exe"}});
    EXPECT_EQ(res.status, 400) << res.body;
    EXPECT_EQ(error_code(res), "invalid_argument");
    EXPECT_EQ(alice.http.patch("/api/v1/me", json::object{{"display_name", "admin" + mark + "gnp.exe"}}).status, 400);
  }
  auto room = make_room(alice, "public", "bidi");
  const auto rid = "/api/v1/rooms/" + std::to_string(room);
  EXPECT_EQ(alice.http.patch(rid, json::object{{"topic", "see " + rlo + "fdp.exe"}}).status, 400);
  EXPECT_EQ(alice.http.post("/api/v1/rooms", json::object{{"name", unique_name("r")}, {"topic", rlo}}).status, 400);
  // Text in right-to-left scripts is fine; only the invisible formatting marks are refused.
  const std::string hebrew = "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d";
  EXPECT_EQ(alice.http.patch(rid, json::object{{"topic", hebrew}}).status, 200);
  EXPECT_EQ(alice.http.patch("/api/v1/me", json::object{{"display_name", hebrew}}).status, 200);
}

}  // namespace
}  // namespace redoubt::test
