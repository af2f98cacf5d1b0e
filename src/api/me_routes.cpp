// The signed-in user: profile, password, sessions.
#include <boost/json.hpp>

#include "api/errors.hpp"
#include "api/handlers.hpp"
#include "proto/render.hpp"

namespace redoubt::api::handlers {
namespace json = boost::json;

awaitable<http_response> me(route_env&, request_scope& rq) {
  co_return json_response(200, json::object{{"user", proto::user_json(rq.session->account, true)},
                                            {"session_id", rq.session->id}});
}

awaitable<http_response> update_me(route_env& env, request_scope& rq) {
  body_reader body(rq, {"display_name"});
  const auto name = body.string("display_name");
  if (!body) co_return error_response(body.problem());
  const auto client = rq.client();
  auto user = co_await env.ctx.accounts.set_display_name(*rq.session, name, client);
  if (!user) co_return error_response(user.error());
  co_return json_response(200, json::object{{"user", proto::user_json(*user, true)}});
}

awaitable<http_response> change_password(route_env& env, request_scope& rq) {
  body_reader body(rq, {"current_password", "new_password", "end_other_sessions"});
  const secret_string current_pw(body.string("current_password"));
  const secret_string next_pw(body.string("new_password"));
  const bool end_others = body.optional_bool("end_other_sessions").value_or(false);
  if (!body) co_return error_response(body.problem());
  const auto client = rq.client();
  auto ok = co_await env.ctx.accounts.change_password(*rq.session, current_pw, next_pw, end_others, client);
  co_return no_content_or_error(ok);
}

awaitable<http_response> list_sessions(route_env& env, request_scope& rq) {
  auto list = co_await env.ctx.accounts.sessions(*rq.session);
  if (!list) co_return error_response(list.error());
  json::array out;
  for (const auto& s : *list) out.push_back(proto::session_json(s, rq.session->id));
  co_return json_response(200, json::object{{"sessions", std::move(out)}});
}

awaitable<http_response> revoke_session(route_env& env, request_scope& rq) {
  const auto id = rq.id("session");
  const auto client = rq.client();
  auto ok = co_await env.ctx.accounts.revoke_session(*rq.session, id, client);
  co_return no_content_or_error(ok);
}

}  // namespace redoubt::api::handlers
