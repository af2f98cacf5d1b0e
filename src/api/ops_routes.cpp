// Health, readiness and the Prometheus metrics of the server.
#include <boost/json.hpp>

#include "api/errors.hpp"
#include "api/handlers.hpp"
#include "queue/outbox_relay.hpp"

namespace redoubt::api::handlers {
namespace json = boost::json;

namespace {

std::string render_metrics(const app_context& ctx) {
  std::string out;
  const auto& m = ctx.stats;
  append_metric(out, "redoubt_connections_total", "counter", "Accepted TCP connections.", m.connections_total.load());
  append_metric(out, "redoubt_connections_open", "gauge", "Open connections.", m.connections_open.load());
  append_metric(out, "redoubt_ws_open", "gauge", "Open WebSocket sessions.", m.ws_open.load());
  append_metric(out, "redoubt_ws_frames_in_total", "counter", "WebSocket frames received.", m.ws_frames_in.load());
  append_metric(out, "redoubt_ws_frames_out_total", "counter", "WebSocket frames queued for sending.", m.ws_frames_out.load());
  append_metric(out, "redoubt_ws_slow_consumer_closes_total", "counter", "Connections closed for not reading.",
                m.ws_slow_consumer_closes.load());
  append_metric(out, "redoubt_tls_handshake_failures_total", "counter", "Failed TLS handshakes.", m.tls_handshake_failures.load());
  out += "# HELP redoubt_http_requests_total HTTP requests by status class.\n# TYPE redoubt_http_requests_total counter\n";
  for (std::size_t i = 1; i < m.requests_by_class.size(); ++i) {
    auto label = "class=\"" + std::to_string(i) + "xx\"";
    append_metric(out, "redoubt_http_requests_total", "counter", "", m.requests_by_class[i].load(), label.c_str());
  }
  append_metric(out, "redoubt_http_request_duration_seconds_sum", "counter", "Total request handling time.",
                m.request_latency_us_sum.load() / 1e6);
  append_metric(out, "redoubt_http_request_duration_seconds_count", "counter", "Requests timed.", m.request_count.load());
  append_metric(out, "redoubt_messages_acked_total", "counter", "Messages acknowledged after commit.", m.messages_acked.load());
  append_metric(out, "redoubt_ack_latency_seconds_sum", "counter", "Total send-to-ack time.", m.ack_latency_us_sum.load() / 1e6);
  append_metric(out, "redoubt_rate_limited_total", "counter", "Requests refused by rate limits.", m.rate_limited.load());
  append_metric(out, "redoubt_blocked_connections_total", "counter", "Connections refused by the IP blocklist.",
                m.blocked_connections.load());
  auto ws = ctx.writer.stats();
  append_metric(out, "redoubt_commit_batches_total", "counter", "Group-commit transactions.", ws.batches);
  append_metric(out, "redoubt_commit_batch_messages_total", "counter", "Messages written by group commits.", ws.messages);
  append_metric(out, "redoubt_commit_failures_total", "counter", "Failed group commits.", ws.failures);
  append_metric(out, "redoubt_commit_queue_length", "gauge", "Messages waiting for a group commit.", ws.queued);
  append_metric(out, "redoubt_attachment_uploads_total", "counter", "Attachments stored.", m.uploads_stored.load());
  append_metric(out, "redoubt_attachment_uploads_refused_total", "counter",
                "Uploads refused or broken before they were stored (size, quota, disk, rate, stall, client gone).",
                m.uploads_refused.load());
  append_metric(out, "redoubt_attachment_upload_bytes_total", "counter", "Bytes of stored attachments.",
                m.upload_bytes.load());
  append_metric(out, "redoubt_attachment_downloads_total", "counter", "Attachment downloads started.", m.downloads.load());
  append_metric(out, "redoubt_attachment_download_bytes_total", "counter", "Attachment bytes sent.",
                m.download_bytes.load());
  append_metric(out, "redoubt_attachment_integrity_failures_total", "counter",
                "Stored files that failed their integrity check on read.", m.integrity_failures.load());
  if (const auto* o = ctx.outbox) {
    append_metric(out, "redoubt_outbox_published_total", "counter", "Jobs the stream acknowledged.",
                  o->published_total.load());
    append_metric(out, "redoubt_outbox_publish_failures_total", "counter",
                  "Job publishes the broker refused or did not acknowledge in time.", o->publish_failures_total.load());
    append_metric(out, "redoubt_outbox_unpublished", "gauge", "Outbox rows not yet in the stream (last count).",
                  o->unpublished.load());
    append_metric(out, "redoubt_outbox_oldest_unpublished_seconds", "gauge",
                  "Age of the oldest outbox row not yet in the stream (queue lag).", o->oldest_unpublished_seconds.load());
    append_metric(out, "redoubt_outbox_backlog_alarm", "gauge", "1 while the outbox backlog is over its alarm bounds.",
                  o->backlog_alarm.load() ? 1 : 0);
  }
  if (ctx.append_metrics) ctx.append_metrics(out);
  out += "# HELP redoubt_audit_write_failures_total Audit records that could not be written.\n"
         "# TYPE redoubt_audit_write_failures_total counter\n";
  out += "redoubt_audit_write_failures_total " + std::to_string(ctx.audit.failures()) + "\n";
  return out;
}

}  // namespace

awaitable<http_response> healthz(route_env&, request_scope&) {
  co_return json_response(200, json::object{{"status", "ok"}});
}

awaitable<http_response> readyz(route_env& env, request_scope&) {
  if (env.ctx.ready) {
    auto ok = co_await env.ctx.ready();
    if (!ok) co_return error_response(errc::unavailable, "database unavailable");
  }
  co_return json_response(200, json::object{{"status", "ready"}});
}

awaitable<http_response> metrics(route_env& env, request_scope&) {
  http_response r;
  r.content_type = "text/plain; version=0.0.4";
  r.body = render_metrics(env.ctx);
  co_return r;
}

}  // namespace redoubt::api::handlers
