#include "file_jobs.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "base/log.hpp"
#include "files/plain_reader.hpp"
#include "media/thumbnail.hpp"

namespace redoubt::worker {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr std::int64_t max_thumbnail_source_bytes = 32 << 20;

bool write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    auto w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

// Blocking halves, run on the worker's bounded pool (free coroutines: g++ 12 and lambdas).
asio::awaitable<result<std::string>> thumbnail_task(const files::file_store* store, std::string storage_name,
                                                    std::int64_t size, secret_string key, std::string content_type,
                                                    media::thumbnail_limits limits, std::int64_t id) {
  std::string encoded;
  encoded.reserve(static_cast<std::size_t>(size));
  auto collect = [&encoded](std::string_view plain) -> result<void> {
    encoded.append(plain);
    return {};
  };
  auto read = files::read_plaintext(*store, storage_name, key, collect);
  if (!read) co_return read.error();
  auto png = media::make_thumbnail(encoded, content_type, limits);
  if (!png) co_return png.error();
  co_return files::seal_blob(key, "thumbnail", id, *png);
}

asio::awaitable<result<std::string>> scan_task(const files::file_store* store, std::string storage_name,
                                               secret_string key, std::string socket_path,
                                               std::chrono::seconds timeout) {
  clamd_stream clamd(socket_path, timeout);
  auto feed = [&clamd](std::string_view plain) { return clamd.send(plain); };
  auto read = files::read_plaintext(*store, storage_name, key, feed);
  if (!read) co_return read.error();
  co_return clamd.finish();
}

struct sweep_counts {
  std::size_t erased = 0, orphans = 0, temp = 0;
};

asio::awaitable<result<void>> remove_task(const files::file_store* store, std::string name) {
  co_return store->remove_object(name);
}

asio::awaitable<std::vector<files::stored_object>> list_task(const files::file_store* store) {
  co_return store->list_objects();
}

asio::awaitable<std::size_t> sweep_temp_task(const files::file_store* store, std::int64_t age) {
  co_return store->sweep_temp(age);
}

}  // namespace

clamd_stream::clamd_stream(const std::string& socket_path, std::chrono::seconds timeout) {
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (fd_ < 0 || socket_path.size() >= sizeof addr.sun_path) {
    error_ = "cannot create a socket for clamd";
    return;
  }
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  timeval tv{static_cast<time_t>(timeout.count()), 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    error_ = std::string("cannot connect to clamd: ") + std::strerror(errno);
    return;
  }
  static constexpr char command[] = "zINSTREAM";
  if (!write_all(fd_, command, sizeof command)) error_ = "clamd did not take the command";  // with its NUL
}

clamd_stream::~clamd_stream() {
  if (fd_ >= 0) ::close(fd_);
}

result<void> clamd_stream::send(std::string_view bytes) {
  if (!error_.empty()) return make_error(errc::unavailable, error_);
  while (!bytes.empty()) {
    const auto n = std::min<std::size_t>(bytes.size(), 1 << 20);
    const unsigned char len[4] = {static_cast<unsigned char>(n >> 24), static_cast<unsigned char>(n >> 16),
                                  static_cast<unsigned char>(n >> 8), static_cast<unsigned char>(n)};
    if (!write_all(fd_, reinterpret_cast<const char*>(len), 4) || !write_all(fd_, bytes.data(), n)) {
      error_ = "clamd stopped reading (StreamMaxLength?)";
      return make_error(errc::unavailable, error_);
    }
    bytes.remove_prefix(n);
  }
  return {};
}

result<std::string> clamd_stream::finish() {
  if (!error_.empty()) return make_error(errc::unavailable, error_);
  static constexpr char end[4] = {0, 0, 0, 0};
  if (!write_all(fd_, end, 4)) return make_error(errc::unavailable, "clamd went away");
  std::string reply;
  char buf[256];
  while (reply.size() < 4096 && reply.find('\0') == std::string::npos) {
    auto n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    reply.append(buf, static_cast<std::size_t>(n));
  }
  if (auto z = reply.find('\0'); z != std::string::npos) reply.resize(z);
  // "stream: OK" | "stream: <signature> FOUND" | "... ERROR"
  constexpr std::string_view prefix = "stream: ", found = " FOUND";
  if (reply == "stream: OK") return std::string();
  if (reply.rfind(prefix, 0) == 0 && reply.size() > prefix.size() + found.size() &&
      reply.compare(reply.size() - found.size(), found.size(), found) == 0)
    return reply.substr(prefix.size(), reply.size() - prefix.size() - found.size());
  return make_error(errc::unavailable, "clamd answered: " + reply.substr(0, 200));
}

file_jobs::file_jobs(const worker_settings& s, storage::worker_repository& repo, asio::thread_pool& blocking,
                     files::file_store store, files::key_ring ring)
    : s_(s), repo_(repo), blocking_(blocking), store_(std::move(store)), ring_(std::move(ring)) {}

result<secret_string> file_jobs::data_key(const storage::worker_repository::attachment_job_row& row) {
  std::lock_guard lock(ring_mutex_);
  if (!ring_.find(row.key_id)) {  // rotated since start: read the key file again
    if (auto fresh = files::key_ring::load(s_.files_master_key_file)) ring_ = std::move(*fresh);
  }
  return files::unwrap_data_key(ring_, row.key_id, row.wrapped_key, row.id);
}

asio::awaitable<file_job_result> file_jobs::thumbnail(std::int64_t id, std::string correlation_id) {
  auto row = co_await repo_.attachment_for_job(id);
  if (!row) co_return row.error();
  if (!*row) co_return false;  // erased meanwhile
  const auto& a = **row;
  // GIFs keep their animation: the client shows the original.
  if (a.content_type != "image/png" && a.content_type != "image/jpeg" && a.content_type != "image/webp")
    co_return false;
  if (a.size > max_thumbnail_source_bytes) co_return false;
  auto key = data_key(a);
  if (!key) co_return key.error();
  const media::thumbnail_limits limits{s_.thumbnail_max_pixels, s_.thumbnail_size};
  auto sealed = co_await asio::co_spawn(
      blocking_, thumbnail_task(&store_, a.storage_name, a.size, *key, a.content_type, limits, a.id),
      asio::use_awaitable);
  if (!sealed) {
    if (sealed.error().code == errc::resource_exhausted || sealed.error().code == errc::invalid_argument) {
      // A decompression bomb or a file that only looks like an image: no thumbnail, on record.
      json::object details{{"reason", sealed.error().message}};
      const storage::audit_entry entry{std::nullopt, "attachment.thumbnail_refused", "attachment:" + std::to_string(id),
                                       "", correlation_id, "refused", json::serialize(details)};
      co_await repo_.audit(entry);
      log::warn("thumbnail_refused", {{"attachment_id", id}, {"reason", sealed.error().message}});
      co_return false;
    }
    co_return sealed.error();
  }
  auto stored = co_await repo_.store_thumbnail(id, *sealed);
  if (!stored) co_return stored.error();
  co_return true;
}

asio::awaitable<file_job_result> file_jobs::scan(std::int64_t id, std::string correlation_id) {
  auto row = co_await repo_.attachment_for_job(id);
  if (!row) co_return row.error();
  if (!*row || (*row)->state != "scanning") co_return false;
  if (s_.clamd_socket.empty())
    co_return make_error(errc::unavailable, "a scan was asked for but files.clamd_socket is not set");
  const auto& a = **row;
  auto key = data_key(a);
  if (!key) co_return key.error();
  auto verdict = co_await asio::co_spawn(blocking_, scan_task(&store_, a.storage_name, *key, s_.clamd_socket,
                                                              s_.clamd_timeout),
                                         asio::use_awaitable);
  if (!verdict) co_return verdict.error();
  const bool infected = !verdict->empty();
  auto changed = co_await repo_.set_scan_result(id, infected ? "rejected" : "ready");
  if (!changed) co_return changed.error();
  json::object details{{"signature", *verdict}};
  const storage::audit_entry entry{std::nullopt, infected ? "attachment.malware_found" : "attachment.scanned",
                                   "attachment:" + std::to_string(id), "", correlation_id,
                                   infected ? "rejected" : "ok", json::serialize(details)};
  co_await repo_.audit(entry);
  log::info("attachment_scanned", {{"attachment_id", id}, {"infected", infected}, {"signature", *verdict}});
  co_return *changed;
}

asio::awaitable<file_job_result> file_jobs::maintenance(std::string job_id, std::string correlation_id) {
  sweep_counts n;
  // 1. Rows nobody can reach: the database forgets them first, then their files go.
  auto gone = co_await repo_.attachments_gc(s_.unattached_ttl.count());
  if (!gone) co_return gone.error();
  for (const auto& name : *gone) {
    auto ok = co_await asio::co_spawn(blocking_, remove_task(&store_, name), asio::use_awaitable);
    if (ok) ++n.erased;
  }
  // 2. Files without a row (a crash between the file and its COMMIT), once old enough that no
  //    upload can still be committing them.
  auto objects = co_await asio::co_spawn(blocking_, list_task(&store_), asio::use_awaitable);
  for (const auto& obj : objects) {
    if (obj.age_seconds < s_.orphan_grace.count()) continue;
    auto exists = co_await repo_.attachment_exists(obj.storage_name);
    if (!exists) co_return exists.error();
    if (*exists) continue;
    auto ok = co_await asio::co_spawn(blocking_, remove_task(&store_, obj.storage_name), asio::use_awaitable);
    if (ok) {
      ++n.orphans;
      log::warn("orphan_removed", {{"storage_name", obj.storage_name}, {"bytes", obj.size}});
    }
  }
  // 3. Uploads in progress that a crash left in tmp/.
  n.temp = co_await asio::co_spawn(blocking_, sweep_temp_task(&store_, s_.orphan_grace.count()), asio::use_awaitable);
  json::object details{{"erased", n.erased}, {"orphans", n.orphans}, {"temp", n.temp}};
  const storage::audit_entry entry{std::nullopt, "files.maintenance", "job:" + job_id, "", correlation_id, "ok",
                                   json::serialize(details)};
  co_await repo_.audit(entry);
  log::info("files_maintenance", {{"erased", n.erased}, {"orphans", n.orphans}, {"temp", n.temp}});
  co_return n.erased + n.orphans + n.temp > 0;
}

}  // namespace redoubt::worker
