#include "audit/checkpoints.hpp"

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

namespace redoubt::audit {
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

asio::awaitable<result<std::optional<head>>> checkpoint_audit_log(
    log_store& store, const secret_string& secret_key, std::string_view public_key) {
  auto newest = co_await store.newest_head();
  if (!newest) co_return newest.error();
  if (!*newest) co_return std::optional<head>{};
  const auto& h = **newest;
  // Ed25519 signing takes microseconds: fine on an I/O thread.
  auto signature = crypto::to_hex(crypto::sign_detached(
      secret_key, audit_checkpoint_message(h.audit_id, h.audit_hash, h.signed_at)));
  auto added = co_await store.add_checkpoint(h, crypto::signing_key_id(public_key), signature);
  if (!added) co_return added.error();
  if (!*added) co_return std::optional<head>{};
  co_return *newest;
}

struct audit_checkpointer::impl {
  impl(asio::any_io_executor ex, log_store& s, secret_string sk, std::string pk,
       std::chrono::seconds every)
      : strand(asio::make_strand(ex)),
        timer(strand),
        store(s),
        secret_key(std::move(sk)),
        public_key(std::move(pk)),
        interval(every) {}

  asio::strand<asio::any_io_executor> strand;
  asio::steady_timer timer;
  log_store& store;
  secret_string secret_key;
  std::string public_key;
  std::chrono::seconds interval;
  std::atomic<bool> stopped{false};
};

namespace {

asio::awaitable<void> checkpoint_loop(std::shared_ptr<audit_checkpointer::impl> self) {
  while (!self->stopped.load()) {
    auto made = co_await checkpoint_audit_log(self->store, self->secret_key, self->public_key);
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

audit_checkpointer::audit_checkpointer(asio::any_io_executor ex, log_store& store,
                                       secret_string secret_key, std::string public_key,
                                       std::chrono::seconds interval)
    : impl_(std::make_shared<impl>(std::move(ex), store, std::move(secret_key),
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

}  // namespace redoubt::audit
