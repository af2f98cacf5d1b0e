// auth::account_store over PostgreSQL: users, sessions, mailed tokens, email delivery state.
// Thread-safe (stateless apart from the shared pool).
#pragma once

#include <memory>

#include "auth/account_store.hpp"
#include "db/pg.hpp"

namespace redoubt::storage {

class account_repository final : public auth::account_store {
 public:
  explicit account_repository(std::shared_ptr<db::pool> pool) : pool_(std::move(pool)) {}

  awaitable<result<chat::user>> create_user(const std::string& username, const std::string& email,
                                            const std::string& password_hash, bool force_admin,
                                            const std::string& verification_correlation) override;
  awaitable<result<auth::signed_up>> register_account(const auth::sign_up& s) override;
  awaitable<result<bool>> enqueue_job_for_email(const std::string& kind, const std::string& email,
                                                const std::string& correlation_id) override;
  awaitable<result<std::optional<auth::token_owner>>> email_token_owner(
      const std::string& purpose, const std::string& token_hash) override;
  awaitable<result<std::optional<chat::user_id>>> consume_verification_token(
      const std::string& token_hash) override;
  awaitable<result<std::optional<chat::user_id>>> consume_reset_token(
      const std::string& token_hash, const std::string& password_hash) override;
  awaitable<result<std::optional<chat::user_credentials>>> find_credentials(
      const std::string& username) override;
  awaitable<result<std::optional<chat::user>>> find_user_by_id(chat::user_id id) override;
  awaitable<result<bool>> signed_in_from(chat::user_id id, const std::string& ip) override;
  awaitable<result<void>> update_password_hash(chat::user_id id, const std::string& hash) override;
  awaitable<result<void>> change_password(chat::user_id id, const std::string& hash,
                                          std::optional<std::int64_t> keep_only_session) override;
  awaitable<result<std::optional<chat::user>>> set_display_name(chat::user_id id,
                                                                const std::string& name) override;
  awaitable<result<std::int64_t>> create_session(chat::user_id user, const std::string& token_hash,
                                                 std::int64_t absolute_seconds,
                                                 const std::string& user_agent,
                                                 const std::string& ip) override;
  awaitable<result<std::optional<chat::session_info>>> find_session(
      const std::string& token_hash, std::int64_t idle_seconds) override;
  awaitable<result<std::vector<chat::session_info>>> list_sessions(chat::user_id user) override;
  awaitable<result<bool>> revoke_session(chat::user_id user, std::int64_t session_id) override;
  awaitable<result<std::vector<std::int64_t>>> live_sessions(const std::vector<std::int64_t>& session_ids,
                                                            std::int64_t idle_seconds) override;
  awaitable<result<std::vector<chat::user>>> list_users(int limit) override;
  awaitable<result<std::optional<chat::user>>> update_account(
      chat::user_id id, const auth::account_change& change) override;
  awaitable<result<bool>> record_webhook_event(const std::string& event_id) override;
  awaitable<result<void>> apply_email_event(const std::string& type, const std::string& recipient,
                                            const std::string& provider_message_id) override;

 private:
  std::shared_ptr<db::pool> pool_;
};

}  // namespace redoubt::storage
