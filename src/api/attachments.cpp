#include "api/attachments.hpp"

#include <charconv>
#include <cstdlib>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <boost/url/pct_string_view.hpp>

#include "api/errors.hpp"
#include "base/log.hpp"
#include "chat/service.hpp"
#include "files/attachment_store.hpp"
#include "files/content_type.hpp"
#include "proto/json_util.hpp"

namespace redoubt::api {
namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;

namespace {

constexpr std::size_t upload_buffer_bytes = 256 * 1024;

http_response json_response(int status, std::string body) {
  http_response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

stream_outcome answer(http_response r, bool close = false) { return stream_outcome{std::move(r), close}; }

std::optional<std::string> query_param(std::string_view query, std::string_view key) {
  std::size_t i = 0;
  while (i <= query.size()) {
    auto j = query.find('&', i);
    if (j == std::string_view::npos) j = query.size();
    auto pair = query.substr(i, j - i);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) == key) return std::string(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    i = j + 1;
  }
  return std::nullopt;
}

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

files::file_row file_row_of(const chat::attachment_row& a) {
  files::file_row f;
  f.record = {a.id, a.storage_name, a.sha256, a.size, a.uploader, a.room, a.created_us};
  f.key_id = a.key_id;
  f.wrapped_key = a.wrapped_key;
  f.signature = a.signature;
  f.sealed_thumbnail = a.sealed_thumbnail;
  return f;
}

auth::room_facts room_facts_of(const chat::attachment_row& a) { return {a.room_kind, a.viewer_role}; }
auth::attachment_facts file_facts_of(const chat::attachment_row& a) {
  return {a.uploader, a.message_id.has_value(), a.message_deleted};
}

std::string quoted_etag(std::string_view sha) { return "\"" + std::string(sha) + "\""; }

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  if (if_none_match == "*") return true;
  std::size_t i = 0;
  while (i < if_none_match.size()) {
    auto j = if_none_match.find(',', i);
    if (j == std::string_view::npos) j = if_none_match.size();
    auto tag = if_none_match.substr(i, j - i);
    while (!tag.empty() && tag.front() == ' ') tag.remove_prefix(1);
    while (!tag.empty() && tag.back() == ' ') tag.remove_suffix(1);
    if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
    if (tag == etag) return true;
    i = j + 1;
  }
  return false;
}

void add_cache_headers(http_response& r, std::string_view sha) {
  r.headers.emplace_back("ETag", quoted_etag(sha));
  // Authenticated content: browsers may keep it, shared caches may not. A file never changes.
  r.headers.emplace_back("Cache-Control", "private, max-age=31536000, immutable");
}

awaitable<void> audit(audit::recorder& recorder, const http_request& req, std::optional<std::int64_t> actor,
                      std::string action, std::int64_t id, std::string outcome, std::string details) {
  const audit::entry entry{actor, std::move(action), audit::target("attachment", id), req.remote_ip,
                           req.request_id, std::move(outcome), std::move(details)};
  co_await recorder.record(entry);  // a failure is logged and counted there
}

awaitable<void> pause_for(std::chrono::microseconds d) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(d);
  co_await timer.async_wait(asio::use_awaitable);
}

// Refusals before the body was read: the client is still sending it, so the connection closes.
stream_outcome refuse(const error& e, int status_override = 0) {
  auto r = error_response(e);
  if (status_override) r.status = status_override;
  return answer(std::move(r), true);
}

}  // namespace

attachment_endpoints::attachment_endpoints(const settings& config, files::attachment_store* store,
                                           chat::attachment_catalog& rows, audit::recorder& audit,
                                           chat::service& chat, metrics& stats)
    : config_(config),
      store_(store),
      rows_(rows),
      audit_(audit),
      chat_(chat),
      stats_(stats),
      upload_bytes_(static_cast<double>(config.files.upload_bytes_per_second),
                    static_cast<double>(config.files.upload_bytes_per_second)),
      download_bytes_(static_cast<double>(config.files.download_bytes_per_second),
                      static_cast<double>(config.files.download_bytes_per_second)) {}

awaitable<stream_outcome> attachment_endpoints::upload(const http_request& req, const auth::actor& who,
                                                       std::int64_t room, body_source& body) {
  auto out = co_await store_upload(req, who, room, body);
  if (out.response && out.response->status == 201)
    stats_.uploads_stored.fetch_add(1, std::memory_order_relaxed);
  else
    stats_.uploads_refused.fetch_add(1, std::memory_order_relaxed);
  co_return out;
}

awaitable<stream_outcome> attachment_endpoints::store_upload(const http_request& req, const auth::actor& who,
                                                             std::int64_t room, body_source& body) {
  const auto& limits = config_.files;
  if (!store_) co_return refuse(make_error(errc::not_found, "attachments are not enabled"));
  // A cross-site form cannot send this content type without a CORS preflight we never grant.
  if (req.header("content-type") != "application/octet-stream")
    co_return refuse(make_error(errc::invalid_argument, "Content-Type must be application/octet-stream"));
  auto raw_name = query_param(req.query, "filename");
  if (!raw_name) co_return refuse(make_error(errc::invalid_argument, "the filename query parameter is required"));
  auto pct = boost::urls::make_pct_string_view(*raw_name);
  if (!pct) co_return refuse(make_error(errc::invalid_argument, "bad filename encoding"));
  auto filename = files::sanitize_filename(pct->decode());
  if (!filename) co_return refuse(filename.error());
  auto declared = body.content_length();
  if (!declared) co_return refuse(make_error(errc::invalid_argument, "Content-Length is required"), 411);
  if (*declared > limits.max_file_bytes)
    co_return refuse(make_error(errc::payload_too_large,
                                "file larger than " + std::to_string(limits.max_file_bytes) + " bytes"));
  auto facts = co_await chat_.facts(room, who.id);
  if (!facts) co_return refuse(facts.error());
  if (auto ok = auth::authorize(who, auth::action::post, *facts); !ok) co_return refuse(ok.error());
  auto usage = co_await rows_.usage_and_quota(who.id, static_cast<std::int64_t>(limits.default_quota_bytes));
  if (!usage) co_return refuse(usage.error());
  if (usage->first + static_cast<std::int64_t>(*declared) > usage->second)
    co_return refuse(make_error(errc::quota_exceeded, "storage quota exceeded"));
  auto free = co_await store_->free_bytes();
  if (!free || *free < files::sealed_size(*declared) + limits.min_free_disk_bytes)
    co_return refuse(make_error(errc::quota_exceeded, "the server's storage is full"));
  auto id = co_await rows_.reserve_id();
  if (!id) co_return refuse(id.error());
  auto up = co_await store_->begin_upload(*id);
  if (!up) co_return refuse(up.error());

  // Stream the body: sealed and written as it comes, paced per user, refused if it drips.
  std::string buffer(upload_buffer_bytes, '\0');
  const auto started = std::chrono::steady_clock::now();
  const auto rate_key = std::to_string(who.id);
  for (;;) {
    auto n = co_await body.read_some(buffer.data(), buffer.size(), limits.upload_stall_timeout);
    if (!n) {
      if (n.error().code == errc::deadline_exceeded)
        co_return refuse(make_error(errc::deadline_exceeded, "upload stalled"), 408);
      co_return stream_outcome{std::nullopt, true};  // the client went away: nothing to answer
    }
    if (*n == 0) break;
    if (auto ok = co_await (*up)->write(std::string_view(buffer.data(), *n)); !ok) co_return refuse(ok.error());
    const auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (elapsed > static_cast<double>(limits.upload_grace.count()) &&
        static_cast<double>((*up)->bytes_received()) < elapsed * static_cast<double>(limits.min_upload_bytes_per_second))
      co_return refuse(make_error(errc::deadline_exceeded, "upload too slow"), 408);
    auto wait = upload_bytes_.take(rate_key, static_cast<double>(*n));
    if (wait.count() > 0) co_await pause_for(wait);
  }
  if ((*up)->bytes_received() != *declared)
    co_return refuse(make_error(errc::invalid_argument, "body shorter than Content-Length"));

  const auto created = now_us();
  auto stored = co_await (*up)->finish(who.id, room, created);
  if (!stored) co_return answer(error_response(stored.error()));
#ifdef REDOUBT_FAULT_INJECTION
  // Fault injection for the crash-consistency test: die between the durable file and its row.
  // Compiled only with -DREDOUBT_FAULT_INJECTION=ON (test builds); a release binary has no
  // such switch (ctest release_binary_has_no_fault_injection).
  if (const char* fault = std::getenv("REDOUBT_FAULT_CRASH_BEFORE_ATTACHMENT_COMMIT"); fault && *fault == '1')
    std::_Exit(70);
#endif
  chat::new_attachment row;
  row.id = *id;
  row.room = room;
  row.uploader = who.id;
  row.storage_name = stored->storage_name;
  row.filename = *filename;
  row.content_type = stored->content_type;
  row.size = static_cast<std::int64_t>(stored->size);
  row.sha256 = stored->sha256_hex;
  row.created_us = created;
  row.key_id = stored->key_id;
  row.wrapped_key = stored->wrapped_key;
  row.signature = stored->signature;
  row.scan = limits.scan;
  row.thumbnail = files::is_inline_image(stored->content_type);
  row.default_quota = static_cast<std::int64_t>(limits.default_quota_bytes);
  row.correlation_id = req.request_id;
  auto inserted = co_await rows_.insert(row);
  if (!inserted || inserted->first != chat::insert_status::ok) {
    // The row is what makes a file exist: without it the file goes.
    co_await (*up)->discard_stored();
    if (!inserted) co_return answer(error_response(inserted.error()));
    if (inserted->first == chat::insert_status::over_quota)
      co_return answer(error_response(errc::quota_exceeded, "storage quota exceeded"));
    co_return answer(error_response(errc::not_found, "room not found"));
  }
  stats_.upload_bytes.fetch_add(static_cast<std::uint64_t>(row.size), std::memory_order_relaxed);
  json::object details{{"room", room}, {"size", row.size}, {"content_type", row.content_type}};
  co_await audit(audit_, req, who.id, "attachment.upload", *id, "ok", json::serialize(details));
  log::info("attachment_stored", {{"id", *id}, {"size", row.size}, {"request_id", req.request_id}});
  co_return answer(json_response(201, "{\"attachment\":" + inserted->second + "}"));
}

awaitable<result<chat::attachment_row>> attachment_endpoints::find_row(std::int64_t id,
                                                                       const auth::actor& who,
                                                                       bool with_thumbnail) {
  if (!store_) co_return make_error(errc::not_found, "attachment not found");
  auto row = co_await rows_.load(id, who.id, with_thumbnail);
  if (!row) co_return row.error();
  if (!*row) co_return make_error(errc::not_found, "attachment not found");
  co_return std::move(**row);
}

awaitable<stream_outcome> attachment_endpoints::download(const http_request& req, const auth::actor& who,
                                                         std::int64_t id, body_sink& sink) {
  auto row = co_await find_row(id, who, false);
  if (!row) co_return answer(error_response(row.error()));
  const auto& a = *row;
  if (auto ok = auth::authorize_attachment_read(who, room_facts_of(a), file_facts_of(a)); !ok)
    co_return answer(error_response(ok.error()));
  if (a.state == "scanning") co_return answer(error_response(errc::conflict, "the file is still being scanned"));
  if (a.state != "ready") co_return answer(error_response(errc::not_found, "attachment not found"));

  const auto size = static_cast<std::uint64_t>(a.size);
  const auto etag = quoted_etag(a.sha256);
  if (auto inm = req.header("if-none-match"); !inm.empty() && etag_matches(inm, etag)) {
    http_response r;
    r.status = 304;
    r.content_type.clear();
    add_cache_headers(r, a.sha256);
    co_return answer(std::move(r));
  }
  std::uint64_t first = 0, end = size;
  bool partial = false;
  if (auto h = req.header("range"); !h.empty()) {
    if (auto range = files::parse_byte_range(h, size)) {
      if (range->first == size && range->second == size) {
        auto r = error_response(errc::invalid_argument, "range not satisfiable");
        r.status = 416;
        r.headers.emplace_back("Content-Range", "bytes */" + std::to_string(size));
        co_return answer(std::move(r));
      }
      first = range->first;
      end = range->second;
      partial = true;
    }
  }

  auto reader = co_await store_->open_range(file_row_of(a), first, end);
  std::string piece;
  if (reader) {
    auto p = co_await (*reader)->next();  // the first piece is checked before any header goes out
    if (p) piece = std::move(*p);
    else reader = result<std::unique_ptr<files::attachment_store::reader>>(p.error());
  }
  if (!reader) {
    stats_.integrity_failures.fetch_add(1, std::memory_order_relaxed);
    json::object details{{"reason", reader.error().message}};
    co_await audit(audit_, req, who.id, "attachment.integrity_failed", id, "failed", json::serialize(details));
    log::error("attachment_integrity_failed", {{"id", id}, {"reason", reader.error().message},
                                              {"request_id", req.request_id}});
    co_return answer(error_response(errc::internal, "stored file failed its integrity check"));
  }

  http_response head;
  head.status = partial ? 206 : 200;
  head.content_type = a.content_type;
  const bool as_inline = files::is_inline_image(a.content_type) && !query_param(req.query, "download");
  head.headers.emplace_back("Content-Disposition", files::content_disposition(as_inline, a.filename));
  head.headers.emplace_back("Content-Security-Policy", "default-src 'none'; sandbox; frame-ancestors 'none'");
  head.headers.emplace_back("Accept-Ranges", "bytes");
  add_cache_headers(head, a.sha256);
  if (partial)
    head.headers.emplace_back("Content-Range", "bytes " + std::to_string(first) + "-" + std::to_string(end - 1) + "/" +
                                                   std::to_string(size));
  json::object details{{"bytes", end - first}, {"partial", partial}};
  co_await audit(audit_, req, who.id, "attachment.download", id, "ok", json::serialize(details));
  if (auto ok = co_await sink.start(head, end - first); !ok) co_return stream_outcome{std::nullopt, true};
  if (req.method == "HEAD") co_return stream_outcome{};
  stats_.downloads.fetch_add(1, std::memory_order_relaxed);
  const auto rate_key = std::to_string(who.id);
  while (!piece.empty()) {
    if (auto ok = co_await sink.write(piece); !ok) co_return stream_outcome{std::nullopt, true};
    stats_.download_bytes.fetch_add(piece.size(), std::memory_order_relaxed);
    auto wait = download_bytes_.take(rate_key, static_cast<double>(piece.size()));
    if (wait.count() > 0) co_await pause_for(wait);
    auto p = co_await (*reader)->next();
    if (!p) {
      stats_.integrity_failures.fetch_add(1, std::memory_order_relaxed);
      // Damage found mid-stream: the status is already sent, so cut the connection.
      json::object why{{"reason", p.error().message}};
      co_await audit(audit_, req, who.id, "attachment.integrity_failed", id, "failed", json::serialize(why));
      log::error("attachment_integrity_failed", {{"id", id}, {"reason", p.error().message}});
      co_return stream_outcome{std::nullopt, true};
    }
    piece = std::move(*p);
  }
  co_return stream_outcome{};
}

awaitable<http_response> attachment_endpoints::meta(const http_request&, const auth::actor& who, std::int64_t id) {
  auto row = co_await find_row(id, who, false);
  if (!row) co_return error_response(row.error());
  if (auto ok = auth::authorize_attachment_read(who, room_facts_of(*row), file_facts_of(*row)); !ok)
    co_return error_response(ok.error());
  co_return json_response(200, "{\"attachment\":" + row->json + "}");
}

awaitable<http_response> attachment_endpoints::thumbnail(const http_request& req, const auth::actor& who,
                                                         std::int64_t id) {
  auto row = co_await find_row(id, who, true);
  if (!row) co_return error_response(row.error());
  const auto& a = *row;
  if (auto ok = auth::authorize_attachment_read(who, room_facts_of(a), file_facts_of(a)); !ok)
    co_return error_response(ok.error());
  if (a.state != "ready" || a.sealed_thumbnail.empty()) co_return error_response(errc::not_found, "no thumbnail");
  auto png = store_->open_thumbnail(file_row_of(a));
  if (!png) {
    json::object details{{"reason", "thumbnail"}};
    co_await audit(audit_, req, who.id, "attachment.integrity_failed", id, "failed", json::serialize(details));
    co_return error_response(errc::internal, "thumbnail failed its integrity check");
  }
  http_response r;
  r.content_type = "image/png";
  r.body = std::move(*png);
  r.headers.emplace_back("Content-Disposition", "inline");
  r.headers.emplace_back("Content-Security-Policy", "default-src 'none'; sandbox; frame-ancestors 'none'");
  add_cache_headers(r, a.sha256);
  co_return r;
}

awaitable<http_response> attachment_endpoints::discard(const http_request& req, const auth::actor& who,
                                                       std::int64_t id) {
  auto row = co_await find_row(id, who, false);
  if (!row) co_return error_response(row.error());
  if (auto ok = auth::authorize_attachment_discard(who, file_facts_of(*row)); !ok)
    co_return error_response(ok.error());
  auto gone = co_await rows_.discard_unattached(id, who.id);
  if (!gone) co_return error_response(gone.error());
  if (!*gone) co_return error_response(errc::conflict, "the attachment changed meanwhile; reload it");
  co_await audit(audit_, req, who.id, "attachment.delete", id, "ok", "{}");
  http_response r;
  r.status = 204;
  r.content_type.clear();
  co_return r;
}

namespace {
json::object usage_json(const chat::storage_usage& u, std::uint64_t default_quota) {
  return json::object{{"user_id", u.user_id},
                      {"username", u.username},
                      {"bytes", u.bytes},
                      {"files", u.files},
                      {"quota_bytes", u.quota_bytes.value_or(static_cast<std::int64_t>(default_quota))}};
}
}  // namespace

awaitable<http_response> attachment_endpoints::my_storage(const auth::actor& who) {
  auto u = co_await rows_.usage_of(who.id);
  if (!u) co_return error_response(u.error());
  auto o = usage_json(*u, config_.files.default_quota_bytes);
  o.erase("user_id");
  o.erase("username");
  // Lets a client refuse a file before sending a single byte of it.
  o["max_file_bytes"] = config_.files.max_file_bytes;
  co_return json_response(200, json::serialize(o));
}

awaitable<http_response> attachment_endpoints::all_storage(const auth::actor& who) {
  if (auto ok = auth::authorize_admin(who); !ok) co_return error_response(ok.error());
  auto list = co_await rows_.usage_all();
  if (!list) co_return error_response(list.error());
  json::array users;
  for (const auto& u : *list) users.push_back(usage_json(u, config_.files.default_quota_bytes));
  co_return json_response(200, json::serialize(json::object{{"users", std::move(users)}}));
}

awaitable<http_response> attachment_endpoints::set_quota(const http_request& req, const auth::actor& who,
                                                         std::int64_t user) {
  if (auto ok = auth::authorize_admin(who); !ok) co_return error_response(ok.error());
  auto body = proto::parse_object(req.body.empty() ? std::string_view("{}") : std::string_view(req.body));
  if (!body) co_return error_response(body.error());
  if (auto ok = proto::only_fields(*body, {"quota_bytes"}); !ok) co_return error_response(ok.error());
  const auto* q = body->if_contains("quota_bytes");
  if (!q) co_return error_response(errc::invalid_argument, "quota_bytes is required (a number of bytes, or null)");
  std::optional<std::int64_t> quota;
  if (!q->is_null()) {
    if (!q->is_int64() || q->get_int64() < 0)
      co_return error_response(errc::invalid_argument, "quota_bytes must be an integer >= 0 or null");
    quota = q->get_int64();
  }
  auto ok = co_await rows_.set_quota(user, quota);
  if (!ok) co_return error_response(ok.error());
  if (!*ok) co_return error_response(errc::not_found, "user not found");
  json::object details{{"quota_bytes", quota ? json::value(*quota) : json::value(nullptr)}};
  const audit::origin from{req.remote_ip, req.request_id};
  co_await audit_.record(who.id, "user.set_quota", audit::target("user", user), from, json::serialize(details));
  json::object out{{"user_id", user},
                   {"quota_bytes", quota.value_or(static_cast<std::int64_t>(config_.files.default_quota_bytes))}};
  co_return json_response(200, json::serialize(out));
}

}  // namespace redoubt::api
