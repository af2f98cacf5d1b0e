// Messages over REST: history pages, posting (same path as the WebSocket send), edits,
// deletes, reactions.
#include <boost/json.hpp>

#include "api/errors.hpp"
#include "api/handlers.hpp"
#include "proto/render.hpp"

namespace redoubt::api::handlers {
namespace json = boost::json;

namespace {

// before: a seq (0 = from the end); limit: a positive number (the service caps it).
result<std::pair<std::int64_t, std::int64_t>> page_of(const request_scope& rq) {
  std::int64_t before = 0, limit = 50;
  if (auto b = rq.query("before")) {
    auto v = parse_id(*b);
    if (!v && *b != "0") return make_error(errc::invalid_argument, "before must be a seq");
    before = v.value_or(0);
  }
  if (auto l = rq.query("limit")) {
    auto v = parse_id(*l);
    if (!v) return make_error(errc::invalid_argument, "limit must be a positive integer");
    limit = *v;
  }
  return std::pair{before, limit};
}

awaitable<http_response> react(route_env& env, request_scope& rq, bool add) {
  const auto id = rq.id("message");
  // The emoji is a percent-encoded path segment, decoded by the route match.
  std::string emoji(rq.params.get("emoji"));
  auto out = co_await env.ctx.chat.react(rq.who, id, std::move(emoji), add);
  co_return no_content_or_error(out);
}

}  // namespace

awaitable<http_response> history(route_env& env, request_scope& rq) {
  const auto id = rq.id("room");
  auto page_args = page_of(rq);
  if (!page_args) co_return error_response(page_args.error());
  const auto [before, limit] = *page_args;
  auto page = co_await env.ctx.chat.history(rq.who, id, before, static_cast<int>(std::min<std::int64_t>(limit, 1 << 20)));
  if (!page) co_return error_response(page.error());
  json::array out;
  for (const auto& msg : page->messages) out.push_back(proto::message_json(msg));
  co_return json_response(200, json::object{{"messages", std::move(out)},
                                            {"next_before", page->next_before ? json::value(*page->next_before)
                                                                              : json::value(nullptr)}});
}

awaitable<http_response> post_message(route_env& env, request_scope& rq) {
  const auto id = rq.id("room");
  body_reader body(rq, {"client_id", "body", "reply_to", "attachments"});
  const auto cid = body.string("client_id");
  auto text = body.string("body");
  const auto reply = body.optional_int64("reply_to");
  auto files = body.optional_id_list("attachments", env.ctx.config.limits.max_attachments_per_message);
  if (!body) co_return error_response(body.problem());
  const std::optional<auth::room_facts> unknown_facts;
  auto out = co_await env.ctx.chat.post(rq.who, rq.session->account.username, id, cid, std::move(text), reply,
                                        std::move(files), unknown_facts);
  if (!out) co_return error_response(out.error());
  env.ctx.stats.messages_acked.fetch_add(1);
  const bool duplicate = out->status == chat::post_status::duplicate;
  co_return json_response(duplicate ? 200 : 201,
                          json::object{{"message_id", out->id}, {"room", id}, {"seq", out->seq}, {"client_id", cid},
                                       {"created_at", out->created_at}, {"duplicate", duplicate}});
}

awaitable<http_response> edit_message(route_env& env, request_scope& rq) {
  const auto id = rq.id("message");
  body_reader body(rq, {"body"});
  auto text = body.string("body");
  if (!body) co_return error_response(body.problem());
  auto out = co_await env.ctx.chat.edit(rq.who, id, std::move(text));
  if (!out) co_return error_response(out.error());
  co_return json_response(200, json::object{{"message_id", id}, {"room", out->room}, {"seq", out->seq},
                                            {"edited_at", out->edited_at}});
}

awaitable<http_response> delete_message(route_env& env, request_scope& rq) {
  const auto id = rq.id("message");
  const auto from = rq.origin();
  auto out = co_await env.ctx.chat.remove(rq.who, id, from);
  co_return no_content_or_error(out);
}

awaitable<http_response> add_reaction(route_env& env, request_scope& rq) { co_return co_await react(env, rq, true); }

awaitable<http_response> remove_reaction(route_env& env, request_scope& rq) { co_return co_await react(env, rq, false); }

}  // namespace redoubt::api::handlers
