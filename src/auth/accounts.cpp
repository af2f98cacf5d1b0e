#include "auth/accounts.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "base/log.hpp"
#include "crypto/crypto.hpp"
#include "proto/frames.hpp"
#include "proto/text.hpp"

namespace redoubt::auth {
namespace json = boost::json;
namespace asio = boost::asio;

accounts::accounts(account_store& store, audit::recorder& audit, const auth_settings& settings,
                   password_policy policy)
    : store_(store),
      audit_(audit),
      settings_(settings),
      policy_(std::move(policy)),
      hash_pool_(static_cast<std::size_t>(std::max(1, settings.hash_threads))),
      login_by_pair_(settings.login_failures_per_minute / 60.0, settings.login_failures_per_minute),
      login_by_ip_(settings.login_failures_per_minute_per_ip / 60.0, settings.login_failures_per_minute_per_ip),
      // A bucket lets through its burst plus one hour of refill in any hour: half each keeps
      // the two shares together at login_failures_per_hour_per_account.
      login_by_account_(
          (settings.login_failures_per_hour_per_account - settings.login_failures_reserved_for_known_ips) / 7200.0,
          std::max(1.0, (settings.login_failures_per_hour_per_account -
                         settings.login_failures_reserved_for_known_ips) / 2.0)),
      login_by_account_known_(settings.login_failures_reserved_for_known_ips / 7200.0,
                              std::max(1.0, settings.login_failures_reserved_for_known_ips / 2.0)),
      signup_by_ip_(settings.signups_per_hour_per_ip / 3600.0, settings.signups_per_hour_per_ip),
      reset_by_ip_(settings.password_resets_per_hour_per_ip / 3600.0, settings.password_resets_per_hour_per_ip),
      reset_by_address_(settings.password_resets_per_hour_per_address / 3600.0,
                        settings.password_resets_per_hour_per_address) {}

accounts::~accounts() { shutdown(); }

void accounts::shutdown() {
  hash_pool_.stop();
  hash_pool_.join();
}

namespace {
// Run on the hashing pool. Plain functions with by-value parameters rather than capturing
// lambdas: g++ 12 mishandles captures of lambda coroutines.
asio::awaitable<result<std::string>> hash_task(secret_string password, std::uint64_t ops, std::uint64_t mem) {
  co_return crypto::hash_password(password, ops, mem);
}

// The key of the (username, IP) budget.
std::string login_pair(const std::string& username, const std::string& ip) { return username + '\n' + ip; }

asio::awaitable<bool> verify_task(secret_string password, std::string hash) {
  co_return crypto::verify_password(password, hash);
}
}  // namespace

awaitable<result<std::string>> accounts::hash(const secret_string& password) {
  auto r = co_await asio::co_spawn(
      hash_pool_, hash_task(password, settings_.argon2_opslimit, settings_.argon2_memlimit_kib * 1024),
      asio::use_awaitable);
  co_return r;
}

awaitable<bool> accounts::verify(const secret_string& password, std::string hash) {
  bool ok = co_await asio::co_spawn(hash_pool_, verify_task(password, std::move(hash)), asio::use_awaitable);
  co_return ok;
}

awaitable<result<new_session>> accounts::open_session(const chat::user& account, const client_info& client) {
  new_session s;
  s.account = account;
  s.token = secret_string(crypto::random_token());
  auto id = co_await store_.create_session(account.id, crypto::token_hash(s.token.reveal()),
                                          settings_.session_absolute_timeout.count(),
                                          client.user_agent, client.ip);
  if (!id) co_return id.error();
  s.session_id = *id;
  co_return s;
}

awaitable<result<new_session>> accounts::register_user(const std::string& username_in,
                                                       const std::string& email,
                                                       const secret_string& password,
                                                       const client_info& client) {
  auto username = proto::ascii_lower(username_in);
  if (!proto::valid_username(username))
    co_return make_error(errc::invalid_argument,
                         "username must be 2-32 of a-z, 0-9, '_', '.', '-' and start with a letter or digit");
  if (!proto::valid_email(email)) co_return make_error(errc::invalid_argument, "email address is not valid");
  if (auto ok = policy_.check(password.reveal(), username); !ok) co_return ok.error();
  std::chrono::seconds retry{0};
  if (!signup_by_ip_.allow(client.ip, &retry))
    co_return make_error(errc::resource_exhausted,
                         "too many sign-ups from this address; retry in " + std::to_string(retry.count()) + " s");
  auto h = co_await hash(password);
  if (!h) co_return h.error();
  new_session out;
  out.token = secret_string(crypto::random_token());
  const sign_up request{username,         email,      *h, crypto::token_hash(out.token.reveal()),
                        settings_.session_absolute_timeout.count(), client.user_agent, client.ip,
                        client.request_id};
  auto created = co_await store_.register_account(request);
  if (!created) {
    // Usernames are public; whether an address has an account is not (see register_account).
    if (created.error().code == errc::already_exists)
      co_return make_error(errc::already_exists, "username already taken");
    co_return created.error();
  }
  out.account = created->account;
  out.session_id = created->session_id;
  log::info("user_registered",
            {{"user_id", out.account.id}, {"admin", out.account.is_admin}, {"request_id", client.request_id}});
  if (on_job_queued_) on_job_queued_();
  co_return out;
}

namespace {
bool plausible_token(std::string_view t) {
  if (t.size() != 43) return false;
  for (char c : t)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  return true;
}
}  // namespace

awaitable<result<void>> accounts::verify_email(std::string_view token, const client_info& client) {
  std::optional<chat::user_id> user;
  if (plausible_token(token)) {
    auto r = co_await store_.consume_verification_token(crypto::token_hash(token));
    if (!r) co_return r.error();
    user = *r;
  }
  const audit::entry audit_record{user, "user.verify_email", user ? "user:" + std::to_string(*user) : "-",
                                          client.ip, client.request_id, user ? "ok" : "rejected"};
  co_await audit_.record(audit_record);
  if (!user) co_return make_error(errc::invalid_argument, "the link is invalid, used or expired");
  co_return result<void>{};
}

awaitable<result<void>> accounts::request_password_reset(const std::string& email, const client_info& client) {
  if (!proto::valid_email(email)) co_return make_error(errc::invalid_argument, "email address is not valid");
  // Keyed by the address whether or not it has an account: the answer reveals nothing.
  std::chrono::seconds retry{0};
  bool allowed = reset_by_ip_.allow(client.ip, &retry);
  if (allowed && !reset_by_address_.allow(proto::ascii_lower(email), &retry)) {
    reset_by_ip_.give_back(client.ip);
    allowed = false;
  }
  if (!allowed) {
    const audit::entry throttled{std::nullopt, "user.password_reset_request", "-", client.ip, client.request_id,
                                 "throttled"};
    co_await audit_.record(throttled);
    co_return make_error(errc::resource_exhausted, "too many password reset requests; retry in " +
                                                        std::to_string(retry.count()) + " s");
  }
  auto queued = co_await store_.enqueue_job_for_email("password_reset", email, client.request_id);
  if (!queued) co_return queued.error();
  // Whether an account exists is in the audit log, never in the answer.
  const audit::entry audit_record{std::nullopt, "user.password_reset_request", "-", client.ip,
                                          client.request_id, *queued ? "ok" : "no_account"};
  co_await audit_.record(audit_record);
  if (*queued && on_job_queued_) on_job_queued_();
  co_return result<void>{};
}

awaitable<result<void>> accounts::reset_password(std::string_view token, const secret_string& password,
                                                 const client_info& client) {
  const auto invalid = make_error(errc::invalid_argument, "the link is invalid, used or expired");
  if (!plausible_token(token)) co_return invalid;
  auto hash_of_token = crypto::token_hash(token);
  auto owner = co_await store_.email_token_owner("password_reset", hash_of_token);
  if (!owner) co_return owner.error();
  if (!*owner) co_return invalid;
  if (auto ok = policy_.check(password.reveal(), (*owner)->username); !ok) co_return ok.error();
  auto h = co_await hash(password);
  if (!h) co_return h.error();
  auto user = co_await store_.consume_reset_token(hash_of_token, *h);
  if (!user) co_return user.error();
  const audit::entry audit_record{*user, "user.password_reset",
                                          *user ? "user:" + std::to_string(**user) : "-", client.ip,
                                          client.request_id, *user ? "ok" : "rejected"};
  co_await audit_.record(audit_record);
  if (!*user) co_return invalid;
  sessions_ended(chat::session_end{**user, std::nullopt, std::nullopt});
  log::info("password_reset", {{"user_id", **user}, {"request_id", client.request_id}});
  co_return result<void>{};
}

awaitable<result<void>> accounts::change_password(const chat::session_info& session, const secret_string& current,
                                                  const secret_string& next, bool end_other_sessions,
                                                  const client_info& client) {
  const auto& name = session.account.username;
  std::chrono::seconds retry{1};
  const auto pair = login_pair(name, client.ip);
  if (!login_by_pair_.allow(pair, &retry))
    co_return make_error(errc::resource_exhausted, "too many attempts; try again later");
  auto creds = co_await store_.find_credentials(name);
  if (!creds || !*creds) login_by_pair_.give_back(pair);
  if (!creds) co_return creds.error();
  if (!*creds) co_return make_error(errc::unauthenticated, "not signed in");
  const bool current_ok = co_await verify(current, (*creds)->password_hash);
  if (current_ok) login_by_pair_.give_back(pair);
  if (!current_ok) {
    const audit::entry denied{session.account.id, "user.password_change",
                                      "user:" + std::to_string(session.account.id), client.ip, client.request_id,
                                      "denied"};
    co_await audit_.record(denied);
    co_return make_error(errc::permission_denied, "the current password is wrong");
  }
  if (auto ok = policy_.check(next.reveal(), name); !ok) co_return ok.error();
  auto h = co_await hash(next);
  if (!h) co_return h.error();
  const std::optional<std::int64_t> keep = end_other_sessions ? std::optional<std::int64_t>(session.id) : std::nullopt;
  auto ok = co_await store_.change_password(session.account.id, *h, keep);
  if (!ok) co_return ok.error();
  if (keep) sessions_ended(chat::session_end{session.account.id, std::nullopt, keep});
  json::object details{{"ended_other_sessions", end_other_sessions}};
  const audit::entry done{session.account.id, "user.password_change",
                                  "user:" + std::to_string(session.account.id), client.ip, client.request_id, "ok",
                                  json::serialize(details)};
  co_await audit_.record(done);
  co_return result<void>{};
}

awaitable<result<chat::user>> accounts::set_display_name(const chat::session_info& session, const std::string& name,
                                                         const client_info& client) {
  auto clean = proto::validate_display_name(name);
  if (!clean) co_return clean.error();
  auto user = co_await store_.set_display_name(session.account.id, *clean);
  if (!user) co_return user.error();
  if (!*user) co_return make_error(errc::unauthenticated, "not signed in");
  const audit::entry entry{session.account.id, "user.set_display_name",
                                   "user:" + std::to_string(session.account.id), client.ip, client.request_id};
  co_await audit_.record(entry);
  co_return std::move(**user);
}

awaitable<result<chat::user>> accounts::create_admin(const std::string& username_in, const std::string& email,
                                                     const secret_string& password) {
  auto username = proto::ascii_lower(username_in);
  if (!proto::valid_username(username)) co_return make_error(errc::invalid_argument, "invalid username");
  if (!proto::valid_email(email)) co_return make_error(errc::invalid_argument, "invalid email");
  if (auto ok = policy_.check(password.reveal(), username); !ok) co_return ok.error();
  auto h = co_await hash(password);
  if (!h) co_return h.error();
  auto user = co_await store_.create_user(username, email, *h, true, "");
  if (user) {
    const audit::entry audit_record{std::nullopt, "user.create_admin", "user:" + std::to_string(user->id), "", "cli"};
    co_await audit_.record(audit_record);
  }
  co_return user;
}

awaitable<error> accounts::refuse_login(const std::string& username, const client_info& client,
                                        std::chrono::seconds retry) {
  const audit::entry audit_record{std::nullopt, "auth.login", "username:" + proto::header_text(username, 32),
                                  client.ip, client.request_id, "throttled"};
  co_await audit_.record(audit_record);
  co_return make_error(errc::resource_exhausted,
                       "too many login attempts; retry in " + std::to_string(std::max<long>(1, retry.count())) + " s");
}

awaitable<rate_limiter*> accounts::account_budget(const std::string& username,
                                                  const std::optional<chat::user_credentials>& creds,
                                                  const client_info& client, std::chrono::seconds& retry) {
  if (login_by_account_.allow(username, &retry)) co_return &login_by_account_;
  // The shared part is spent (someone is guessing this account): only IPs the account has
  // signed in from before may draw on the reserve. Unknown usernames have no reserve.
  if (!creds || settings_.login_failures_reserved_for_known_ips <= 0) co_return nullptr;
  auto known = co_await store_.signed_in_from(creds->account.id, client.ip);
  if (!known || !*known) co_return nullptr;
  std::chrono::seconds known_retry{0};
  if (!login_by_account_known_.allow(username, &known_retry)) co_return nullptr;
  co_return &login_by_account_known_;
}

awaitable<result<new_session>> accounts::login(const std::string& username_in, const secret_string& password,
                                               const client_info& client) {
  auto username = proto::ascii_lower(username_in);
  const auto pair = login_pair(username, client.ip);
  std::chrono::seconds retry{0};
  // Each attempt draws one failure from every budget before the (slow) password check, so that
  // parallel attempts cannot overdraw them; a success, or an attempt never checked, gives it back.
  if (!login_by_ip_.allow(client.ip, &retry)) co_return co_await refuse_login(username, client, retry);
  if (!login_by_pair_.allow(pair, &retry)) {
    login_by_ip_.give_back(client.ip);
    co_return co_await refuse_login(username, client, retry);
  }
  auto creds = co_await store_.find_credentials(username);
  rate_limiter* budget = nullptr;
  if (creds) budget = co_await account_budget(username, *creds, client, retry);
  if (!creds || !budget) {
    login_by_ip_.give_back(client.ip);
    login_by_pair_.give_back(pair);
    if (!creds) co_return creds.error();
    co_return co_await refuse_login(username, client, retry);
  }
  // Unknown users cost the same hashing time as known ones: no username oracle by timing.
  std::string stored = *creds ? (*creds)->password_hash
                              : crypto::dummy_password_hash(settings_.argon2_opslimit,
                                                            settings_.argon2_memlimit_kib * 1024);
  bool ok = co_await verify(password, stored);
  if (!ok || !*creds || (*creds)->account.disabled) {
    const audit::entry audit_record{*creds ? std::optional((*creds)->account.id) : std::nullopt, "auth.login",
                                    "username:" + proto::header_text(username, 32), client.ip, client.request_id,
                                    "denied"};
    co_await audit_.record(audit_record);
    co_return make_error(errc::unauthenticated, "wrong username or password");
  }
  login_by_ip_.give_back(client.ip);
  login_by_pair_.give_back(pair);
  budget->give_back(username);
  const auto& account = (*creds)->account;
  if (crypto::password_needs_rehash(stored, settings_.argon2_opslimit, settings_.argon2_memlimit_kib * 1024)) {
    if (auto h = co_await hash(password)) co_await store_.update_password_hash(account.id, *h);
  }
  auto s = co_await open_session(account, client);
  if (s) {
    const audit::entry audit_record{account.id, "auth.login", "session:" + std::to_string(s->session_id), client.ip,
                                    client.request_id, "ok"};
    co_await audit_.record(audit_record);
  }
  co_return s;
}

awaitable<result<chat::session_info>> accounts::authenticate(std::string_view token) {
  if (token.empty() || token.size() > 128) co_return make_error(errc::unauthenticated, "not signed in");
  auto s = co_await store_.find_session(crypto::token_hash(token), settings_.session_idle_timeout.count());
  if (!s) co_return s.error();
  if (!*s) co_return make_error(errc::unauthenticated, "not signed in");
  co_return std::move(**s);
}

awaitable<result<void>> accounts::logout(const chat::session_info& session, const client_info& client) {
  auto r = co_await store_.revoke_session(session.account.id, session.id);
  if (!r) co_return r.error();
  sessions_ended(chat::session_end{session.account.id, session.id, std::nullopt});
  {
    const audit::entry audit_record{session.account.id, "auth.logout", "session:" + std::to_string(session.id), client.ip,
                        client.request_id, "ok"};
    co_await audit_.record(audit_record);
  }
  co_return result<void>{};
}

}  // namespace redoubt::auth

namespace redoubt::auth {

awaitable<result<std::vector<chat::session_info>>> accounts::sessions(const chat::session_info& session) {
  co_return co_await store_.list_sessions(session.account.id);
}

awaitable<result<void>> accounts::revoke_session(const chat::session_info& session, std::int64_t session_id,
                                                 const client_info& client) {
  auto revoked = co_await store_.revoke_session(session.account.id, session_id);
  if (!revoked) co_return revoked.error();
  if (!*revoked) co_return make_error(errc::not_found, "session not found");
  sessions_ended(chat::session_end{session.account.id, session_id, std::nullopt});
  const audit::origin from{client.ip, client.request_id};
  co_await audit_.record(session.account.id, "session.revoke", audit::target("session", session_id), from);
  co_return result<void>{};
}

awaitable<result<std::vector<std::int64_t>>> accounts::live_sessions(const std::vector<std::int64_t>& session_ids) {
  co_return co_await store_.live_sessions(session_ids, settings_.session_idle_timeout.count());
}

}  // namespace redoubt::auth
