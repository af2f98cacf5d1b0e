// Accounts and sessions: registration, login, session tokens, logout, session management.
// Password hashing runs on a bounded thread pool, never on an io_context thread.
// Session tokens are 256-bit random values; only their SHA-256 is stored.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/thread_pool.hpp>

#include "audit/recorder.hpp"
#include "auth/account_store.hpp"
#include "auth/password_policy.hpp"
#include "auth/rate_limit.hpp"
#include "base/awaitable.hpp"
#include "base/config.hpp"
#include "base/errc.hpp"
#include "base/secret.hpp"
#include "model/model.hpp"

namespace redoubt::auth {

struct new_session {
  chat::user account;
  std::int64_t session_id = 0;
  secret_string token;  // goes into the cookie, nowhere else
};

struct client_info {
  std::string ip;
  std::string user_agent;
  std::string request_id;
};

class accounts {
 public:
  accounts(account_store& store, audit::recorder& audit, const auth_settings& settings, password_policy policy);
  ~accounts();

  awaitable<result<new_session>> register_user(const std::string& username, const std::string& email,
                                               const secret_string& password, const client_info& client);
  awaitable<result<new_session>> login(const std::string& username, const secret_string& password,
                                       const client_info& client);
  // The session behind a token, or unauthenticated.
  awaitable<result<chat::session_info>> authenticate(std::string_view token);
  awaitable<result<void>> logout(const chat::session_info& session, const client_info& client);
  // Creates an admin from the CLI (bypasses the open-registration path, same policy).
  awaitable<result<chat::user>> create_admin(const std::string& username, const std::string& email,
                                             const secret_string& password);

  // Email verification and password reset with the single-use tokens the worker mailed.
  awaitable<result<void>> verify_email(std::string_view token, const client_info& client);
  // Queues a reset email when the address belongs to an account; the caller answers the same
  // either way.
  awaitable<result<void>> request_password_reset(const std::string& email, const client_info& client);
  awaitable<result<void>> reset_password(std::string_view token, const secret_string& password,
                                         const client_info& client);

  // Settings of the signed-in user. A wrong current password counts like a failed login.
  awaitable<result<void>> change_password(const chat::session_info& session, const secret_string& current,
                                          const secret_string& next, bool end_other_sessions,
                                          const client_info& client);
  awaitable<result<chat::user>> set_display_name(const chat::session_info& session, const std::string& name,
                                                 const client_info& client);

  // The signed-in user's open sessions, and ending one of them (not_found when it is not theirs).
  awaitable<result<std::vector<chat::session_info>>> sessions(const chat::session_info& session);
  awaitable<result<void>> revoke_session(const chat::session_info& session, std::int64_t session_id,
                                         const client_info& client);
  // Of these sessions (of open connections), the ones still valid; they count as used.
  awaitable<result<std::vector<std::int64_t>>> live_sessions(const std::vector<std::int64_t>& session_ids);

  void shutdown();

  // Called after a transaction that queued a background job (wakes the outbox relay).
  void set_job_listener(std::function<void()> f) { on_job_queued_ = std::move(f); }
  // Called after sessions ended (sign-out, revocation, password change or reset), so that the
  // connections opened with them close.
  void set_session_listener(std::function<void(const chat::session_end&)> f) { on_sessions_ended_ = std::move(f); }

 private:
  awaitable<result<std::string>> hash(const secret_string& password);
  awaitable<bool> verify(const secret_string& password, std::string hash);
  awaitable<result<new_session>> open_session(const chat::user& account, const client_info& client);
  // The account budget a sign-in attempt draws from (see auth_settings), or nullptr when both
  // shares are spent; retry is set then.
  awaitable<rate_limiter*> account_budget(const std::string& username, const std::optional<chat::user_credentials>& creds,
                                          const client_info& client, std::chrono::seconds& retry);
  awaitable<error> refuse_login(const std::string& username, const client_info& client, std::chrono::seconds retry);

  account_store& store_;
  audit::recorder& audit_;
  const auth_settings& settings_;
  password_policy policy_;
  boost::asio::thread_pool hash_pool_;
  // Failed sign-ins (and wrong current passwords) only: an attempt takes a token before the
  // password check and gives it back when it succeeds.
  rate_limiter login_by_pair_;           // per (username, IP)
  rate_limiter login_by_ip_;             // per IP
  rate_limiter login_by_account_;        // per username: the share any IP may spend
  rate_limiter login_by_account_known_;  // per username: the share kept for IPs it signed in from
  rate_limiter signup_by_ip_;
  rate_limiter reset_by_ip_;
  rate_limiter reset_by_address_;        // keyed by the lowercased address
  std::function<void()> on_job_queued_;
  std::function<void(const chat::session_end&)> on_sessions_ended_;

  void sessions_ended(const chat::session_end& ended) const {
    if (on_sessions_ended_) on_sessions_ended_(ended);
  }
};

}  // namespace redoubt::auth
