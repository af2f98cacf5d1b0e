#include "storage/repository.hpp"

#include <boost/asio/use_awaitable.hpp>

#include "base/log.hpp"

namespace redoubt::storage {
namespace {

using chat::room_kind;
using chat::room_role;
using db::param;
using db::params;

param p(std::int64_t v) { return std::to_string(v); }
param p(const std::string& v) { return v; }
param p(std::string_view v) { return std::string(v); }
param p(bool v) { return std::string(v ? "t" : "f"); }
param p_opt(const std::optional<std::int64_t>& v) { return v ? p(*v) : std::nullopt; }

std::string col(const db::rows& r, int row, int c) { return std::string(r.text(row, c)); }
std::optional<std::string> col_opt(const db::rows& r, int row, int c) {
  if (r.is_null(row, c)) return std::nullopt;
  return std::string(r.text(row, c));
}

std::vector<std::string> split_words(std::string_view s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    auto j = s.find(' ', i);
    if (j == std::string_view::npos) j = s.size();
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

// Appends s as one quoted element of a PostgreSQL array literal ({"a","b\\"c"}).
void append_array_text(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
}

constexpr const char* user_columns =
    "u.id, u.username, u.email, u.display_name, u.is_admin, u.disabled, iso(u.created_at), u.email_verified";

chat::user read_user(const db::rows& r, int row, int first = 0) {
  chat::user u;
  u.id = r.int64(row, first);
  u.username = col(r, row, first + 1);
  u.email = col(r, row, first + 2);
  u.display_name = col(r, row, first + 3);
  u.is_admin = r.boolean(row, first + 4);
  u.disabled = r.boolean(row, first + 5);
  u.created_at = col(r, row, first + 6);
  u.email_verified = r.boolean(row, first + 7);
  return u;
}

constexpr const char* room_columns =
    "r.id, r.kind, r.name, r.topic, iso(r.created_at), r.last_seq, coalesce(m.role, 'none'), "
    "coalesce(m.last_read_seq, 0), (SELECT count(*) FROM room_members c WHERE c.room_id = r.id), "
    "CASE WHEN r.kind = 'direct' THEN (SELECT string_agg(d.user_id::text, ' ' ORDER BY d.user_id) "
    "FROM room_members d WHERE d.room_id = r.id) ELSE '' END, coalesce(r.retention_days, 0)";

chat::room read_room(const db::rows& r, int row) {
  chat::room out;
  out.id = r.int64(row, 0);
  out.kind = chat::room_kind_from(r.text(row, 1)).value_or(room_kind::public_room);
  out.name = col(r, row, 2);
  out.topic = col(r, row, 3);
  out.created_at = col(r, row, 4);
  out.last_seq = r.int64(row, 5);
  out.my_role = chat::room_role_from(r.text(row, 6)).value_or(room_role::none);
  out.my_last_read_seq = r.int64(row, 7);
  out.member_count = r.int64(row, 8);
  for (auto& w : split_words(r.text(row, 9))) out.dm_members.push_back(std::stoll(w));
  out.retention_days = static_cast<int>(r.int64(row, 10));
  return out;
}

constexpr const char* message_columns =
    "x.id, x.room_id, x.seq, x.author_id, u.username, x.client_id, x.body, x.reply_to, "
    "iso(x.created_at), iso(x.edited_at), x.deleted_at IS NOT NULL, "
    "coalesce((SELECT string_agg(mu.username, ' ' ORDER BY mu.username) FROM mentions mn "
    "JOIN users mu ON mu.id = mn.user_id WHERE mn.message_id = x.id), ''), "
    "coalesce((SELECT string_agg(rc.emoji || ' ' || rc.user_id::text, ' ' ORDER BY rc.created_at, rc.user_id) "
    "FROM reactions rc WHERE rc.message_id = x.id), ''), "
    "CASE WHEN x.deleted_at IS NULL THEN message_attachments(x.id) ELSE '[]' END";

chat::message read_message(const db::rows& r, int row) {
  chat::message m;
  m.id = r.int64(row, 0);
  m.room = r.int64(row, 1);
  m.seq = r.int64(row, 2);
  m.author = r.int64(row, 3);
  m.author_username = col(r, row, 4);
  m.client_id = col(r, row, 5);
  m.body = col(r, row, 6);
  if (!r.is_null(row, 7)) m.reply_to = r.int64(row, 7);
  m.created_at = col(r, row, 8);
  m.edited_at = col_opt(r, row, 9);
  m.deleted = r.boolean(row, 10);
  m.mentions = split_words(r.text(row, 11));
  m.attachments_json = r.text(row, 13);
  auto words = split_words(r.text(row, 12));
  for (std::size_t i = 0; i + 1 < words.size(); i += 2) {
    auto& emoji = words[i];
    auto user = std::stoll(words[i + 1]);
    auto it = std::find_if(m.reactions.begin(), m.reactions.end(),
                           [&](const chat::reaction_count& rc) { return rc.emoji == emoji; });
    if (it == m.reactions.end()) {
      m.reactions.push_back({emoji, {user}});
    } else {
      it->users.push_back(user);
    }
  }
  return m;
}

}  // namespace

// Helper: acquire a connection and run one query.
// (SQL and arguments go into locals first: GCC 12 miscompiles some temporaries in co_await.)
#define REDOUBT_QUERY(var, sql, ...)                             \
  const std::string var##_sql = sql;                             \
  const db::params var##_args = __VA_ARGS__;                     \
  auto lease_##var = co_await pool_->acquire();                  \
  if (!lease_##var) co_return lease_##var.error();               \
  auto var = co_await (*lease_##var)->query(var##_sql, var##_args); \
  if (!var) co_return var.error();

awaitable<result<int>> repository::schema_version() {
  REDOUBT_QUERY(r, "SELECT coalesce(max(version), 0) FROM schema_migrations", {});
  co_return static_cast<int>(r->int64(0, 0));
}

awaitable<result<void>> repository::ping() {
  REDOUBT_QUERY(r, "SELECT 1", {});
  co_return result<void>{};
}

awaitable<result<chat::user>> repository::create_user(const std::string& username,
                                                      const std::string& email,
                                                      const std::string& password_hash,
                                                      bool force_admin,
                                                      const std::string& verification_correlation) {
  // The first account of an installation becomes its administrator. The verification email
  // job is written by the same statement: both happen or neither.
  REDOUBT_QUERY(r,
                std::string("WITH u AS (INSERT INTO users (username, email, password_hash, is_admin) "
                            "VALUES ($1, $2, $3, $4 OR NOT EXISTS (SELECT 1 FROM users)) RETURNING *), "
                            "job AS (INSERT INTO outbox (kind, payload, correlation_id) "
                            "SELECT 'verify_email', jsonb_build_object('user_id', u.id), $5 FROM u "
                            "WHERE $5 <> '') "
                            "SELECT ") +
                    user_columns + " FROM u",
                params{p(username), p(email), p(password_hash), p(force_admin), p(verification_correlation)});
  co_return read_user(*r, 0);
}

awaitable<result<bool>> repository::enqueue_job_for_email(const std::string& kind, const std::string& email,
                                                          const std::string& correlation_id) {
  REDOUBT_QUERY(r,
                "INSERT INTO outbox (kind, payload, correlation_id, expires_at) "
                "SELECT $1, jsonb_build_object('user_id', id), $3, now() + interval '1 hour' FROM users "
                "WHERE lower(email) = lower($2) AND NOT disabled",
                params{p(kind), p(email), p(correlation_id)});
  co_return r->affected() > 0;
}

awaitable<result<std::optional<token_owner>>> repository::email_token_owner(const std::string& purpose,
                                                                           const std::string& token_hash) {
  REDOUBT_QUERY(r,
                "SELECT u.id, u.username FROM email_tokens t JOIN users u ON u.id = t.user_id "
                "WHERE t.token_hash = $1 AND t.purpose = $2 AND t.used_at IS NULL AND t.expires_at > now() "
                "AND NOT u.disabled",
                params{p(token_hash), p(purpose)});
  if (r->size() == 0) co_return std::optional<token_owner>{};
  co_return std::optional<token_owner>(token_owner{r->int64(0, 0), col(*r, 0, 1)});
}

awaitable<result<std::optional<chat::user_id>>> repository::consume_verification_token(const std::string& token_hash) {
  REDOUBT_QUERY(r,
                "WITH t AS (UPDATE email_tokens SET used_at = now() WHERE token_hash = $1 AND purpose = 'verify_email' "
                "AND used_at IS NULL AND expires_at > now() RETURNING user_id) "
                "UPDATE users SET email_verified = true FROM t WHERE users.id = t.user_id AND NOT users.disabled "
                "RETURNING users.id",
                params{p(token_hash)});
  if (r->size() == 0) co_return std::optional<chat::user_id>{};
  co_return std::optional<chat::user_id>(r->int64(0, 0));
}

awaitable<result<std::optional<chat::user_id>>> repository::consume_reset_token(const std::string& token_hash,
                                                                                const std::string& password_hash) {
  // One statement: the token is spent, the password replaced, every session of the user ended,
  // and the user's other reset links die with it.
  REDOUBT_QUERY(r,
                "WITH t AS (UPDATE email_tokens SET used_at = now() WHERE token_hash = $1 AND purpose = 'password_reset' "
                "AND used_at IS NULL AND expires_at > now() RETURNING user_id), "
                "u AS (UPDATE users SET password_hash = $2 FROM t WHERE users.id = t.user_id AND NOT users.disabled "
                "RETURNING users.id), "
                "s AS (UPDATE sessions SET revoked_at = now() WHERE user_id IN (SELECT id FROM u) AND revoked_at IS NULL), "
                "x AS (UPDATE email_tokens SET used_at = now() WHERE user_id IN (SELECT id FROM u) "
                "AND purpose = 'password_reset' AND used_at IS NULL AND token_hash <> $1) "
                "SELECT id FROM u",
                params{p(token_hash), p(password_hash)});
  if (r->size() == 0) co_return std::optional<chat::user_id>{};
  co_return std::optional<chat::user_id>(r->int64(0, 0));
}

awaitable<result<bool>> repository::record_webhook_event(const std::string& event_id) {
  REDOUBT_QUERY(r,
                "WITH gone AS (DELETE FROM webhook_events WHERE received_at < now() - interval '1 day') "
                "INSERT INTO webhook_events (event_id) VALUES ($1) ON CONFLICT DO NOTHING",
                params{p(event_id)});
  co_return r->affected() > 0;
}

awaitable<result<void>> repository::apply_email_event(const std::string& type, const std::string& recipient,
                                                      const std::string& provider_message_id) {
  REDOUBT_QUERY(r,
                "WITH d AS (UPDATE email_deliveries SET status = CASE WHEN $1 = 'delivered' THEN 'delivered' "
                "ELSE 'bounced' END WHERE $3 <> '' AND provider_message_id = $3 AND lower(recipient) = lower($2)) "
                "UPDATE users SET email_undeliverable = true WHERE $1 IN ('bounced', 'complained') "
                "AND lower(email) = lower($2)",
                params{p(type), p(recipient), p(provider_message_id)});
  co_return result<void>{};
}

awaitable<result<std::vector<outbox_job>>> repository::claim_outbox(int limit, std::int64_t claim_seconds,
                                                                    std::int64_t republish_after_seconds) {
  // SKIP LOCKED: several server nodes relay side by side without publishing a row twice at once.
  REDOUBT_QUERY(r,
                "UPDATE outbox o SET claimed_until = now() + make_interval(secs => $2) WHERE o.id IN ("
                "SELECT id FROM outbox WHERE completed_at IS NULL AND expires_at > now() AND not_before <= now() "
                "AND (claimed_until IS NULL OR claimed_until < now()) "
                "AND (published_at IS NULL OR published_at < now() - make_interval(secs => $3)) "
                "ORDER BY not_before LIMIT $1 FOR UPDATE SKIP LOCKED) "
                "RETURNING o.id, o.kind, o.payload::text, o.correlation_id, "
                "extract(epoch FROM o.created_at)::bigint, extract(epoch FROM o.expires_at)::bigint",
                params{p(static_cast<std::int64_t>(limit)), p(claim_seconds), p(republish_after_seconds)});
  std::vector<outbox_job> out;
  out.reserve(static_cast<std::size_t>(r->size()));
  for (int i = 0; i < r->size(); ++i)
    out.push_back(outbox_job{col(*r, i, 0), col(*r, i, 1), col(*r, i, 2), col(*r, i, 3), r->int64(i, 4),
                             r->int64(i, 5)});
  co_return out;
}

namespace {
std::string uuid_array(const std::vector<std::string>& ids) {
  std::string a = "{";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i) a += ',';
    append_array_text(a, ids[i]);
  }
  a += '}';
  return a;
}
}  // namespace

awaitable<result<void>> repository::finish_outbox_claims(const std::vector<std::string>& published,
                                                         const std::vector<std::string>& released) {
  REDOUBT_QUERY(r,
                "UPDATE outbox SET claimed_until = NULL, "
                "published_at = CASE WHEN id = ANY($1::uuid[]) THEN now() ELSE published_at END, "
                "publish_count = publish_count + CASE WHEN id = ANY($1::uuid[]) THEN 1 ELSE 0 END "
                "WHERE id = ANY($1::uuid[]) OR id = ANY($2::uuid[])",
                params{uuid_array(published), uuid_array(released)});
  co_return result<void>{};
}

awaitable<result<outbox_counts>> repository::outbox_counts_now() {
  REDOUBT_QUERY(r,
                "SELECT count(*) FILTER (WHERE published_at IS NULL), count(*), "
                "COALESCE(extract(epoch FROM now() - min(created_at) FILTER (WHERE published_at IS NULL))::bigint, 0) "
                "FROM outbox WHERE completed_at IS NULL AND expires_at > now()",
                {});
  co_return outbox_counts{r->int64(0, 0), r->int64(0, 1), r->int64(0, 2)};
}

awaitable<result<std::optional<chat::user_credentials>>> repository::find_credentials(
    const std::string& username) {
  REDOUBT_QUERY(r, std::string("SELECT ") + user_columns + ", u.password_hash FROM users u WHERE u.username = $1",
                params{p(username)});
  if (r->size() == 0) co_return std::optional<chat::user_credentials>{};
  chat::user_credentials c{read_user(*r, 0), col(*r, 0, 8)};
  co_return std::optional<chat::user_credentials>(std::move(c));
}

awaitable<result<std::optional<chat::user>>> repository::find_user(const std::string& username) {
  REDOUBT_QUERY(r, std::string("SELECT ") + user_columns + " FROM users u WHERE u.username = $1",
                params{p(username)});
  if (r->size() == 0) co_return std::optional<chat::user>{};
  co_return std::optional<chat::user>(read_user(*r, 0));
}

awaitable<result<std::optional<chat::user>>> repository::find_user_by_id(chat::user_id id) {
  REDOUBT_QUERY(r, std::string("SELECT ") + user_columns + " FROM users u WHERE u.id = $1",
                params{p(id)});
  if (r->size() == 0) co_return std::optional<chat::user>{};
  co_return std::optional<chat::user>(read_user(*r, 0));
}

awaitable<result<void>> repository::update_password_hash(chat::user_id id, const std::string& hash) {
  REDOUBT_QUERY(r, "UPDATE users SET password_hash = $2 WHERE id = $1", params{p(id), p(hash)});
  co_return result<void>{};
}

awaitable<result<void>> repository::change_password(chat::user_id id, const std::string& hash,
                                                    std::optional<std::int64_t> keep_only_session) {
  REDOUBT_QUERY(r,
                "WITH u AS (UPDATE users SET password_hash = $2 WHERE id = $1 RETURNING id) "
                "DELETE FROM sessions s USING u WHERE s.user_id = u.id AND $3::bigint IS NOT NULL AND s.id <> $3",
                params{p(id), p(hash), p_opt(keep_only_session)});
  co_return result<void>{};
}

awaitable<result<std::optional<chat::user>>> repository::set_display_name(chat::user_id id, const std::string& name) {
  REDOUBT_QUERY(r,
                std::string("UPDATE users u SET display_name = $2 WHERE u.id = $1 RETURNING ") + user_columns,
                params{p(id), p(name)});
  if (r->size() == 0) co_return std::optional<chat::user>{};
  co_return std::optional<chat::user>(read_user(*r, 0));
}

awaitable<result<std::vector<chat::user>>> repository::list_users(int limit) {
  REDOUBT_QUERY(r, std::string("SELECT ") + user_columns + " FROM users u ORDER BY u.id LIMIT $1",
                params{p(static_cast<std::int64_t>(limit))});
  std::vector<chat::user> out;
  for (int i = 0; i < r->size(); ++i) out.push_back(read_user(*r, i));
  co_return out;
}

awaitable<result<std::optional<chat::user>>> repository::admin_update_user(chat::user_id id,
                                                                           std::optional<bool> disabled,
                                                                           std::optional<bool> is_admin) {
  const db::param d = disabled ? p(*disabled) : db::param{};
  const db::param a = is_admin ? p(*is_admin) : db::param{};
  REDOUBT_QUERY(r,
                std::string("WITH u AS (UPDATE users u SET disabled = coalesce($2::boolean, u.disabled), "
                            "is_admin = coalesce($3::boolean, u.is_admin) WHERE u.id = $1 RETURNING u.*), "
                            "gone AS (DELETE FROM sessions s USING u WHERE s.user_id = u.id AND u.disabled) "
                            "SELECT ") +
                    user_columns + " FROM u",
                params{p(id), d, a});
  if (r->size() == 0) co_return std::optional<chat::user>{};
  co_return std::optional<chat::user>(read_user(*r, 0));
}

awaitable<result<std::int64_t>> repository::other_active_admins(chat::user_id except) {
  REDOUBT_QUERY(r, "SELECT count(*) FROM users WHERE is_admin AND NOT disabled AND id <> $1", params{p(except)});
  co_return r->int64(0, 0);
}

awaitable<result<std::vector<audit_row>>> repository::audit_page(std::int64_t before, int limit) {
  REDOUBT_QUERY(r, "SELECT * FROM audit_page($1, $2)",
                params{p(before), p(static_cast<std::int64_t>(limit))});
  std::vector<audit_row> out;
  for (int i = 0; i < r->size(); ++i) {
    audit_row a;
    a.id = r->int64(i, 0);
    a.at = col(*r, i, 1);
    if (!r->is_null(i, 2)) a.actor_id = r->int64(i, 2);
    a.actor = col(*r, i, 3);
    a.action = col(*r, i, 4);
    a.target = col(*r, i, 5);
    a.ip = col(*r, i, 6);
    a.request_id = col(*r, i, 7);
    a.outcome = col(*r, i, 8);
    a.details_json = col(*r, i, 9);
    out.push_back(std::move(a));
  }
  co_return out;
}

awaitable<result<audit_chain_state>> repository::audit_chain() {
  REDOUBT_QUERY(r, "SELECT checked, bad, first_bad_id FROM audit_chain_status()", {});
  audit_chain_state st;
  st.checked = r->int64(0, 0);
  st.bad = r->int64(0, 1);
  if (!r->is_null(0, 2)) st.first_bad_id = r->int64(0, 2);
  co_return st;
}

awaitable<result<std::optional<audit_head>>> repository::audit_log_head() {
  REDOUBT_QUERY(r, "SELECT audit_id, audit_hash, signed_at FROM audit_head()", {});
  if (r->size() == 0) co_return std::optional<audit_head>{};
  co_return audit_head{r->int64(0, 0), col(*r, 0, 1), col(*r, 0, 2)};
}

awaitable<result<std::optional<stored_checkpoint>>> repository::newest_audit_checkpoint() {
  REDOUBT_QUERY(r, "SELECT audit_id, audit_hash, signed_at, key_id, signature, row_hash FROM audit_newest_checkpoint()",
                {});
  if (r->size() == 0) co_return std::optional<stored_checkpoint>{};
  stored_checkpoint c{r->int64(0, 0), col(*r, 0, 1), col(*r, 0, 2), col(*r, 0, 3), col(*r, 0, 4), std::nullopt};
  if (!r->is_null(0, 5)) c.row_hash = col(*r, 0, 5);
  co_return c;
}

awaitable<result<bool>> repository::add_audit_checkpoint(const audit_head& head, const std::string& key_id,
                                                         const std::string& signature_hex) {
  REDOUBT_QUERY(r, "SELECT add_audit_checkpoint($1, $2, $3, $4, $5)",
                params{p(head.audit_id), p(head.audit_hash), p(head.signed_at), p(key_id), p(signature_hex)});
  co_return r->boolean(0, 0);
}

awaitable<result<std::int64_t>> repository::create_session(chat::user_id user,
                                                           const std::string& token_hash,
                                                           std::int64_t absolute_seconds,
                                                           const std::string& user_agent,
                                                           const std::string& ip) {
  REDOUBT_QUERY(r,
                "INSERT INTO sessions (user_id, token_hash, expires_at, user_agent, ip) "
                "VALUES ($1, $2, now() + make_interval(secs => $3), left($4, 256), $5) RETURNING id",
                params{p(user), p(token_hash), p(absolute_seconds), p(user_agent), p(ip)});
  co_return r->int64(0, 0);
}

awaitable<result<std::optional<chat::session_info>>> repository::find_session(
    const std::string& token_hash, std::int64_t idle_seconds) {
  // Touches last_seen_at at most once a minute to keep reads cheap.
  REDOUBT_QUERY(
      r,
      "WITH s AS (SELECT s.id AS sid, s.last_seen_at AS seen, iso(s.created_at) AS c, "
      "iso(s.last_seen_at) AS l, iso(s.expires_at) AS e, s.user_agent AS ua, s.ip AS ip, u.id, "
      "u.username, u.email, u.display_name, u.is_admin, u.disabled, iso(u.created_at) AS uc, u.email_verified AS ev "
      "FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND "
      "s.revoked_at IS NULL AND s.expires_at > now() AND "
      "s.last_seen_at > now() - make_interval(secs => $2) AND NOT u.disabled), "
      "touch AS (UPDATE sessions SET last_seen_at = now() WHERE id IN "
      "(SELECT sid FROM s WHERE seen < now() - interval '60 seconds')) "
      "SELECT sid, c, l, e, ua, ip, id, username, email, display_name, is_admin, disabled, uc, ev FROM s",
      params{p(token_hash), p(idle_seconds)});
  if (r->size() == 0) co_return std::optional<chat::session_info>{};
  chat::session_info s;
  s.id = r->int64(0, 0);
  s.created_at = col(*r, 0, 1);
  s.last_seen_at = col(*r, 0, 2);
  s.expires_at = col(*r, 0, 3);
  s.user_agent = col(*r, 0, 4);
  s.ip = col(*r, 0, 5);
  s.account = read_user(*r, 0, 6);
  co_return std::optional<chat::session_info>(std::move(s));
}

awaitable<result<std::vector<chat::session_info>>> repository::list_sessions(chat::user_id user) {
  REDOUBT_QUERY(r,
                "SELECT id, iso(created_at), iso(last_seen_at), iso(expires_at), user_agent, ip "
                "FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now() "
                "ORDER BY id",
                params{p(user)});
  std::vector<chat::session_info> out;
  for (int i = 0; i < r->size(); ++i) {
    chat::session_info s;
    s.id = r->int64(i, 0);
    s.created_at = col(*r, i, 1);
    s.last_seen_at = col(*r, i, 2);
    s.expires_at = col(*r, i, 3);
    s.user_agent = col(*r, i, 4);
    s.ip = col(*r, i, 5);
    s.account.id = user;
    out.push_back(std::move(s));
  }
  co_return out;
}

awaitable<result<bool>> repository::revoke_session(chat::user_id user, std::int64_t session_id) {
  REDOUBT_QUERY(r,
                "UPDATE sessions SET revoked_at = now() WHERE id = $1 AND user_id = $2 AND "
                "revoked_at IS NULL",
                params{p(session_id), p(user)});
  co_return r->affected() > 0;
}

awaitable<result<void>> repository::audit(const audit_entry& e) {
  REDOUBT_QUERY(r,
                "INSERT INTO audit_log (actor_id, action, target, ip, request_id, outcome, details) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)",
                params{p_opt(e.actor), p(e.action), p(e.target), p(e.ip), p(e.request_id),
                       p(e.outcome), p(e.details_json)});
  co_return result<void>{};
}

awaitable<result<chat::room>> repository::create_room(room_kind kind, const std::string& name,
                                                      const std::string& topic,
                                                      chat::user_id creator) {
  REDOUBT_QUERY(r,
                "WITH r AS (INSERT INTO rooms (kind, name, topic, created_by) VALUES ($1, $2, $3, $4) "
                "RETURNING id), m AS (INSERT INTO room_members (room_id, user_id, role) "
                "SELECT id, $4, 'owner' FROM r) SELECT id FROM r",
                params{p(chat::to_string(kind)), p(name), p(topic), p(creator)});
  auto id = r->int64(0, 0);
  auto room = co_await get_room(id, creator);
  if (!room) co_return room.error();
  if (!*room) co_return make_error(errc::internal, "room vanished");
  co_return std::move(**room);
}

awaitable<result<chat::room>> repository::open_direct(chat::user_id a, chat::user_id b) {
  auto lo = std::min(a, b), hi = std::max(a, b);
  auto key = std::to_string(lo) + ":" + std::to_string(hi);
  REDOUBT_QUERY(r,
                "WITH r AS (INSERT INTO rooms (kind, name, dm_key, created_by) VALUES ('direct', '', $1, $2) "
                "ON CONFLICT (dm_key) DO NOTHING RETURNING id), "
                "m AS (INSERT INTO room_members (room_id, user_id, role) SELECT r.id, u.id, 'member' "
                "FROM r, (VALUES ($3::bigint), ($4::bigint)) AS u(id) ON CONFLICT DO NOTHING) "
                "SELECT id FROM r UNION ALL SELECT id FROM rooms WHERE dm_key = $1",
                params{p(key), p(a), p(lo), p(hi)});
  if (r->size() == 0) co_return make_error(errc::conflict, "try again");
  auto room = co_await get_room(r->int64(0, 0), a);
  if (!room) co_return room.error();
  if (!*room) co_return make_error(errc::conflict, "try again");
  co_return std::move(**room);
}

awaitable<result<void>> repository::set_retention(chat::room_id room, int days, chat::user_id actor) {
  REDOUBT_QUERY(r,
                "WITH u AS (UPDATE rooms SET retention_days = nullif($2, 0) WHERE id = $1) "
                "INSERT INTO audit_log (actor_id, action, target, details) VALUES ($3, 'room.retention', "
                "'room:' || $1, jsonb_build_object('retention_days', $2))",
                params{p(room), p(static_cast<std::int64_t>(days)), p(actor)});
  co_return result<void>{};
}

awaitable<result<bool>> repository::enqueue_files_maintenance_job() {
  REDOUBT_QUERY(r,
                "INSERT INTO outbox (kind, payload, correlation_id, expires_at) "
                "SELECT 'files_maintenance', '{}', 'files_maintenance', now() + interval '1 hour' "
                "WHERE NOT EXISTS (SELECT 1 FROM outbox WHERE kind = 'files_maintenance' AND completed_at IS NULL "
                "AND expires_at > now())",
                {});
  co_return r->affected() > 0;
}

awaitable<result<bool>> repository::enqueue_retention_job() {
  REDOUBT_QUERY(r,
                "INSERT INTO outbox (kind, payload, correlation_id, expires_at) "
                "SELECT 'retention', '{}', 'retention', now() + interval '1 hour' "
                "WHERE EXISTS (SELECT 1 FROM rooms WHERE retention_days IS NOT NULL) "
                "AND NOT EXISTS (SELECT 1 FROM outbox WHERE kind = 'retention' AND completed_at IS NULL "
                "AND expires_at > now())",
                {});
  co_return r->affected() > 0;
}

awaitable<result<std::optional<chat::room>>> repository::get_room(chat::room_id room,
                                                                  chat::user_id viewer) {
  REDOUBT_QUERY(r,
                std::string("SELECT ") + room_columns +
                    " FROM rooms r LEFT JOIN room_members m ON m.room_id = r.id AND m.user_id = $2 "
                    "WHERE r.id = $1",
                params{p(room), p(viewer)});
  if (r->size() == 0) co_return std::optional<chat::room>{};
  co_return std::optional<chat::room>(read_room(*r, 0));
}

awaitable<result<std::vector<chat::room>>> repository::rooms_of(chat::user_id user) {
  REDOUBT_QUERY(
      r,
      std::string("SELECT ") + room_columns +
          ", (SELECT count(*) FROM messages x WHERE x.room_id = r.id AND x.seq > m.last_read_seq "
          "AND x.deleted_at IS NULL AND x.author_id <> $1), "
          "(SELECT count(*) FROM mentions mn JOIN messages x ON x.id = mn.message_id "
          "WHERE mn.user_id = $1 AND x.room_id = r.id AND x.seq > m.last_read_seq AND x.deleted_at IS NULL) "
          "FROM room_members m JOIN rooms r ON r.id = m.room_id WHERE m.user_id = $1 ORDER BY r.id",
      params{p(user)});
  std::vector<chat::room> out;
  for (int i = 0; i < r->size(); ++i) {
    auto room = read_room(*r, i);
    room.unread = r->int64(i, 11);
    room.mentions_unread = r->int64(i, 12);
    out.push_back(std::move(room));
  }
  co_return out;
}

awaitable<result<std::vector<chat::room>>> repository::public_rooms(chat::user_id viewer) {
  REDOUBT_QUERY(r,
                std::string("SELECT ") + room_columns +
                    " FROM rooms r LEFT JOIN room_members m ON m.room_id = r.id AND m.user_id = $1 "
                    "WHERE r.kind = 'public' ORDER BY lower(r.name) LIMIT 1000",
                params{p(viewer)});
  std::vector<chat::room> out;
  for (int i = 0; i < r->size(); ++i) out.push_back(read_room(*r, i));
  co_return out;
}

awaitable<result<std::vector<chat::member>>> repository::members(chat::room_id room) {
  REDOUBT_QUERY(r,
                "SELECT u.id, u.username, u.display_name, m.role FROM room_members m "
                "JOIN users u ON u.id = m.user_id WHERE m.room_id = $1 ORDER BY u.username LIMIT 10000",
                params{p(room)});
  std::vector<chat::member> out;
  for (int i = 0; i < r->size(); ++i)
    out.push_back({r->int64(i, 0), col(*r, i, 1), col(*r, i, 2),
                   chat::room_role_from(r->text(i, 3)).value_or(room_role::member)});
  co_return out;
}

awaitable<result<room_role>> repository::role_of(chat::room_id room, chat::user_id user) {
  REDOUBT_QUERY(r, "SELECT role FROM room_members WHERE room_id = $1 AND user_id = $2",
                params{p(room), p(user)});
  if (r->size() == 0) co_return room_role::none;
  co_return chat::room_role_from(r->text(0, 0)).value_or(room_role::none);
}

awaitable<result<std::optional<chat::seq_t>>> repository::add_member(chat::room_id room,
                                                                     chat::user_id user,
                                                                     room_role role,
                                                                     chat::user_id actor) {
  REDOUBT_QUERY(r,
                "WITH ins AS (INSERT INTO room_members (room_id, user_id, role) VALUES ($1, $2, $3) "
                "ON CONFLICT DO NOTHING RETURNING room_id) "
                "SELECT room_event(room_id, 'member_joined', $4, jsonb_build_object('user_id', $2::bigint, "
                "'role', $3::text, 'username', (SELECT username FROM users WHERE id = $2))) FROM ins",
                params{p(room), p(user), p(chat::to_string(role)), p(actor)});
  if (r->size() == 0) co_return std::optional<chat::seq_t>{};
  co_return std::optional<chat::seq_t>(r->int64(0, 0));
}

awaitable<result<std::optional<chat::seq_t>>> repository::remove_member(chat::room_id room,
                                                                        chat::user_id user,
                                                                        chat::user_id actor) {
  REDOUBT_QUERY(r,
                "WITH del AS (DELETE FROM room_members WHERE room_id = $1 AND user_id = $2 RETURNING room_id) "
                "SELECT room_event(room_id, 'member_left', $3, jsonb_build_object('user_id', $2::bigint)) FROM del",
                params{p(room), p(user), p(actor)});
  if (r->size() == 0) co_return std::optional<chat::seq_t>{};
  co_return std::optional<chat::seq_t>(r->int64(0, 0));
}

awaitable<result<std::optional<chat::seq_t>>> repository::set_role(chat::room_id room, chat::user_id user,
                                                                   room_role role, chat::user_id actor) {
  REDOUBT_QUERY(r,
                "WITH up AS (UPDATE room_members SET role = $3 WHERE room_id = $1 AND user_id = $2 "
                "RETURNING room_id) "
                "SELECT room_event(room_id, 'role_changed', $4, jsonb_build_object('user_id', $2::bigint, "
                "'role', $3::text)) FROM up",
                params{p(room), p(user), p(chat::to_string(role)), p(actor)});
  if (r->size() == 0) co_return std::optional<chat::seq_t>{};
  co_return std::optional<chat::seq_t>(r->int64(0, 0));
}

awaitable<result<std::int64_t>> repository::owner_count(chat::room_id room) {
  REDOUBT_QUERY(r, "SELECT count(*) FROM room_members WHERE room_id = $1 AND role = 'owner'", params{p(room)});
  co_return r->int64(0, 0);
}

awaitable<result<chat::seq_t>> repository::set_topic(chat::room_id room, const std::string& topic,
                                                     chat::user_id actor) {
  REDOUBT_QUERY(r, "SELECT set_topic($1, $2, $3)", params{p(room), p(topic), p(actor)});
  co_return r->int64(0, 0);
}

awaitable<result<void>> repository::set_read(chat::room_id room, chat::user_id user, chat::seq_t seq) {
  REDOUBT_QUERY(r,
                "UPDATE room_members m SET last_read_seq = LEAST($3, r.last_seq) FROM rooms r "
                "WHERE m.room_id = $1 AND m.user_id = $2 AND r.id = m.room_id AND m.last_read_seq < $3",
                params{p(room), p(user), p(seq)});
  co_return result<void>{};
}

awaitable<result<std::vector<chat::post_outcome>>> repository::post_batch(
    const std::vector<chat::post_request>& posts) {
  // One statement, one transaction, one round trip for the whole batch (see post_batch() in
  // the schema): the arrays carry the batch column by column.
  std::string rooms = "{", authors = "{", client_ids = "{", bodies = "{", replies = "{", mentions = "{",
              files = "{";
  for (std::size_t i = 0; i < posts.size(); ++i) {
    const auto& m = posts[i];
    if (i > 0) {
      for (auto* a : {&rooms, &authors, &client_ids, &bodies, &replies, &mentions, &files}) a->push_back(',');
    }
    rooms += std::to_string(m.room);
    authors += std::to_string(m.author);
    append_array_text(client_ids, m.client_id);
    append_array_text(bodies, m.body);
    replies += m.reply_to ? std::to_string(*m.reply_to) : std::string("NULL");
    std::string names;
    for (const auto& name : m.mentions) {
      if (!names.empty()) names.push_back(' ');
      names += name;
    }
    append_array_text(mentions, names);
    std::string ids;
    for (auto id : m.attachments) {
      if (!ids.empty()) ids.push_back(' ');
      ids += std::to_string(id);
    }
    append_array_text(files, ids);
  }
  for (auto* a : {&rooms, &authors, &client_ids, &bodies, &replies, &mentions, &files}) a->push_back('}');
  REDOUBT_QUERY(r,
                "SELECT ord, status, message_id, seq, created_at, mentioned, attachments FROM "
                "post_batch($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::text[], "
                "$7::text[])",
                params{p(rooms), p(authors), p(client_ids), p(bodies), p(replies), p(mentions), p(files)});
  if (static_cast<std::size_t>(r->size()) != posts.size())
    co_return make_error(errc::internal, "post_batch returned a short result");
  std::vector<chat::post_outcome> out;
  out.reserve(posts.size());
  for (int i = 0; i < r->size(); ++i) {
    chat::post_outcome o;
    auto status = r->text(i, 1);
    if (status == "ok") o.status = chat::post_status::ok;
    else if (status == "duplicate") o.status = chat::post_status::duplicate;
    else if (status == "not_member") o.status = chat::post_status::not_member;
    else if (status == "bad_reply") o.status = chat::post_status::bad_reply;
    else if (status == "bad_attachment") o.status = chat::post_status::bad_attachment;
    else o.status = chat::post_status::client_id_reused;
    if (!r->is_null(i, 2)) {
      o.id = r->int64(i, 2);
      o.seq = r->int64(i, 3);
      o.created_at = col(*r, i, 4);
    }
    o.mentioned = split_words(r->text(i, 5));
    o.attachments_json = r->text(i, 6);
    out.push_back(std::move(o));
  }
  co_return out;
}

awaitable<result<std::optional<chat::message>>> repository::get_message(chat::message_id id) {
  REDOUBT_QUERY(r,
                std::string("SELECT ") + message_columns +
                    " FROM messages x JOIN users u ON u.id = x.author_id WHERE x.id = $1",
                params{p(id)});
  if (r->size() == 0) co_return std::optional<chat::message>{};
  co_return std::optional<chat::message>(read_message(*r, 0));
}

awaitable<result<std::optional<std::pair<chat::room_id, chat::seq_t>>>> repository::edit_message(
    chat::message_id id, const std::string& body, chat::user_id actor, std::string& edited_at) {
  using out_t = std::optional<std::pair<chat::room_id, chat::seq_t>>;
  REDOUBT_QUERY(r, "SELECT room_id, seq, edited_at FROM edit_message($1, $2, $3)",
                params{p(id), p(body), p(actor)});
  if (r->size() == 0) co_return out_t{};
  edited_at = col(*r, 0, 2);
  co_return out_t(std::pair{r->int64(0, 0), r->int64(0, 1)});
}

awaitable<result<std::optional<std::pair<chat::room_id, chat::seq_t>>>> repository::delete_message(
    chat::message_id id, chat::user_id actor) {
  using out_t = std::optional<std::pair<chat::room_id, chat::seq_t>>;
  REDOUBT_QUERY(r, "SELECT room_id, seq FROM delete_message($1, $2)", params{p(id), p(actor)});
  if (r->size() == 0) co_return out_t{};
  co_return out_t(std::pair{r->int64(0, 0), r->int64(0, 1)});
}

awaitable<result<std::optional<std::pair<chat::room_id, chat::seq_t>>>> repository::set_reaction(
    chat::message_id id, chat::user_id user, const std::string& emoji, bool add) {
  using out_t = std::optional<std::pair<chat::room_id, chat::seq_t>>;
  REDOUBT_QUERY(r, "SELECT room_id, seq FROM set_reaction($1, $2, $3, $4)",
                params{p(id), p(user), p(emoji), p(add)});
  if (r->size() == 0) co_return out_t{};
  co_return out_t(std::pair{r->int64(0, 0), r->int64(0, 1)});
}

awaitable<result<std::vector<chat::message>>> repository::history(chat::room_id room,
                                                                  chat::seq_t before, int limit) {
  REDOUBT_QUERY(r,
                std::string("SELECT ") + message_columns +
                    " FROM messages x JOIN users u ON u.id = x.author_id WHERE x.room_id = $1 AND "
                    "($2 = 0 OR x.seq < $2) ORDER BY x.seq DESC LIMIT $3",
                params{p(room), p(before), p(static_cast<std::int64_t>(limit))});
  std::vector<chat::message> out;
  for (int i = 0; i < r->size(); ++i) out.push_back(read_message(*r, i));
  co_return out;
}

awaitable<result<std::vector<replay_item>>> repository::replay(chat::room_id room, chat::seq_t after,
                                                               int limit) {
  // Seqs are gapless across messages and room_events, so the range (after, after+limit]
  // holds at most `limit` items.
  std::vector<db::statement> stmts;
  stmts.push_back({"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", {}});
  std::string msg_sql = std::string("SELECT ") + message_columns +
                        " FROM messages x JOIN users u ON u.id = x.author_id WHERE x.room_id = $1 "
                        "AND x.seq > $2 AND x.seq <= $2 + $3 ORDER BY x.seq";
  stmts.push_back({msg_sql, params{p(room), p(after), p(static_cast<std::int64_t>(limit))}});
  stmts.push_back({"SELECT room_id, seq, kind, actor_id, data::text, iso(created_at) FROM room_events "
                   "WHERE room_id = $1 AND seq > $2 AND seq <= $2 + $3 ORDER BY seq",
                   params{p(room), p(after), p(static_cast<std::int64_t>(limit))}});
  stmts.push_back({"COMMIT", {}});
  auto lease = co_await pool_->acquire();
  if (!lease) co_return lease.error();
  auto res = co_await (*lease)->pipeline(stmts);
  if (!res) co_return res.error();
  const auto& msgs = (*res)[1];
  const auto& evs = (*res)[2];
  std::vector<replay_item> out;
  out.reserve(msgs.size() + evs.size());
  int i = 0, j = 0;
  while (i < msgs.size() || j < evs.size()) {
    bool take_msg = j >= evs.size() || (i < msgs.size() && msgs.int64(i, 2) < evs.int64(j, 1));
    if (take_msg) {
      out.emplace_back(read_message(msgs, i++));
    } else {
      chat::room_event e;
      e.room = evs.int64(j, 0);
      e.seq = evs.int64(j, 1);
      e.kind = col(evs, j, 2);
      if (!evs.is_null(j, 3)) e.actor = evs.int64(j, 3);
      e.payload_json = col(evs, j, 4);
      e.created_at = col(evs, j, 5);
      out.emplace_back(std::move(e));
      ++j;
    }
  }
  co_return out;
}

awaitable<result<std::optional<chat::room_event>>> repository::event_at(chat::room_id room,
                                                                        chat::seq_t seq) {
  REDOUBT_QUERY(r,
                "SELECT room_id, seq, kind, actor_id, data::text, iso(created_at) FROM room_events "
                "WHERE room_id = $1 AND seq = $2",
                params{p(room), p(seq)});
  if (r->size() == 0) co_return std::optional<chat::room_event>{};
  chat::room_event e;
  e.room = r->int64(0, 0);
  e.seq = r->int64(0, 1);
  e.kind = col(*r, 0, 2);
  if (!r->is_null(0, 3)) e.actor = r->int64(0, 3);
  e.payload_json = col(*r, 0, 4);
  e.created_at = col(*r, 0, 5);
  co_return std::optional<chat::room_event>(std::move(e));
}

}  // namespace redoubt::storage
