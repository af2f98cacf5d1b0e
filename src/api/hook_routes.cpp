// Webhooks from outside services: the email provider's delivery and bounce events.
#include <boost/json.hpp>

#include "api/email_webhook.hpp"
#include "api/errors.hpp"
#include "api/handlers.hpp"

namespace redoubt::api::handlers {
namespace json = boost::json;

namespace {
// Every refused call is audited. (A free function: g++ 12 mishandles capturing lambda
// coroutines.)
awaitable<http_response> reject(route_env& env, const request_scope& rq, error e) {
  const auto from = rq.origin();
  co_await env.ctx.admin.reject_email_event(e.message, rq.req.body.size(), from);
  co_return error_response(e);
}
}  // namespace

awaitable<http_response> email_webhook(route_env& env, request_scope& rq) {
  const auto& hook = env.ctx.config.email_webhook;
  if (hook.secret.reveal().empty()) co_return error_response(errc::not_found, "no such endpoint");
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  const auto& req = rq.req;
  auto verified = verify_webhook_signature(hook.secret.reveal(), req.header("x-redoubt-timestamp"),
                                           req.header("x-redoubt-signature"), req.body, now.count(),
                                           hook.tolerance.count());
  if (!verified) co_return co_await reject(env, rq, verified.error());
  auto event = parse_email_event(req.body);
  if (!event) co_return co_await reject(env, rq, event.error());
  const auto from = rq.origin();
  auto fresh = co_await env.ctx.admin.apply_email_event(*event, from);
  if (!fresh) co_return error_response(fresh.error());
  if (!*fresh) co_return json_response(200, json::object{{"status", "duplicate"}});
  co_return json_response(200, json::object{{"status", "accepted"}});
}

}  // namespace redoubt::api::handlers
