// Room membership: invitations, the member list, roles, removal, read markers.
#include <boost/json.hpp>

#include "api/errors.hpp"
#include "api/handlers.hpp"
#include "proto/render.hpp"

namespace redoubt::api::handlers {
namespace json = boost::json;

awaitable<http_response> invite(route_env& env, request_scope& rq) {
  const auto id = rq.id("room");
  body_reader body(rq, {"username"});
  const auto username = body.string("username");
  if (!body) co_return error_response(body.problem());
  auto ok = co_await env.ctx.chat.invite(rq.who, id, username);
  co_return no_content_or_error(ok);
}

awaitable<http_response> list_members(route_env& env, request_scope& rq) {
  const auto id = rq.id("room");
  auto members = co_await env.ctx.chat.members(rq.who, id);
  if (!members) co_return error_response(members.error());
  json::array out;
  for (const auto& m : *members) out.push_back(proto::member_json(m));
  co_return json_response(200, json::object{{"members", std::move(out)}});
}

awaitable<http_response> set_member_role(route_env& env, request_scope& rq) {
  const auto id = rq.id("room");
  const auto member = rq.id("member");
  body_reader body(rq, {"role"});
  const auto role_name = body.string("role");
  if (!body) co_return error_response(body.problem());
  auto role = chat::room_role_from(role_name);
  if (!role)
    co_return error_response(errc::invalid_argument, "role must be 'owner', 'moderator' or 'member'");
  const auto from = rq.origin();
  auto ok = co_await env.ctx.chat.set_member_role(rq.who, id, member, *role, from);
  co_return no_content_or_error(ok);
}

awaitable<http_response> remove_member(route_env& env, request_scope& rq) {
  const auto id = rq.id("room");
  const auto member = rq.id("member");
  const auto from = rq.origin();
  auto ok = co_await env.ctx.chat.remove_member(rq.who, id, member, from);
  co_return no_content_or_error(ok);
}

awaitable<http_response> mark_read(route_env& env, request_scope& rq) {
  const auto id = rq.id("room");
  body_reader body(rq, {"seq"});
  const auto seq = body.int64("seq");
  if (!body) co_return error_response(body.problem());
  auto ok = co_await env.ctx.chat.mark_read(rq.who, id, seq);
  co_return no_content_or_error(ok);
}

}  // namespace redoubt::api::handlers
