// Sign-up, sign-in, email verification, password reset, sign-out.
#include <boost/json.hpp>

#include "api/errors.hpp"
#include "api/handlers.hpp"
#include "proto/render.hpp"

namespace redoubt::api::handlers {
namespace json = boost::json;

namespace {

std::string session_cookie_header(const std::string& token, std::int64_t max_age) {
  return std::string(session_cookie) + "=" + token + "; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=" +
         std::to_string(max_age);
}

// The user and a session cookie with `status`, or the error.
http_response signed_in_or_error(route_env& env, int status, const result<auth::new_session>& s) {
  if (!s) return error_response(s.error());
  auto r = json_response(status, json::object{{"user", proto::user_json(s->account, true)},
                                              {"session_id", s->session_id}});
  r.headers.emplace_back(
      "Set-Cookie", session_cookie_header(s->token.reveal(),
                                          env.ctx.config.auth.session_absolute_timeout.count()));
  return r;
}

}  // namespace

awaitable<http_response> register_user(route_env& env, request_scope& rq) {
  body_reader body(rq, {"username", "email", "password"});
  const auto username = body.string("username");
  const secret_string pw(body.string("password"));
  const auto email = body.string("email");
  if (!body) co_return error_response(body.problem());
  const auto client = rq.client();
  auto s = co_await env.ctx.accounts.register_user(username, email, pw, client);
  co_return signed_in_or_error(env, 201, s);
}

awaitable<http_response> login(route_env& env, request_scope& rq) {
  body_reader body(rq, {"username", "password"});
  const auto username = body.string("username");
  const secret_string pw(body.string("password"));
  if (!body) co_return error_response(body.problem());
  const auto client = rq.client();
  auto s = co_await env.ctx.accounts.login(username, pw, client);
  co_return signed_in_or_error(env, 200, s);
}

awaitable<http_response> verify_email(route_env& env, request_scope& rq) {
  body_reader body(rq, {"token"});
  const auto token = body.string("token");
  if (!body) co_return error_response(body.problem());
  const auto client = rq.client();
  auto ok = co_await env.ctx.accounts.verify_email(token, client);
  if (!ok) co_return error_response(ok.error());
  co_return json_response(200, json::object{{"email_verified", true}});
}

awaitable<http_response> request_password_reset(route_env& env, request_scope& rq) {
  body_reader body(rq, {"email"});
  const auto email = body.string("email");
  if (!body) co_return error_response(body.problem());
  const auto client = rq.client();
  auto ok = co_await env.ctx.accounts.request_password_reset(email, client);
  if (!ok) co_return error_response(ok.error());
  // The same answer whether or not the address has an account.
  co_return json_response(202, json::object{{"status", "accepted"}});
}

awaitable<http_response> reset_password(route_env& env, request_scope& rq) {
  body_reader body(rq, {"token", "password"});
  const auto token = body.string("token");
  const secret_string pw(body.string("password"));
  if (!body) co_return error_response(body.problem());
  const auto client = rq.client();
  auto ok = co_await env.ctx.accounts.reset_password(token, pw, client);
  co_return no_content_or_error(ok);
}

awaitable<http_response> logout(route_env& env, request_scope& rq) {
  const auto client = rq.client();
  auto ok = co_await env.ctx.accounts.logout(*rq.session, client);
  if (!ok) co_return error_response(ok.error());
  auto r = no_content();
  r.headers.emplace_back("Set-Cookie",
                         std::string(session_cookie) + "=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0");
  co_return r;
}

}  // namespace redoubt::api::handlers
