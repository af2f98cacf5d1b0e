// Attachments: the routes hand over to attachment_endpoints (api/attachments.cpp), which
// streams uploads and downloads.
#include "api/errors.hpp"
#include "api/handlers.hpp"

namespace redoubt::api::handlers {

awaitable<stream_outcome> upload_attachment(route_env& env, request_scope& rq, body_source& body) {
  const auto room = rq.id("room");
  co_return co_await env.attachments.upload(rq.req, rq.who, room, body);
}

awaitable<stream_outcome> download_attachment(route_env& env, request_scope& rq, body_sink& sink) {
  const auto id = rq.id("attachment");
  co_return co_await env.attachments.download(rq.req, rq.who, id, sink);
}

awaitable<http_response> attachment_meta(route_env& env, request_scope& rq) {
  const auto id = rq.id("attachment");
  co_return co_await env.attachments.meta(rq.req, rq.who, id);
}

awaitable<http_response> attachment_thumbnail(route_env& env, request_scope& rq) {
  const auto id = rq.id("attachment");
  co_return co_await env.attachments.thumbnail(rq.req, rq.who, id);
}

awaitable<http_response> discard_attachment(route_env& env, request_scope& rq) {
  const auto id = rq.id("attachment");
  co_return co_await env.attachments.discard(rq.req, rq.who, id);
}

awaitable<http_response> my_storage(route_env& env, request_scope& rq) {
  co_return co_await env.attachments.my_storage(rq.who);
}

awaitable<http_response> all_storage(route_env& env, request_scope& rq) {
  co_return co_await env.attachments.all_storage(rq.who);
}

awaitable<http_response> set_quota(route_env& env, request_scope& rq) {
  const auto user = rq.id("user");
  co_return co_await env.attachments.set_quota(rq.req, rq.who, user);
}

}  // namespace redoubt::api::handlers
