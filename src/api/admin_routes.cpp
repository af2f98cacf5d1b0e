// Server administration: users and the audit log (storage use and quotas are in
// attachment_routes.cpp).
#include <boost/json.hpp>

#include "api/errors.hpp"
#include "api/handlers.hpp"
#include "proto/json_util.hpp"
#include "proto/render.hpp"

namespace redoubt::api::handlers {
namespace json = boost::json;

namespace {

json::object audit_row_json(const audit::row& a) {
  return json::object{{"id", a.id},
                      {"at", a.at},
                      {"actor_id", a.actor_id ? json::value(*a.actor_id) : json::value(nullptr)},
                      {"actor", a.actor},
                      {"action", a.action},
                      {"target", a.target},
                      {"ip", a.ip},
                      {"request_id", a.request_id},
                      {"outcome", a.outcome},
                      {"details", proto::stored_json_or(a.details_json, json::object{})}};
}

json::value checkpoint_json(const auth::audit_page& page) {
  if (!page.checkpoint) return nullptr;
  return json::object{{"audit_id", page.checkpoint->audit_id},
                      {"signed_at", page.checkpoint->signed_at},
                      {"status", audit::status_name(page.checkpoint_status)},
                      {"message", audit::describe(page.checkpoint_status)}};
}

}  // namespace

awaitable<http_response> list_users(route_env& env, request_scope& rq) {
  auto users = co_await env.ctx.admin.users(rq.who);
  if (!users) co_return error_response(users.error());
  json::array out;
  for (const auto& u : *users) out.push_back(proto::user_json(u, true));
  co_return json_response(200, json::object{{"users", std::move(out)}});
}

awaitable<http_response> update_user(route_env& env, request_scope& rq) {
  const auto target = rq.id("user");
  body_reader body(rq, {"disabled", "is_admin"});
  const auto disabled = body.optional_bool("disabled");
  const auto is_admin = body.optional_bool("is_admin");
  if (!body) co_return error_response(body.problem());
  const auth::account_change change{disabled, is_admin};
  const auto from = rq.origin();
  auto user = co_await env.ctx.admin.update_user(rq.who, target, change, from);
  if (!user) co_return error_response(user.error());
  co_return json_response(200, json::object{{"user", proto::user_json(*user, true)}});
}

awaitable<http_response> audit_log(route_env& env, request_scope& rq) {
  std::int64_t before = 0, limit = 50;
  if (auto b = rq.query("before")) {
    auto v = parse_id(*b);
    if (!v) co_return error_response(errc::invalid_argument, "before must be an audit entry id");
    before = *v;
  }
  if (auto l = rq.query("limit")) {
    auto v = parse_id(*l);
    if (!v || *v > 200) co_return error_response(errc::invalid_argument, "limit must be 1..200");
    limit = *v;
  }
  auto page = co_await env.ctx.admin.audit_log(rq.who, before, static_cast<int>(limit));
  if (!page) co_return error_response(page.error());
  json::array entries;
  for (const auto& a : page->entries) entries.push_back(audit_row_json(a));
  const auto& chain = page->chain;
  json::object chain_json{{"ok", chain.bad == 0},
                          {"checked", chain.checked},
                          {"bad", chain.bad},
                          {"first_bad_id", chain.first_bad_id ? json::value(*chain.first_bad_id) : json::value(nullptr)}};
  co_return json_response(200, json::object{{"entries", std::move(entries)},
                                            {"next_before", page->next_before ? json::value(*page->next_before)
                                                                              : json::value(nullptr)},
                                            {"chain", std::move(chain_json)},
                                            {"checkpoint", checkpoint_json(*page)}});
}

}  // namespace redoubt::api::handlers
