// Administration use cases: the user list, account changes (disable, admin rights), the audit
// log page with the chain check and the newest signed checkpoint, and the email provider's
// delivery events. Every decision is auth::policy's; every change is audited. Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "audit/checkpoints.hpp"
#include "audit/recorder.hpp"
#include "auth/account_store.hpp"
#include "auth/email_event.hpp"
#include "auth/policy.hpp"

namespace redoubt::auth {

struct audit_page {
  std::vector<audit::row> entries;  // newest first
  std::optional<std::int64_t> next_before;
  audit::chain_state chain;
  // The newest checkpoint and what its check found; nothing when none was signed yet.
  std::optional<audit::stored_checkpoint> checkpoint;
  audit::checkpoint_status checkpoint_status = audit::checkpoint_status::ok;
};

class admin {
 public:
  // trusted_keys: key id -> raw Ed25519 public key that checkpoints may be signed with.
  admin(account_store& accounts, audit::recorder& audit, std::map<std::string, std::string> trusted_keys)
      : accounts_(accounts), audit_(audit), trusted_keys_(std::move(trusted_keys)) {}

  awaitable<result<std::vector<chat::user>>> users(const actor& who);
  awaitable<result<chat::user>> update_user(const actor& who, chat::user_id target, const account_change& change,
                                            const audit::origin& from);
  // limit 1..200; before 0 = from the newest.
  awaitable<result<audit_page>> audit_log(const actor& who, std::int64_t before, int limit);

  // False when the event was seen before (nothing applied; audited as email_webhook.replayed).
  awaitable<result<bool>> apply_email_event(const email_event& event, const audit::origin& from);
  // A refused webhook call, for the record.
  awaitable<void> reject_email_event(const std::string& reason, std::size_t bytes, const audit::origin& from);

  // Called after an account was disabled (its sessions are gone), as accounts does.
  void set_session_listener(std::function<void(const chat::session_end&)> f) { on_sessions_ended_ = std::move(f); }

 private:
  account_store& accounts_;
  audit::recorder& audit_;
  std::map<std::string, std::string> trusted_keys_;
  std::function<void(const chat::session_end&)> on_sessions_ended_;
};

}  // namespace redoubt::auth
