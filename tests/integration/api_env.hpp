// Shared environment of the API integration tests: one PostgreSQL cluster and one
// redoubt-server process per test binary, plus helpers to make users and rooms.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "support/server_process.hpp"

namespace redoubt::test {

namespace json = boost::json;

// Limits relaxed so that tests are not throttled by the per-IP request buckets; the tests that
// exercise the limits start their own server.
inline const char* relaxed_limits =
    "[limits]\nrequests_per_second_per_ip = 100000\nrequests_burst_per_ip = 100000\n"
    "messages_per_second = 100000\nmessages_burst = 100000\n"
    "history_requests_per_second = 100000\nhistory_burst = 100000\n";

inline server_process& shared_server() {
  static std::unique_ptr<server_process> server = [] {
    ensure_migrated();
    server_options opts;
    opts.extra_toml = relaxed_limits;
    auto s = std::make_unique<server_process>(opts);
    s->start();
    return s;
  }();
  return *server;
}

inline std::string unique_name(const std::string& prefix) {
  static std::atomic<int> counter{0};
  return prefix + std::to_string(::getpid() % 100000) + "x" + std::to_string(counter.fetch_add(1));
}

inline const std::string test_password = "correct horse battery staple 42";

struct test_user {
  std::string username;
  std::int64_t id = 0;
  https_client http;
};

inline test_user make_user(server_process& server, const std::string& prefix = "u") {
  auto name = unique_name(prefix);
  auto http = server.client();
  auto res = http.post("/api/v1/auth/register",
                       json::object{{"username", name}, {"email", name + "@example.test"}, {"password", test_password}});
  EXPECT_EQ(res.status, 201) << res.body;
  auto id = res.json().at("user").at("id").as_int64();
  return test_user{name, id, std::move(http)};
}

inline std::int64_t make_room(test_user& owner, const std::string& kind, const std::string& prefix = "room") {
  auto res = owner.http.post("/api/v1/rooms", json::object{{"name", unique_name(prefix)}, {"kind", kind}});
  EXPECT_EQ(res.status, 201) << res.body;
  return res.json().at("room").at("id").as_int64();
}

inline std::string error_code(const http_response& res) {
  try {
    return std::string(res.json().at("error").at("code").as_string());
  } catch (...) {
    return "<no error body: " + res.body + ">";
  }
}

// Percent-encodes everything but [A-Za-z0-9._-] (query values, path segments).
inline std::string pct_encode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '.' || c == '-' || c == '_') {
      out.push_back(static_cast<char>(c));
    } else {
      static constexpr char hex[] = "0123456789ABCDEF";
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// POST /rooms/{room}/attachments with the raw bytes.
inline http_response upload_attachment(https_client& http, std::int64_t room, std::string_view bytes,
                                       std::string_view filename = "f.bin") {
  return http.request("POST", "/api/v1/rooms/" + std::to_string(room) + "/attachments?filename=" + pct_encode(filename),
                      bytes, {{"Content-Type", "application/octet-stream"}});
}

// Deterministic pseudo-random bytes (xorshift), different per seed.
inline std::string pattern_bytes(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& c : s) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return s;
}

// Opens a WebSocket for the user and subscribes; returns the client after "subscribed".
inline ws_client connect_ws(server_process& server, test_user& u, const json::object& after = {}) {
  auto ws = server.ws(u.http.cookie_header());
  auto hello = ws.read();
  EXPECT_EQ(hello.at("type").as_string(), "hello");
  json::object sub{{"type", "subscribe"}, {"id", "s1"}};
  if (!after.empty()) sub["rooms"] = after;
  ws.send(sub);
  ws.read_until([](const json::object& f) { return f.at("type").as_string() == "subscribed"; });
  return ws;
}

}  // namespace redoubt::test
