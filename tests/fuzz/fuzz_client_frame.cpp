// libFuzzer target: client -> server WebSocket text frames (proto::parse_client_frame) and
// message bodies (proto::validate_body). Any input may be rejected; what is accepted must
// satisfy the documented invariants, or the target traps.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <boost/json.hpp>

#include "proto/frames.hpp"
#include "proto/text.hpp"

namespace {
namespace json = boost::json;
namespace proto = redoubt::proto;
using redoubt::errc;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

bool valid_id(const std::optional<std::string>& id) {
  return !id || (id->size() <= 64 && proto::valid_client_id(*id));
}

bool valid_body(const std::string& body, std::size_t max_chars) {
  auto len = proto::utf8_length(body);
  return len && *len >= 1 && *len <= max_chars && !proto::has_control_chars(body, true) &&
         proto::trim(body) == body;
}

void check_error(const redoubt::error& e) {
  check(e.code == errc::invalid_argument || e.code == errc::payload_too_large);
  check(!e.message.empty());
}

// Serializes an accepted frame back to JSON; parsing that again must give the same frame.
std::string to_json(const proto::client_frame& frame) {
  json::object o;
  auto put_id = [&](const std::optional<std::string>& id) {
    if (id) o["id"] = *id;
  };
  std::visit(
      [&](const auto& f) {
        using T = std::decay_t<decltype(f)>;
        put_id(f.id);
        if constexpr (std::is_same_v<T, proto::send_frame>) {
          o["type"] = "send";
          o["room"] = f.room;
          o["client_id"] = f.client_id;
          o["body"] = f.body;
          if (f.reply_to) o["reply_to"] = *f.reply_to;
        } else if constexpr (std::is_same_v<T, proto::subscribe_frame>) {
          o["type"] = "subscribe";
          json::object rooms;
          for (auto [room, seq] : f.after_seq) rooms[std::to_string(room)] = seq;
          o["rooms"] = std::move(rooms);
        } else if constexpr (std::is_same_v<T, proto::typing_frame>) {
          o["type"] = "typing";
          o["room"] = f.room;
        } else if constexpr (std::is_same_v<T, proto::read_frame>) {
          o["type"] = "read";
          o["room"] = f.room;
          o["seq"] = f.seq;
        } else if constexpr (std::is_same_v<T, proto::presence_frame>) {
          o["type"] = "presence";
          o["status"] = f.status;
        } else {
          static_assert(std::is_same_v<T, proto::ping_frame>);
          o["type"] = "ping";
        }
      },
      frame);
  return json::serialize(o);
}

bool same(const proto::client_frame& a, const proto::client_frame& b) {
  if (a.index() != b.index()) return false;
  return std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        const auto& y = std::get<T>(b);
        if (x.id != y.id) return false;
        if constexpr (std::is_same_v<T, proto::send_frame>)
          return x.room == y.room && x.client_id == y.client_id && x.body == y.body &&
                 x.reply_to == y.reply_to;
        else if constexpr (std::is_same_v<T, proto::subscribe_frame>)
          return x.after_seq == y.after_seq;
        else if constexpr (std::is_same_v<T, proto::typing_frame>)
          return x.room == y.room;
        else if constexpr (std::is_same_v<T, proto::read_frame>)
          return x.room == y.room && x.seq == y.seq;
        else if constexpr (std::is_same_v<T, proto::presence_frame>)
          return x.status == y.status;
        else
          return true;
      },
      a);
}

void check_frame(const proto::client_frame& frame, const proto::frame_limits& limits,
                 const std::optional<std::string>& id_out) {
  std::visit(
      [&](const auto& f) {
        using T = std::decay_t<decltype(f)>;
        check(valid_id(f.id));
        check(f.id == id_out);
        if constexpr (std::is_same_v<T, proto::send_frame>) {
          check(proto::valid_client_id(f.client_id));
          check(valid_body(f.body, limits.max_body_chars));
        } else if constexpr (std::is_same_v<T, proto::subscribe_frame>) {
          check(f.after_seq.size() <= 10000);
          for (auto [room, seq] : f.after_seq) check(seq >= 0);
        } else if constexpr (std::is_same_v<T, proto::read_frame>) {
          check(f.seq >= 0);
        } else if constexpr (std::is_same_v<T, proto::presence_frame>) {
          check(f.status == "online" || f.status == "away");
        }
      },
      frame);

  std::optional<std::string> id2;
  auto again = proto::parse_client_frame(to_json(frame), limits, id2);
  check(again.has_value());
  check(same(frame, *again));
  check(id2 == id_out);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const proto::frame_limits big{};             // production default: 8000 characters
  const proto::frame_limits small{.max_body_chars = 8};

  std::optional<std::string> id_big, id_small;
  auto big_r = proto::parse_client_frame(text, big, id_big);
  auto small_r = proto::parse_client_frame(text, small, id_small);
  check(id_big == id_small);
  check(valid_id(id_big));

  if (big_r) check_frame(*big_r, big, id_big);
  else check_error(big_r.error());
  if (small_r) {
    check_frame(*small_r, small, id_small);
    // A frame accepted under the tighter limit is accepted, unchanged, under the looser one.
    check(big_r.has_value() && same(*big_r, *small_r));
  } else {
    check_error(small_r.error());
  }

  // validate_body on raw bytes (bodies arrive as JSON strings, already UTF-8 checked by the
  // parser; this also covers invalid UTF-8).
  for (std::size_t max_chars : {std::size_t{1}, std::size_t{8}, std::size_t{8000}}) {
    auto body = proto::validate_body(text, max_chars);
    if (body) {
      check(valid_body(*body, max_chars));
      check(*body == proto::trim(text));
    } else {
      check_error(body.error());
    }
  }
  return 0;
}
