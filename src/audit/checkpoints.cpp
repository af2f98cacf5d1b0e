#include "storage/audit_checkpoints.hpp"

#include <atomic>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/log.hpp"
#include "crypto/crypto.hpp"

namespace redoubt::storage {
namespace asio = boost::asio;

std::string audit_checkpoint_message(std::int64_t audit_id, std::string_view audit_hash,
                                     std::string_view signed_at) {
  std::string m = "redoubt-audit-checkpoint-v1|";
  m += std::to_string(audit_id);
  m += '|';
  m += audit_hash;
  m += '|';
  m += signed_at;
  return m;
}

asio::awaitable<result<std::optional<audit_head>>> checkpoint_audit_log(
    repository& repo, const secret_string& secret_key, std::string_view public_key) {
  auto head = co_await repo.audit_log_head();
  if (!head) co_return head.error();
  if (!*head) co_return std::optional<audit_head>{};
  const auto& h = **head;
  // Ed25519 signing takes microseconds: fine on an I/O thread.
  auto signature = crypto::to_hex(crypto::sign_detached(
      secret_key, audit_checkpoint_message(h.audit_id, h.audit_hash, h.signed_at)));
  auto added = co_await repo.add_audit_checkpoint(h, crypto::signing_key_id(public_key), signature);
  if (!added) co_return added.error();
  if (!*added) co_return std::optional<audit_head>{};
  co_return *head;
}

struct audit_checkpointer::impl {
  impl(asio::any_io_executor ex, repository& r, secret_string sk, std::string pk,
       std::chrono::seconds every)
      : strand(asio::make_strand(ex)),
        timer(strand),
        repo(r),
        secret_key(std::move(sk)),
        public_key(std::move(pk)),
        interval(every) {}

  asio::strand<asio::any_io_executor> strand;
  asio::steady_timer timer;
  repository& repo;
  secret_string secret_key;
  std::string public_key;
  std::chrono::seconds interval;
  std::atomic<bool> stopped{false};
};

namespace {

asio::awaitable<void> checkpoint_loop(std::shared_ptr<audit_checkpointer::impl> self) {
  while (!self->stopped.load()) {
    auto made = co_await checkpoint_audit_log(self->repo, self->secret_key, self->public_key);
    if (!made) {
      log::warn("audit_checkpoint_failed", {{"error", made.error().message}});
    } else if (*made) {
      // Also in the server log, so that a copy of the signed head lives outside the database.
      log::info("audit_checkpoint", {{"audit_id", (*made)->audit_id},
                                     {"audit_hash", (*made)->audit_hash},
                                     {"signed_at", (*made)->signed_at}});
    }
    self->timer.expires_after(self->interval);
    co_await self->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace

audit_checkpointer::audit_checkpointer(asio::any_io_executor ex, repository& repo,
                                       secret_string secret_key, std::string public_key,
                                       std::chrono::seconds interval)
    : impl_(std::make_shared<impl>(std::move(ex), repo, std::move(secret_key),
                                   std::move(public_key), interval)) {}

audit_checkpointer::~audit_checkpointer() {
  stop();
}

void audit_checkpointer::start() {
  asio::co_spawn(impl_->strand, checkpoint_loop(impl_), asio::detached);
}

void audit_checkpointer::stop() {
  if (impl_->stopped.exchange(true)) return;
  asio::post(impl_->strand, [self = impl_] { self->timer.cancel(); });
}

checkpoint_status check_checkpoint(const stored_checkpoint& c,
                                   const std::map<std::string, std::string>& trusted) {
  auto key = trusted.find(c.key_id);
  if (key == trusted.end()) return checkpoint_status::unknown_key;
  auto signature = crypto::from_hex(c.signature_hex);
  if (!signature ||
      !crypto::verify_detached(
          key->second, audit_checkpoint_message(c.audit_id, c.audit_hash, c.signed_at), *signature))
    return checkpoint_status::bad_signature;
  if (!c.row_hash) return checkpoint_status::row_missing;
  if (*c.row_hash != c.audit_hash) return checkpoint_status::row_changed;
  return checkpoint_status::ok;
}

std::string_view describe(checkpoint_status s) {
  switch (s) {
    case checkpoint_status::ok:
      return "";
    case checkpoint_status::unknown_key:
      return "signed by a key that is not trusted here";
    case checkpoint_status::bad_signature:
      return "the signature does not verify (forged or altered checkpoint)";
    case checkpoint_status::row_missing:
      return "that row is gone (the log was cut short or rows were deleted)";
    case checkpoint_status::row_changed:
      return "that row no longer has the signed hash (the chain was rewritten)";
  }
  return "unknown";
}

std::string_view status_name(checkpoint_status s) {
  switch (s) {
    case checkpoint_status::ok:
      return "ok";
    case checkpoint_status::unknown_key:
      return "unknown_key";
    default:
      return "tampered";
  }
}

asio::awaitable<result<checkpoint_report>> verify_audit_checkpoints(
    db::connection& conn, const std::map<std::string, std::string>& trusted) {
  auto r = co_await conn.query(
      "SELECT c.audit_id, c.audit_hash, c.signed_at, c.key_id, c.signature, a.hash "
      "FROM audit_checkpoints c LEFT JOIN audit_log a ON a.id = c.audit_id ORDER BY c.audit_id");
  if (!r) co_return r.error();
  checkpoint_report report;
  report.checkpoints = r->size();
  for (int i = 0; i < r->size(); ++i) {
    stored_checkpoint c{r->int64(i, 0),
                        std::string(r->text(i, 1)),
                        std::string(r->text(i, 2)),
                        std::string(r->text(i, 3)),
                        std::string(r->text(i, 4)),
                        std::nullopt};
    if (!r->is_null(i, 5)) c.row_hash = std::string(r->text(i, 5));
    const auto status = check_checkpoint(c, trusted);
    if (status == checkpoint_status::unknown_key) {
      ++report.unchecked;
    } else if (status != checkpoint_status::ok) {
      report.problems.push_back("checkpoint of row " + std::to_string(c.audit_id) + " signed " +
                                c.signed_at + ": " + std::string(describe(status)));
    } else {
      ++report.verified;
      report.newest_verified_id = c.audit_id;
      report.newest_verified_at = c.signed_at;
    }
  }
  if (report.newest_verified_id) {
    const db::params newest{std::to_string(*report.newest_verified_id)};
    auto after = co_await conn.query("SELECT count(*) FROM audit_log WHERE id > $1", newest);
    if (!after) co_return after.error();
    report.rows_after_newest = after->int64(0, 0);
  }
  co_return report;
}

}  // namespace redoubt::storage
