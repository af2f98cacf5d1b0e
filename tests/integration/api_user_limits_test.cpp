// Limits hold per user and per client address, not per connection: opening more sockets does
// not multiply a user's message rate, one user cannot hold more than their share of sockets,
// and one address cannot fill the server's connections alone.
#include <thread>

#include "api_env.hpp"

namespace redoubt::test {
namespace {

bool is_ack(const json::object& f) { return f.at("type").as_string() == "ack"; }
bool is_refusal(const json::object& f) {
  return f.at("type").as_string() == "error" && f.at("code").as_string() == "resource_exhausted";
}

TEST(UserLimits, SocketsAndRestShareOneMessageBudgetPerUser) {
  ensure_migrated();
  server_options opts;
  // 5 messages at once, then one a second.
  opts.extra_toml = "[limits]\nmessages_per_second = 1\nmessages_burst = 5\n"
                    "requests_per_second_per_ip = 100000\nrequests_burst_per_ip = 100000\n";
  server_process server(opts);
  server.start();
  auto u = make_user(server, "ul");
  auto room = make_room(u, "private");
  std::vector<ws_client> sockets;
  for (int i = 0; i < 4; ++i) sockets.push_back(connect_ws(server, u));

  int acked = 0, refused = 0;
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 5; ++j)
      sockets[i].send(json::object{{"type", "send"}, {"room", room},
                                   {"client_id", "c" + std::to_string(i) + "x" + std::to_string(j)}, {"body", "hi"}});
    for (int j = 0; j < 5; ++j) {
      auto f = sockets[i].read_until([](const json::object& o) { return is_ack(o) || is_refusal(o); });
      (is_ack(f.as_object()) ? acked : refused) += 1;
    }
  }
  EXPECT_EQ(acked + refused, 20);
  // One burst of 5 and what refilled meanwhile (a second or two); four sockets of their own
  // would have had 20.
  EXPECT_LE(acked, 9) << "four sockets got more than one user's budget";
  EXPECT_GE(acked, 5);
  // REST draws from the same bucket: of three posts at once, at most one finds a token.
  int rest_refused = 0;
  for (int i = 0; i < 3; ++i) {
    auto rest = u.http.post("/api/v1/rooms/" + std::to_string(room) + "/messages",
                            json::object{{"client_id", "rest" + std::to_string(i)}, {"body", "via REST"}});
    if (rest.status == 429) ++rest_refused;
  }
  EXPECT_GE(rest_refused, 2);
  // Another user is not affected.
  auto other = make_user(server, "ul2");
  auto own = make_room(other, "private");
  EXPECT_EQ(other.http.post("/api/v1/rooms/" + std::to_string(own) + "/messages",
                            json::object{{"client_id", "o1"}, {"body", "mine"}})
                .status,
            201);
}

TEST(UserLimits, OneUserCannotHoldMoreThanTheirShareOfSockets) {
  ensure_migrated();
  server_options opts;
  opts.extra_toml = std::string(relaxed_limits) + "max_ws_per_user = 3\n";
  server_process server(opts);
  server.start();
  auto u = make_user(server, "uc");
  auto other = make_user(server, "uo");
  std::vector<ws_client> sockets;
  for (int i = 0; i < 3; ++i) sockets.push_back(connect_ws(server, u));
  try {
    server.ws(u.http.cookie_header());
    FAIL() << "a fourth socket of the same user was accepted";
  } catch (const ws_upgrade_refused& e) {
    EXPECT_EQ(e.status, 429);
  }
  auto theirs = connect_ws(server, other);  // other users are not affected
  // A closed socket frees its place.
  sockets.back().close();
  sockets.pop_back();
  bool reopened = false;
  for (int i = 0; i < 50 && !reopened; ++i) {
    try {
      sockets.push_back(connect_ws(server, u));
      reopened = true;
    } catch (const ws_upgrade_refused&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  EXPECT_TRUE(reopened);
}

TEST(UserLimits, OneAddressCannotTakeMoreThanItsShareOfConnections) {
  ensure_migrated();
  server_options opts;
  opts.extra_toml = std::string(relaxed_limits) + "max_connections_per_ip = 4\n";
  server_process server(opts);
  server.start();
  auto u = make_user(server, "ip");  // its client holds one kept-alive connection
  std::vector<ws_client> sockets;
  for (int i = 0; i < 3; ++i) sockets.push_back(connect_ws(server, u));
  // The fifth connection from 127.0.0.1 is closed at once.
  auto extra = server.client();
  EXPECT_THROW(extra.get("/healthz"), std::exception);
  // Another address still gets in.
  auto elsewhere = server.client();
  elsewhere.set_source_address("127.0.0.2");
  EXPECT_EQ(elsewhere.get("/healthz").status, 200);
  // And a closed connection frees its place.
  sockets.back().close();
  sockets.pop_back();
  bool served = false;
  for (int i = 0; i < 50 && !served; ++i) {
    auto again = server.client();
    try {
      served = again.get("/healthz").status == 200;
    } catch (const std::exception&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  EXPECT_TRUE(served);
}

}  // namespace
}  // namespace redoubt::test
