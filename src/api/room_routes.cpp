// Rooms: listing, creation, direct conversations, settings, joining and leaving.
#include <boost/json.hpp>

#include "api/errors.hpp"
#include "api/handlers.hpp"
#include "proto/render.hpp"

namespace redoubt::api::handlers {
namespace json = boost::json;

namespace {

http_response room_list(const std::vector<chat::room>& rooms) {
  json::array out;
  for (const auto& r : rooms) out.push_back(proto::room_json(r));
  return json_response(200, json::object{{"rooms", std::move(out)}});
}

// {"room": ...} with `status`, or the error.
http_response room_or_error(int status, const result<chat::room>& room) {
  if (!room) return error_response(room.error());
  return json_response(status, json::object{{"room", proto::room_json(*room)}});
}

// get_room and join_room: one call on the room in the path, answered with the room.
using room_call = awaitable<result<chat::room>> (chat::service::*)(const auth::actor& who,
                                                                   chat::room_id room);
awaitable<http_response> answer_room(route_env& env, request_scope& rq, room_call call) {
  const auto id = rq.id("room");
  auto room = co_await (env.ctx.chat.*call)(rq.who, id);
  co_return room_or_error(200, room);
}

// retention_days: a positive number of days, or null to keep messages (0 internally).
result<std::optional<std::int64_t>> retention_days_of(const json::object& body) {
  const auto* retention = body.if_contains("retention_days");
  if (!retention) return std::optional<std::int64_t>{};
  if (retention->is_null()) return std::optional<std::int64_t>{0};
  if (retention->is_int64() && retention->get_int64() > 0) return std::optional<std::int64_t>{retention->get_int64()};
  return make_error(errc::invalid_argument, "retention_days must be a positive integer or null");
}

}  // namespace

awaitable<http_response> my_rooms(route_env& env, request_scope& rq) {
  auto rooms = co_await env.ctx.chat.my_rooms(rq.who);
  if (!rooms) co_return error_response(rooms.error());
  co_return room_list(*rooms);
}

awaitable<http_response> public_rooms(route_env& env, request_scope& rq) {
  auto rooms = co_await env.ctx.chat.public_rooms(rq.who);
  if (!rooms) co_return error_response(rooms.error());
  co_return room_list(*rooms);
}

awaitable<http_response> create_room(route_env& env, request_scope& rq) {
  body_reader body(rq, {"name", "kind", "topic"});
  const auto name = body.string("name");
  const auto kind_name = body.optional_string("kind");
  if (!body) co_return error_response(body.problem());
  auto kind = chat::room_kind_from(kind_name.value_or("public"));
  if (!kind || *kind == chat::room_kind::direct)
    co_return error_response(errc::invalid_argument, "kind must be 'public' or 'private'");
  const auto topic = body.optional_string("topic");
  if (!body) co_return error_response(body.problem());
  auto room = co_await env.ctx.chat.create_room(rq.who, *kind, name, topic.value_or(""));
  co_return room_or_error(201, room);
}

awaitable<http_response> open_direct(route_env& env, request_scope& rq) {
  body_reader body(rq, {"username"});
  const auto username = body.string("username");
  if (!body) co_return error_response(body.problem());
  auto room = co_await env.ctx.chat.open_direct(rq.who, username);
  co_return room_or_error(200, room);
}

awaitable<http_response> get_room(route_env& env, request_scope& rq) {
  co_return co_await answer_room(env, rq, &chat::service::get_room);
}

awaitable<http_response> update_room(route_env& env, request_scope& rq) {
  const auto id = rq.id("room");
  body_reader body(rq, {"topic", "retention_days"});
  const auto topic = body.optional_string("topic");
  if (!body) co_return error_response(body.problem());
  // One change per request, so a refused one never leaves the other half done.
  if (topic.has_value() == (body.object().if_contains("retention_days") != nullptr))
    co_return error_response(errc::invalid_argument, "send exactly one of topic, retention_days");
  auto days = retention_days_of(body.object());
  if (!days) co_return error_response(days.error());
  result<void> changed;
  if (*days) {
    changed = co_await env.ctx.chat.set_retention(rq.who, id, **days);
  } else {
    changed = co_await env.ctx.chat.set_topic(rq.who, id, *topic);
  }
  if (!changed) co_return error_response(changed.error());
  co_return co_await answer_room(env, rq, &chat::service::get_room);
}

awaitable<http_response> join_room(route_env& env, request_scope& rq) {
  co_return co_await answer_room(env, rq, &chat::service::join);
}

awaitable<http_response> leave_room(route_env& env, request_scope& rq) {
  const auto id = rq.id("room");
  auto ok = co_await env.ctx.chat.leave(rq.who, id);
  co_return no_content_or_error(ok);
}

}  // namespace redoubt::api::handlers
