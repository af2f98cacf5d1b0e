#include "audit/checkpoints.hpp"

#include "base/enum_names.hpp"
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
  static constexpr std::array<std::string_view, 5> sentences{
      "",
      "signed by a key that is not trusted here",
      "the signature does not verify (forged or altered checkpoint)",
      "that row is gone (the log was cut short or rows were deleted)",
      "that row no longer has the signed hash (the chain was rewritten)",
  };
  static_assert(sentences.size() == static_cast<std::size_t>(checkpoint_status::row_changed) + 1);
  return enum_name(s, sentences, "unknown");
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
