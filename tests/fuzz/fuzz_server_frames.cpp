// libFuzzer target: server -> client frames (proto::server::encode). The fuzz bytes choose a
// frame type and its field values (any bytes as strings: invalid UTF-8, control characters,
// quotes; any 64-bit numbers); the encoded frame must parse as JSON and every field must read
// back as given (strings as proto::utf8_or_replacement of the input), or the target traps.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <fuzzer/FuzzedDataProvider.h>
#include <boost/json.hpp>

#include "proto/server_frames.hpp"
#include "proto/text.hpp"

namespace {
namespace json = boost::json;
namespace server = redoubt::proto::server;
using redoubt::proto::utf8_or_replacement;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

std::string any_string(FuzzedDataProvider& in) {
  return in.ConsumeRandomLengthString(256);
}

std::optional<std::string> any_ref(FuzzedDataProvider& in) {
  if (!in.ConsumeBool()) return std::nullopt;
  return any_string(in);
}

// Nested objects (User, Message, event data) come from render or from Boost.JSON parsing,
// so their strings are valid UTF-8; their numbers and shapes are anything.
json::value any_value(FuzzedDataProvider& in, int depth) {
  switch (in.ConsumeIntegralInRange<int>(0, depth > 3 ? 3 : 5)) {
    case 0:
      return nullptr;
    case 1:
      return in.ConsumeBool();
    case 2:
      return in.ConsumeIntegral<std::int64_t>();
    case 3:
      return json::string(utf8_or_replacement(any_string(in)));
    case 4: {
      json::array a;
      for (int n = in.ConsumeIntegralInRange<int>(0, 4); n > 0; --n)
        a.push_back(any_value(in, depth + 1));
      return a;
    }
    default: {
      json::object o;
      for (int n = in.ConsumeIntegralInRange<int>(0, 4); n > 0; --n)
        o[utf8_or_replacement(any_string(in))] = any_value(in, depth + 1);
      return o;
    }
  }
}

json::object any_object(FuzzedDataProvider& in) {
  json::object o;
  for (int n = in.ConsumeIntegralInRange<int>(0, 4); n > 0; --n)
    o[utf8_or_replacement(any_string(in))] = any_value(in, 1);
  return o;
}

// The encoded frame parses, is an object of the given type and has exactly `fields` keys.
json::object parsed(const std::string& text, std::string_view type, std::size_t fields) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  check(!ec && v.is_object());
  auto& o = v.as_object();
  check(o.size() == fields);
  check(o.contains("type") && o.at("type").is_string() && o.at("type").get_string() == type);
  return std::move(o);
}

void check_int(const json::object& o, std::string_view key, std::int64_t want) {
  const auto* v = o.if_contains(key);
  check(v && v->is_int64() && v->get_int64() == want);
}

void check_string(const json::object& o, std::string_view key, const std::string& want) {
  const auto* v = o.if_contains(key);
  check(v && v->is_string() && v->get_string() == utf8_or_replacement(want));
}

void check_ref(const json::object& o, const std::optional<std::string>& ref) {
  if (ref)
    check_string(o, "ref", *ref);
  else
    check(!o.contains("ref"));
}

std::size_t with_ref(std::size_t n, const std::optional<std::string>& ref) {
  return ref ? n + 1 : n;
}

void hello(FuzzedDataProvider& in) {
  server::hello_frame f{any_object(in), in.ConsumeIntegral<std::int64_t>(),
                        in.ConsumeIntegral<int>()};
  auto o = parsed(server::encode(f), "hello", 4);
  check(o.at("user") == f.user);
  check_int(o, "session_id", f.session_id);
  check_int(o, "protocol", f.protocol);
}

void subscribed(FuzzedDataProvider& in) {
  server::subscribed_frame f;
  for (int n = in.ConsumeIntegralInRange<int>(0, 8); n > 0; --n)
    f.rooms.push_back({in.ConsumeIntegral<std::int64_t>(), in.ConsumeIntegral<std::int64_t>(),
                       in.ConsumeIntegral<std::int64_t>()});
  f.ref = any_ref(in);
  auto o = parsed(server::encode(f), "subscribed", with_ref(2, f.ref));
  check_ref(o, f.ref);
  const auto& rooms = o.at("rooms").as_array();
  check(rooms.size() == f.rooms.size());
  for (std::size_t i = 0; i < rooms.size(); ++i) {
    const auto& r = rooms[i].as_object();
    check(r.size() == 3);
    check_int(r, "room", f.rooms[i].room);
    check_int(r, "last_seq", f.rooms[i].last_seq);
    check_int(r, "from_seq", f.rooms[i].from_seq);
  }
}

void event(FuzzedDataProvider& in) {
  server::event_frame f;
  f.room = in.ConsumeIntegral<std::int64_t>();
  f.seq = in.ConsumeIntegral<std::int64_t>();
  f.kind = any_string(in);
  if (in.ConsumeBool()) f.actor = in.ConsumeIntegral<std::int64_t>();
  f.at = any_string(in);
  f.data = any_value(in, 0);
  auto o = parsed(server::encode(f), "event", 7);
  check_int(o, "room", f.room);
  check_int(o, "seq", f.seq);
  check_string(o, "kind", f.kind);
  if (f.actor)
    check_int(o, "actor", *f.actor);
  else
    check(o.at("actor").is_null());
  check_string(o, "at", f.at);
  check(o.at("data") == f.data);
}

void ack(FuzzedDataProvider& in) {
  server::ack_frame f;
  f.client_id = any_string(in);
  f.room = in.ConsumeIntegral<std::int64_t>();
  f.message_id = in.ConsumeIntegral<std::int64_t>();
  f.seq = in.ConsumeIntegral<std::int64_t>();
  f.created_at = any_string(in);
  f.duplicate = in.ConsumeBool();
  f.ref = any_ref(in);
  auto o = parsed(server::encode(f), "ack", with_ref(7, f.ref));
  check_string(o, "client_id", f.client_id);
  check_int(o, "room", f.room);
  check_int(o, "message_id", f.message_id);
  check_int(o, "seq", f.seq);
  check_string(o, "created_at", f.created_at);
  check(o.at("duplicate").is_bool() && o.at("duplicate").get_bool() == f.duplicate);
  check_ref(o, f.ref);
}

void typing(FuzzedDataProvider& in) {
  server::typing_frame f{in.ConsumeIntegral<std::int64_t>(), in.ConsumeIntegral<std::int64_t>(),
                         any_string(in)};
  auto o = parsed(server::encode(f), "typing", 4);
  check_int(o, "room", f.room);
  check_int(o, "user", f.user);
  check_string(o, "username", f.username);
}

void presence(FuzzedDataProvider& in) {
  server::presence_frame f{
      in.ConsumeIntegral<std::int64_t>(),
      in.PickValueInArray({server::presence_status::online, server::presence_status::away,
                           server::presence_status::offline})};
  auto o = parsed(server::encode(f), "presence", 3);
  check_int(o, "user", f.user);
  check_string(o, "status", std::string(server::to_string(f.status)));
}

void replies(FuzzedDataProvider& in) {
  server::pong_frame pong{any_ref(in)};
  check_ref(parsed(server::encode(pong), "pong", with_ref(1, pong.ref)), pong.ref);
  server::ok_frame ok{any_string(in)};
  check_string(parsed(server::encode(ok), "ok", 2), "ref", ok.ref);
}

void error(FuzzedDataProvider& in) {
  server::error_frame f{any_ref(in), any_string(in), any_string(in)};
  auto o = parsed(server::encode(f), "error", with_ref(3, f.ref));
  check_ref(o, f.ref);
  check_string(o, "code", f.code);
  check_string(o, "message", f.message);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  switch (in.ConsumeIntegralInRange<int>(0, 8)) {
    case 0:
      hello(in);
      break;
    case 1:
      subscribed(in);
      break;
    case 2:
      event(in);
      break;
    case 3:
      ack(in);
      break;
    case 4:
      typing(in);
      break;
    case 5:
      presence(in);
      break;
    case 6:
      replies(in);
      break;
    default:
      error(in);
      break;
  }
  // utf8_or_replacement on the raw bytes: always valid UTF-8, and the identity on valid input.
  const std::string raw(reinterpret_cast<const char*>(data), size);
  const auto fixed = utf8_or_replacement(raw);
  check(redoubt::proto::utf8_length(fixed).has_value());
  if (redoubt::proto::utf8_length(raw)) check(fixed == raw);
  return 0;
}
