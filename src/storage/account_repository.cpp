#include "storage/account_repository.hpp"

#include "storage/sql_support.hpp"

namespace redoubt::storage {
namespace {

std::string select_users(std::string_view rest) { return "SELECT " + std::string(sql::user_columns) + std::string(rest); }

std::optional<chat::user> first_user(const db::rows& r) {
  return sql::first_row(r, sql::read_user);
}

std::optional<chat::user_id> first_user_id(const db::rows& r) {
  return sql::first_row(r, [](const row_ref& row) { return row.int64("id"); });
}

chat::session_info read_session(const row_ref& r) {
  using s = chat::session_info;
  return sql::read_columns(
      r, sql::col("session_id", &s::id), sql::col("session_created_at", &s::created_at),
      sql::col("last_seen_at", &s::last_seen_at), sql::col("expires_at", &s::expires_at),
      sql::col("user_agent", &s::user_agent), sql::col("ip", &s::ip), sql::col("seconds_left", &s::seconds_left));
}

chat::session_info read_session_of_user(const row_ref& r) {
  auto s = read_session(r);
  s.account = sql::read_user(r);
  return s;
}

// At most one live link per user and purpose: a newer token (a later request) replaces the
// older ones. For email_tokens aliased t.
constexpr std::string_view newest_token =
    "NOT EXISTS (SELECT 1 FROM email_tokens n WHERE n.user_id = t.user_id AND n.purpose = t.purpose "
    "AND n.created_at > t.created_at)";

constexpr std::string_view session_columns =
    "s.id AS session_id, iso(s.created_at) AS session_created_at, iso(s.last_seen_at) AS last_seen_at, "
    "iso(s.expires_at) AS expires_at, s.user_agent, s.ip, "
    "greatest(0, ceil(extract(epoch FROM s.expires_at - now())))::bigint AS seconds_left";

}  // namespace

awaitable<result<chat::user>> account_repository::create_user(const std::string& username, const std::string& email,
                                                              const std::string& password_hash, bool force_admin,
                                                              const std::string& verification_correlation) {
  // The first account of an installation becomes its administrator. The verification email
  // job is written by the same statement: both happen or neither.
  REDOUBT_QUERY(r,
                "WITH u AS (INSERT INTO users (username, email, password_hash, is_admin) "
                "VALUES ($1, $2, $3, $4 OR NOT EXISTS (SELECT 1 FROM users)) RETURNING *), "
                "job AS (INSERT INTO outbox (kind, payload, correlation_id) "
                "SELECT 'verify_email', jsonb_build_object('user_id', u.id), $5 FROM u WHERE $5 <> '') " +
                    select_users(" FROM u"),
                params{p(username), p(email), p(password_hash), p(force_admin), p(verification_correlation)});
  co_return sql::read_user(row_ref(*r, 0));
}

awaitable<result<auth::signed_up>> account_repository::register_account(const auth::sign_up& s) {
  // One statement, so one transaction: a failure anywhere (a taken name, a bad value) leaves
  // no account without its session, job or audit row. An address already in use does not fail
  // (that would reveal the account): the new account is created the same way, and the owner of
  // the address (verified first, else the oldest) is mailed instead of a verification link.
  REDOUBT_QUERY(r,
                "WITH owner AS (SELECT id FROM users WHERE lower(email) = lower($2) "
                "ORDER BY email_verified DESC, id LIMIT 1), "
                "u AS (INSERT INTO users (username, email, password_hash, is_admin) "
                "VALUES ($1, $2, $3, NOT EXISTS (SELECT 1 FROM users)) RETURNING *), "
                "job AS (INSERT INTO outbox (kind, payload, correlation_id) "
                "SELECT 'verify_email', jsonb_build_object('user_id', u.id), $8::text FROM u "
                "WHERE NOT EXISTS (SELECT 1 FROM owner)), "
                "notice AS (INSERT INTO outbox (kind, payload, correlation_id) "
                "SELECT 'signup_existing_email', jsonb_build_object('user_id', owner.id), $8::text "
                "FROM owner, u), "
                "s AS (INSERT INTO sessions (user_id, token_hash, expires_at, user_agent, ip) "
                "SELECT u.id, $4::text, now() + make_interval(secs => $5::bigint), $6::text, $7::text FROM u "
                "RETURNING id), "
                "a AS (INSERT INTO audit_log (actor_id, action, target, ip, request_id, outcome, details) "
                "SELECT u.id, 'user.register', 'user:' || u.id, $7::text, $8::text, 'ok', "
                "jsonb_strip_nulls(jsonb_build_object('admin', CASE WHEN u.is_admin THEN true END, "
                "'email_in_use', CASE WHEN EXISTS (SELECT 1 FROM owner) THEN true END)) FROM u) " +
                    select_users(", (SELECT id FROM s) AS session_id FROM u"),
                params{p(s.username), p(s.email), p(s.password_hash), p(s.session_token_hash),
                       p(s.session_seconds), p(s.user_agent), p(s.ip), p(s.request_id)});
  const row_ref row(*r, 0);
  co_return auth::signed_up{sql::read_user(row), row.int64("session_id")};
}

awaitable<result<bool>> account_repository::enqueue_job_for_email(const std::string& kind, const std::string& email,
                                                                  const std::string& correlation_id) {
  REDOUBT_QUERY(r,
                "INSERT INTO outbox (kind, payload, correlation_id, expires_at) "
                "SELECT $1, jsonb_build_object('user_id', id), $3, now() + interval '1 hour' FROM users "
                "WHERE id = (SELECT id FROM users WHERE lower(email) = lower($2) "
                "ORDER BY email_verified DESC, id LIMIT 1) AND NOT disabled",
                params{p(kind), p(email), p(correlation_id)});
  co_return r->affected() > 0;
}

awaitable<result<std::optional<auth::token_owner>>> account_repository::email_token_owner(
    const std::string& purpose, const std::string& token_hash) {
  REDOUBT_QUERY(r,
                "SELECT u.id, u.username FROM email_tokens t JOIN users u ON u.id = t.user_id "
                "WHERE t.token_hash = $1 AND t.purpose = $2 AND t.used_at IS NULL AND t.expires_at > now() "
                "AND NOT u.disabled AND " + std::string(newest_token),
                params{p(token_hash), p(purpose)});
  co_return sql::first_row(*r, [](const row_ref& row) {
    return auth::token_owner{row.int64("id"), row.text("username")};
  });
}

awaitable<result<std::optional<chat::user_id>>> account_repository::consume_verification_token(
    const std::string& token_hash) {
  REDOUBT_QUERY(r,
                "WITH t AS (UPDATE email_tokens SET used_at = now() WHERE token_hash = $1 AND purpose = 'verify_email' "
                "AND used_at IS NULL AND expires_at > now() RETURNING user_id) "
                "UPDATE users SET email_verified = true FROM t WHERE users.id = t.user_id AND NOT users.disabled "
                "AND NOT EXISTS (SELECT 1 FROM users o WHERE lower(o.email) = lower(users.email) AND o.email_verified) "
                "RETURNING users.id",
                params{p(token_hash)});
  co_return first_user_id(*r);
}

awaitable<result<std::optional<chat::user_id>>> account_repository::consume_reset_token(
    const std::string& token_hash, const std::string& password_hash) {
  // One statement: the token is spent, the password replaced, every session of the user ended,
  // and the user's other reset links die with it.
  REDOUBT_QUERY(r,
                "WITH t AS (UPDATE email_tokens t SET used_at = now() WHERE t.token_hash = $1 AND t.purpose = 'password_reset' "
                "AND t.used_at IS NULL AND t.expires_at > now() AND " + std::string(newest_token) + " RETURNING t.user_id), "
                "u AS (UPDATE users SET password_hash = $2 FROM t WHERE users.id = t.user_id AND NOT users.disabled "
                "RETURNING users.id), "
                "s AS (UPDATE sessions SET revoked_at = now() WHERE user_id IN (SELECT id FROM u) AND revoked_at IS NULL), "
                "x AS (UPDATE email_tokens SET used_at = now() WHERE user_id IN (SELECT id FROM u) "
                "AND purpose = 'password_reset' AND used_at IS NULL AND token_hash <> $1) "
                "SELECT id FROM u",
                params{p(token_hash), p(password_hash)});
  co_return first_user_id(*r);
}

awaitable<result<bool>> account_repository::record_webhook_event(const std::string& event_id) {
  REDOUBT_QUERY(r,
                "WITH gone AS (DELETE FROM webhook_events WHERE received_at < now() - interval '1 day') "
                "INSERT INTO webhook_events (event_id) VALUES ($1) ON CONFLICT DO NOTHING",
                params{p(event_id)});
  co_return r->affected() > 0;
}

awaitable<result<void>> account_repository::apply_email_event(const std::string& type, const std::string& recipient,
                                                              const std::string& provider_message_id) {
  REDOUBT_QUERY(r,
                "WITH d AS (UPDATE email_deliveries SET status = CASE WHEN $1 = 'delivered' THEN 'delivered' "
                "ELSE 'bounced' END WHERE $3 <> '' AND provider_message_id = $3 AND lower(recipient) = lower($2)) "
                "UPDATE users SET email_undeliverable = true WHERE $1 IN ('bounced', 'complained') "
                "AND lower(email) = lower($2)",
                params{p(type), p(recipient), p(provider_message_id)});
  co_return result<void>{};
}

awaitable<result<std::optional<chat::user_credentials>>> account_repository::find_credentials(
    const std::string& username) {
  REDOUBT_QUERY(r, select_users(", u.password_hash FROM users u WHERE u.username = $1"), params{p(username)});
  co_return sql::first_row(*r, [](const row_ref& row) {
    return chat::user_credentials{sql::read_user(row), row.text("password_hash")};
  });
}

awaitable<result<std::optional<chat::user>>> account_repository::find_user_by_id(chat::user_id id) {
  REDOUBT_QUERY(r, select_users(" FROM users u WHERE u.id = $1"), params{p(id)});
  co_return first_user(*r);
}

awaitable<result<bool>> account_repository::signed_in_from(chat::user_id id, const std::string& ip) {
  REDOUBT_QUERY(r, "SELECT EXISTS (SELECT 1 FROM sessions WHERE user_id = $1 AND ip = $2) AS known",
                params{p(id), p(ip)});
  co_return row_ref(*r, 0).boolean("known");
}

awaitable<result<void>> account_repository::update_password_hash(chat::user_id id, const std::string& hash) {
  REDOUBT_QUERY(r, "UPDATE users SET password_hash = $2 WHERE id = $1", params{p(id), p(hash)});
  co_return result<void>{};
}

awaitable<result<void>> account_repository::change_password(chat::user_id id, const std::string& hash,
                                                            std::optional<std::int64_t> keep_only_session) {
  REDOUBT_QUERY(r,
                "WITH u AS (UPDATE users SET password_hash = $2 WHERE id = $1 RETURNING id) "
                "DELETE FROM sessions s USING u WHERE s.user_id = u.id AND $3::bigint IS NOT NULL AND s.id <> $3",
                params{p(id), p(hash), sql::p_opt(keep_only_session)});
  co_return result<void>{};
}

awaitable<result<std::optional<chat::user>>> account_repository::set_display_name(chat::user_id id,
                                                                                  const std::string& name) {
  REDOUBT_QUERY(r, "UPDATE users u SET display_name = $2 WHERE u.id = $1 RETURNING " + std::string(sql::user_columns),
                params{p(id), p(name)});
  co_return first_user(*r);
}

awaitable<result<std::vector<chat::user>>> account_repository::list_users(int limit) {
  REDOUBT_QUERY(r, select_users(" FROM users u ORDER BY u.id LIMIT $1"), params{p(static_cast<std::int64_t>(limit))});
  co_return sql::all_rows(*r, sql::read_user);
}

awaitable<result<std::optional<chat::user>>> account_repository::update_account(chat::user_id id,
                                                                                const auth::account_change& change) {
  REDOUBT_QUERY(r,
                "WITH u AS (UPDATE users u SET disabled = coalesce($2::boolean, u.disabled), "
                "is_admin = coalesce($3::boolean, u.is_admin) WHERE u.id = $1 RETURNING u.*), "
                "gone AS (DELETE FROM sessions s USING u WHERE s.user_id = u.id AND u.disabled) " +
                    select_users(" FROM u"),
                params{p(id), sql::p_opt(change.disabled), sql::p_opt(change.is_admin)});
  co_return first_user(*r);
}

awaitable<result<std::int64_t>> account_repository::create_session(chat::user_id user, const std::string& token_hash,
                                                                   std::int64_t absolute_seconds,
                                                                   const std::string& user_agent,
                                                                   const std::string& ip) {
  REDOUBT_QUERY(r,
                "INSERT INTO sessions (user_id, token_hash, expires_at, user_agent, ip) "
                "VALUES ($1, $2, now() + make_interval(secs => $3), left($4, 256), $5) RETURNING id",
                params{p(user), p(token_hash), p(absolute_seconds), p(user_agent), p(ip)});
  co_return row_ref(*r, 0).int64("id");
}

awaitable<result<std::optional<chat::session_info>>> account_repository::find_session(const std::string& token_hash,
                                                                                      std::int64_t idle_seconds) {
  // Touches last_seen_at at most once a minute to keep reads cheap.
  REDOUBT_QUERY(r,
                "WITH s AS (SELECT s.last_seen_at AS seen, " + std::string(session_columns) + ", " + std::string(sql::user_columns) +
                    " FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND "
                    "s.revoked_at IS NULL AND s.expires_at > now() AND "
                    "s.last_seen_at > now() - make_interval(secs => $2) AND NOT u.disabled), "
                    "touch AS (UPDATE sessions SET last_seen_at = now() WHERE id IN "
                    "(SELECT session_id FROM s WHERE seen < now() - interval '60 seconds')) "
                    "SELECT * FROM s",
                params{p(token_hash), p(idle_seconds)});
  co_return sql::first_row(*r, read_session_of_user);
}

awaitable<result<std::vector<chat::session_info>>> account_repository::list_sessions(chat::user_id user) {
  REDOUBT_QUERY(r,
                "SELECT " + std::string(session_columns) +
                    " FROM sessions s WHERE s.user_id = $1 AND s.revoked_at IS NULL AND s.expires_at > now() "
                    "ORDER BY s.id",
                params{p(user)});
  std::vector<chat::session_info> out;
  for (int i = 0; i < r->size(); ++i) {
    auto s = read_session(row_ref(*r, i));
    s.account.id = user;
    out.push_back(std::move(s));
  }
  co_return out;
}

awaitable<result<bool>> account_repository::revoke_session(chat::user_id user, std::int64_t session_id) {
  REDOUBT_QUERY(r, "UPDATE sessions SET revoked_at = now() WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
                params{p(session_id), p(user)});
  co_return r->affected() > 0;
}

awaitable<result<std::vector<std::int64_t>>> account_repository::live_sessions(
    const std::vector<std::int64_t>& session_ids, std::int64_t idle_seconds) {
  // Touches last_seen_at at most once a minute, as find_session does.
  REDOUBT_QUERY(r,
                "WITH live AS (SELECT s.id, s.last_seen_at FROM sessions s JOIN users u ON u.id = s.user_id "
                "WHERE s.id = ANY($1::bigint[]) AND s.revoked_at IS NULL AND s.expires_at > now() AND "
                "s.last_seen_at > now() - make_interval(secs => $2) AND NOT u.disabled), "
                "touch AS (UPDATE sessions SET last_seen_at = now() WHERE id IN "
                "(SELECT id FROM live WHERE last_seen_at < now() - interval '60 seconds')) "
                "SELECT id FROM live",
                params{sql::int64_array(session_ids), p(idle_seconds)});
  co_return sql::all_rows(*r, [](const row_ref& row) { return row.int64("id"); });
}

}  // namespace redoubt::storage
