// Durability and resume under failure: kill -9 after acknowledged bursts, and clients that
// reconnect while others keep sending. Each test runs its own server process.
#include <set>
#include <thread>

#include "integration/api_env.hpp"

namespace redoubt::test {
namespace {

bool is_type(const json::object& f, std::string_view t) { return f.at("type").as_string() == t; }

std::vector<json::object> full_history(test_user& u, std::int64_t room) {
  std::vector<json::object> out;
  std::string target = "/api/v1/rooms/" + std::to_string(room) + "/messages?limit=200";
  for (;;) {
    auto res = u.http.get(target);
    EXPECT_EQ(res.status, 200) << res.body;
    auto body = res.json().as_object();
    std::vector<json::object> page;
    for (const auto& m : body.at("messages").as_array()) page.push_back(m.as_object());
    out.insert(out.begin(), page.begin(), page.end());
    if (body.at("next_before").is_null()) break;
    target = "/api/v1/rooms/" + std::to_string(room) + "/messages?limit=200&before=" +
             std::to_string(body.at("next_before").as_int64());
  }
  return out;
}

TEST(Durability, AckedMessagesSurviveKill9AndRetriesDoNotDuplicate) {
  ensure_migrated();
  server_options opts;
  opts.extra_toml = relaxed_limits;
  server_process server(opts);
  server.start();
  auto alice = make_user(server, "k9");
  auto room = make_room(alice, "private");

  constexpr int total = 300;
  constexpr int window = 48;  // below the per-connection in-flight cap
  std::map<std::string, std::int64_t> acked;  // client_id -> message id
  {
    auto ws = connect_ws(server, alice);
    int sent = 0;
    while (static_cast<int>(acked.size()) < total) {
      while (sent < total && sent - static_cast<int>(acked.size()) < window) {
        ws.send(json::object{{"type", "send"}, {"room", room}, {"client_id", "k" + std::to_string(sent)},
                             {"body", "burst " + std::to_string(sent)}});
        ++sent;
      }
      auto f = ws.read_until([](const json::object& o) { return is_type(o, "ack") || is_type(o, "error"); },
                             std::chrono::seconds(20));
      ASSERT_EQ(f.at("type").as_string(), "ack") << json::serialize(f);
      acked[std::string(f.at("client_id").as_string())] = f.at("message_id").as_int64();
    }
    server.kill9();  // right after the last ack: nothing gets a chance to flush
  }
  server.start();
  auto after = full_history(alice, room);
  std::set<std::string> stored;
  for (const auto& m : after) stored.insert(std::string(m.at("client_id").as_string()));
  for (const auto& [cid, id] : acked) EXPECT_TRUE(stored.contains(cid)) << "acked message lost: " << cid;
  EXPECT_EQ(after.size(), static_cast<std::size_t>(total));

  // Every client retries everything (as if all acks were lost): same ids, no new rows.
  auto ws = connect_ws(server, alice);
  for (int i = 0; i < total; ++i) {
    ws.send(json::object{{"type", "send"}, {"room", room}, {"client_id", "k" + std::to_string(i)},
                         {"body", "burst " + std::to_string(i)}});
    auto f = ws.read_until([](const json::object& o) { return is_type(o, "ack") || is_type(o, "error"); });
    ASSERT_EQ(f.at("type").as_string(), "ack");
    EXPECT_TRUE(f.at("duplicate").as_bool());
    EXPECT_EQ(f.at("message_id").as_int64(), acked["k" + std::to_string(i)]);
  }
  EXPECT_EQ(full_history(alice, room).size(), static_cast<std::size_t>(total));
  // Sequence numbers are gapless: 1..total.
  std::int64_t expect = 1;
  for (const auto& m : after) EXPECT_EQ(m.at("seq").as_int64(), expect++);
}

TEST(Durability, ReconnectingClientsSeeExactlyTheHistory) {
  ensure_migrated();
  server_options opts;
  opts.extra_toml = relaxed_limits;
  server_process server(opts);
  server.start();
  auto owner = make_user(server, "rs");
  auto room = make_room(owner, "private");
  std::vector<test_user> senders, readers;
  for (int i = 0; i < 3; ++i) senders.push_back(make_user(server, "rss"));
  for (int i = 0; i < 2; ++i) readers.push_back(make_user(server, "rsr"));
  for (auto* group : {&senders, &readers})
    for (auto& u : *group)
      ASSERT_EQ(owner.http.post("/api/v1/rooms/" + std::to_string(room) + "/invite", json::object{{"username", u.username}}).status, 204);
  auto base_seq = owner.http.get("/api/v1/rooms/" + std::to_string(room)).json().at("room").at("last_seq").as_int64();

  constexpr int per_sender = 80;
  std::vector<std::thread> threads;
  for (int s = 0; s < 3; ++s) {
    threads.emplace_back([&, s] {
      auto ws = connect_ws(server, senders[s]);
      for (int i = 0; i < per_sender; ++i) {
        ws.send(json::object{{"type", "send"}, {"room", room}, {"client_id", "s" + std::to_string(s) + "-" + std::to_string(i)},
                             {"body", "from " + std::to_string(s) + " #" + std::to_string(i)}});
        ws.read_until([](const json::object& o) { return is_type(o, "ack"); }, std::chrono::seconds(20));
      }
    });
  }
  // Readers drop and resume every few events while the senders keep going.
  std::vector<std::vector<std::pair<std::int64_t, std::string>>> views(readers.size());
  for (std::size_t r = 0; r < readers.size(); ++r) {
    threads.emplace_back([&, r] {
      std::int64_t cursor = base_seq;
      auto& view = views[r];
      const std::int64_t target = base_seq + 3 * per_sender;
      int reconnects = 0;
      while (cursor < target && reconnects < 200) {
        auto ws = connect_ws(server, readers[r], json::object{{std::to_string(room), cursor}});
        ++reconnects;
        for (int k = 0; k < 7 + static_cast<int>(r) * 5 && cursor < target; ++k) {
          auto f = ws.try_read(std::chrono::seconds(10));
          if (!f) break;
          auto& o = f->as_object();
          if (!is_type(o, "event")) continue;
          auto seq = o.at("seq").as_int64();
          EXPECT_EQ(seq, cursor + 1) << "gap or duplicate for reader " << r;
          cursor = seq;
          view.emplace_back(seq, std::string(o.at("data").at("body").as_string()));
        }
      }
    });
  }
  for (auto& t : threads) t.join();

  auto history = full_history(owner, room);
  ASSERT_EQ(history.size(), static_cast<std::size_t>(3 * per_sender));
  for (std::size_t r = 0; r < readers.size(); ++r) {
    ASSERT_EQ(views[r].size(), history.size()) << "reader " << r;
    for (std::size_t i = 0; i < history.size(); ++i) {
      EXPECT_EQ(views[r][i].first, history[i].at("seq").as_int64());
      EXPECT_EQ(views[r][i].second, std::string(history[i].at("body").as_string()));
    }
  }
}

}  // namespace
}  // namespace redoubt::test
