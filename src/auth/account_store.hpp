// Accounts, sessions, mailed single-use tokens and email delivery state: the port the
// account use cases depend on. Implemented in storage/ (account_repository). Only hashes of
// tokens and passwords cross it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/awaitable.hpp"
#include "base/errc.hpp"
#include "model/model.hpp"

namespace redoubt::auth {

struct token_owner {
  chat::user_id id = 0;
  std::string username;
};

// What an administrator may change on an account; unset fields stay as they are.
struct account_change {
  std::optional<bool> disabled;
  std::optional<bool> is_admin;
};

// A sign-up: the account, its first session and what goes into the audit log with them.
struct sign_up {
  std::string username;
  std::string email;
  std::string password_hash;
  std::string session_token_hash;
  std::int64_t session_seconds = 0;
  std::string user_agent;  // valid UTF-8, at most 256 bytes
  std::string ip;
  std::string request_id;  // correlation of the verification email and the audit row
};

struct signed_up {
  chat::user account;
  std::int64_t session_id = 0;
};

class account_store {
 public:
  virtual ~account_store() = default;

  // The first account of an installation becomes admin (or every one with force_admin). A
  // non-empty verification_correlation also queues the verification email, atomically.
  virtual awaitable<result<chat::user>> create_user(const std::string& username, const std::string& email,
                                                    const std::string& password_hash, bool force_admin,
                                                    const std::string& verification_correlation) = 0;
  // One transaction: the user (the first of an installation becomes admin), the verification
  // email job, the first session and the "user.register" audit row; all of them or nothing.
  // already_exists only for a taken username: an address already in use is accepted the same
  // way, and its owner gets a signup_existing_email job instead of the new account a link.
  virtual awaitable<result<signed_up>> register_account(const sign_up& s) = 0;
  // Queues a job {user_id} for the enabled account with this address (the verified one, else the
  // oldest); false when there is none.
  virtual awaitable<result<bool>> enqueue_job_for_email(const std::string& kind, const std::string& email,
                                                        const std::string& correlation_id) = 0;
  // The owner of a live token: unused, unexpired, and the user's newest of that purpose (a newer
  // link replaces older ones).
  virtual awaitable<result<std::optional<token_owner>>> email_token_owner(const std::string& purpose,
                                                                         const std::string& token_hash) = 0;
  virtual awaitable<result<std::optional<chat::user_id>>> consume_verification_token(
      const std::string& token_hash) = 0;
  // Spends the token, sets the password and ends every session of the user, in one statement.
  virtual awaitable<result<std::optional<chat::user_id>>> consume_reset_token(const std::string& token_hash,
                                                                              const std::string& password_hash) = 0;

  virtual awaitable<result<std::optional<chat::user_credentials>>> find_credentials(const std::string& username) = 0;
  virtual awaitable<result<std::optional<chat::user>>> find_user_by_id(chat::user_id id) = 0;
  // Whether the user ever had a session from this IP (kept until retention removes it).
  virtual awaitable<result<bool>> signed_in_from(chat::user_id id, const std::string& ip) = 0;
  virtual awaitable<result<void>> update_password_hash(chat::user_id id, const std::string& hash) = 0;
  // A new password hash; when keep_only_session is set every other session of the user ends.
  virtual awaitable<result<void>> change_password(chat::user_id id, const std::string& hash,
                                                  std::optional<std::int64_t> keep_only_session) = 0;
  virtual awaitable<result<std::optional<chat::user>>> set_display_name(chat::user_id id,
                                                                        const std::string& name) = 0;

  virtual awaitable<result<std::int64_t>> create_session(chat::user_id user, const std::string& token_hash,
                                                         std::int64_t absolute_seconds, const std::string& user_agent,
                                                         const std::string& ip) = 0;
  virtual awaitable<result<std::optional<chat::session_info>>> find_session(const std::string& token_hash,
                                                                            std::int64_t idle_seconds) = 0;
  virtual awaitable<result<std::vector<chat::session_info>>> list_sessions(chat::user_id user) = 0;
  virtual awaitable<result<bool>> revoke_session(chat::user_id user, std::int64_t session_id) = 0;
  // Of these sessions, the ones still valid (not revoked, expired, idle or of a disabled
  // account); those are marked used.
  virtual awaitable<result<std::vector<std::int64_t>>> live_sessions(const std::vector<std::int64_t>& session_ids,
                                                                    std::int64_t idle_seconds) = 0;

  // Administration.
  virtual awaitable<result<std::vector<chat::user>>> list_users(int limit) = 0;
  // nullopt: no such user. Disabling ends the user's sessions in the same statement.
  virtual awaitable<result<std::optional<chat::user>>> update_account(chat::user_id id,
                                                                      const account_change& change) = 0;

  // Email provider webhook: false when the event id was seen before.
  virtual awaitable<result<bool>> record_webhook_event(const std::string& event_id) = 0;
  virtual awaitable<result<void>> apply_email_event(const std::string& type, const std::string& recipient,
                                                    const std::string& provider_message_id) = 0;
};

}  // namespace redoubt::auth
