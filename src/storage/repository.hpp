// All SQL of redoubt-server: chat and account persistence over the async db layer.
// Thread-safe (stateless apart from the shared pool). Every method is one round trip or one
// pipelined transaction, so nothing partial is ever written.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/errc.hpp"
#include "chat/model.hpp"
#include "db/pg.hpp"

namespace redoubt::storage {

template <class T>
using awaitable = boost::asio::awaitable<T>;

// One audit_log row as the administration page shows it.
struct audit_row {
  std::int64_t id = 0;
  std::string at;
  std::optional<std::int64_t> actor_id;
  std::string actor;  // username, "" if none
  std::string action, target, ip, request_id, outcome, details_json;
};

// The audit log's newest row and the database clock: what a checkpoint signs.
struct audit_head {
  std::int64_t audit_id = 0;
  std::string audit_hash;
  std::string signed_at;
};

// A stored checkpoint and the hash its row has now (nothing when the row is gone).
struct stored_checkpoint {
  std::int64_t audit_id = 0;
  std::string audit_hash;
  std::string signed_at;
  std::string key_id;
  std::string signature_hex;
  std::optional<std::string> row_hash;
};

struct audit_chain_state {
  std::int64_t checked = 0;
  std::int64_t bad = 0;
  std::optional<std::int64_t> first_bad_id;
};

struct audit_entry {
  std::optional<chat::user_id> actor;
  std::string action;
  std::string target;
  std::string ip;
  std::string request_id;
  std::string outcome = "ok";
  std::string details_json = "{}";
};

using replay_item = std::variant<chat::message, chat::room_event>;

// An outbox row claimed for publishing (see migrations/0002_jobs.sql).
struct outbox_job {
  std::string id;
  std::string kind;
  std::string payload_json;
  std::string correlation_id;
  std::int64_t created_at = 0;  // unix seconds
  std::int64_t expires_at = 0;
};

struct token_owner {
  chat::user_id id = 0;
  std::string username;
};

struct outbox_counts {
  std::int64_t unpublished = 0;
  std::int64_t incomplete = 0;
  std::int64_t oldest_unpublished_seconds = 0;  // 0 when nothing waits
};

class repository {
 public:
  explicit repository(std::shared_ptr<db::pool> pool) : pool_(std::move(pool)) {}

  awaitable<result<int>> schema_version();
  awaitable<result<void>> ping();

  // Accounts and sessions.
  // A non-empty verification_correlation also queues the verification email, atomically.
  awaitable<result<chat::user>> create_user(const std::string& username, const std::string& email,
                                            const std::string& password_hash, bool force_admin,
                                            const std::string& verification_correlation = {});
  // Queues a job {user_id} for the enabled account with this address; false when there is none.
  awaitable<result<bool>> enqueue_job_for_email(const std::string& kind, const std::string& email,
                                                const std::string& correlation_id);

  // Mailed single-use tokens (created by the worker; only hashes are stored).
  awaitable<result<std::optional<token_owner>>> email_token_owner(const std::string& purpose,
                                                                 const std::string& token_hash);
  awaitable<result<std::optional<chat::user_id>>> consume_verification_token(const std::string& token_hash);
  awaitable<result<std::optional<chat::user_id>>> consume_reset_token(const std::string& token_hash,
                                                                      const std::string& password_hash);
  // Email provider webhook: false when the event id was seen before.
  awaitable<result<bool>> record_webhook_event(const std::string& event_id);
  awaitable<result<void>> apply_email_event(const std::string& type, const std::string& recipient,
                                            const std::string& provider_message_id);

  // Transactional outbox, relay side.
  awaitable<result<std::vector<outbox_job>>> claim_outbox(int limit, std::int64_t claim_seconds,
                                                          std::int64_t republish_after_seconds);
  awaitable<result<void>> finish_outbox_claims(const std::vector<std::string>& published,
                                               const std::vector<std::string>& released);
  awaitable<result<outbox_counts>> outbox_counts_now();
  awaitable<result<std::optional<chat::user_credentials>>> find_credentials(const std::string& username);
  awaitable<result<std::optional<chat::user>>> find_user(const std::string& username);
  awaitable<result<std::optional<chat::user>>> find_user_by_id(chat::user_id id);
  awaitable<result<void>> update_password_hash(chat::user_id id, const std::string& hash);
  // A new password hash; when keep_only_session is set every other session of the user ends.
  awaitable<result<void>> change_password(chat::user_id id, const std::string& hash,
                                          std::optional<std::int64_t> keep_only_session);
  awaitable<result<std::optional<chat::user>>> set_display_name(chat::user_id id, const std::string& name);

  // Administration.
  awaitable<result<std::vector<chat::user>>> list_users(int limit);
  // nullopt: no such user. Disabling ends the user's sessions in the same statement.
  awaitable<result<std::optional<chat::user>>> admin_update_user(chat::user_id id, std::optional<bool> disabled,
                                                                 std::optional<bool> is_admin);
  // Enabled administrators other than `except`.
  awaitable<result<std::int64_t>> other_active_admins(chat::user_id except);
  awaitable<result<std::vector<audit_row>>> audit_page(std::int64_t before, int limit);
  awaitable<result<audit_chain_state>> audit_chain();
  // Nothing when the log is empty.
  awaitable<result<std::optional<audit_head>>> audit_log_head();
  awaitable<result<std::optional<stored_checkpoint>>> newest_audit_checkpoint();
  // False when that head already has a checkpoint; an error when it does not match the log.
  awaitable<result<bool>> add_audit_checkpoint(const audit_head& head, const std::string& key_id,
                                               const std::string& signature_hex);
  awaitable<result<std::int64_t>> create_session(chat::user_id user, const std::string& token_hash,
                                                 std::int64_t absolute_seconds,
                                                 const std::string& user_agent, const std::string& ip);
  awaitable<result<std::optional<chat::session_info>>> find_session(const std::string& token_hash,
                                                                    std::int64_t idle_seconds);
  awaitable<result<std::vector<chat::session_info>>> list_sessions(chat::user_id user);
  awaitable<result<bool>> revoke_session(chat::user_id user, std::int64_t session_id);
  awaitable<result<void>> audit(const audit_entry& entry);

  // Rooms and membership. Methods returning a seq recorded a room event with that seq.
  awaitable<result<chat::room>> create_room(chat::room_kind kind, const std::string& name,
                                            const std::string& topic, chat::user_id creator);
  awaitable<result<chat::room>> open_direct(chat::user_id a, chat::user_id b);
  awaitable<result<std::optional<chat::room>>> get_room(chat::room_id room, chat::user_id viewer);
  awaitable<result<std::vector<chat::room>>> rooms_of(chat::user_id user);
  awaitable<result<std::vector<chat::room>>> public_rooms(chat::user_id viewer);
  awaitable<result<std::vector<chat::member>>> members(chat::room_id room);
  awaitable<result<chat::room_role>> role_of(chat::room_id room, chat::user_id user);
  awaitable<result<std::optional<chat::seq_t>>> add_member(chat::room_id room, chat::user_id user,
                                                           chat::room_role role, chat::user_id actor);
  awaitable<result<std::optional<chat::seq_t>>> remove_member(chat::room_id room, chat::user_id user,
                                                              chat::user_id actor);
  // Changes a member's role; nullopt when the user is not a member.
  awaitable<result<std::optional<chat::seq_t>>> set_role(chat::room_id room, chat::user_id user,
                                                         chat::room_role role, chat::user_id actor);
  awaitable<result<std::int64_t>> owner_count(chat::room_id room);
  awaitable<result<chat::seq_t>> set_topic(chat::room_id room, const std::string& topic,
                                           chat::user_id actor);
  // 0 turns retention off. Audited in the same statement.
  awaitable<result<void>> set_retention(chat::room_id room, int days, chat::user_id actor);
  // Queues the periodic retention job unless one is pending or no room has retention.
  awaitable<result<bool>> enqueue_retention_job();
  // Queues the periodic attachment clean-up (files_maintenance) unless one is pending.
  awaitable<result<bool>> enqueue_files_maintenance_job();
  awaitable<result<void>> set_read(chat::room_id room, chat::user_id user, chat::seq_t seq);

  // Messages.
  awaitable<result<std::vector<chat::post_outcome>>> post_batch(
      const std::vector<chat::post_request>& posts);
  awaitable<result<std::optional<chat::message>>> get_message(chat::message_id id);
  awaitable<result<std::optional<std::pair<chat::room_id, chat::seq_t>>>> edit_message(
      chat::message_id id, const std::string& body, chat::user_id actor, std::string& edited_at);
  awaitable<result<std::optional<std::pair<chat::room_id, chat::seq_t>>>> delete_message(
      chat::message_id id, chat::user_id actor);
  awaitable<result<std::optional<std::pair<chat::room_id, chat::seq_t>>>> set_reaction(
      chat::message_id id, chat::user_id user, const std::string& emoji, bool add);
  // Newest first, seq < before (0 = from the end), at most limit.
  awaitable<result<std::vector<chat::message>>> history(chat::room_id room, chat::seq_t before, int limit);
  // Everything with seq in (after, after + limit], in seq order.
  awaitable<result<std::vector<replay_item>>> replay(chat::room_id room, chat::seq_t after, int limit);
  awaitable<result<std::optional<chat::room_event>>> event_at(chat::room_id room, chat::seq_t seq);

 private:
  std::shared_ptr<db::pool> pool_;
};

}  // namespace redoubt::storage
