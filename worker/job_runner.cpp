#include "job_runner.hpp"

#include <ctime>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "base/log.hpp"
#include "crypto/crypto.hpp"
#include "queue/envelope.hpp"
#include "queue/job_types.hpp"

namespace redoubt::worker {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// Blocking calls run on the pool. Free functions, not capturing lambdas (g++ 12).
asio::awaitable<void> ack_task(std::shared_ptr<queue::delivery> d) {
  d->ack();
  co_return;
}
asio::awaitable<void> nak_task(std::shared_ptr<queue::delivery> d, std::chrono::milliseconds delay) {
  d->nak(delay);
  co_return;
}
asio::awaitable<void> term_task(std::shared_ptr<queue::delivery> d) {
  d->term();
  co_return;
}
asio::awaitable<void> dead_letter_task(queue::job_consumer* c, std::string reason, std::string data,
                                       std::string job_id) {
  c->dead_letter(reason, data, job_id);
  co_return;
}
asio::awaitable<email::send_outcome> send_task(email::sender* s, email::email_message m) {
  co_return s->send(m);
}

std::string text_of(std::string_view s, std::size_t max) {
  std::string out;
  for (unsigned char c : s.substr(0, max)) out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  return out;
}

}  // namespace

job_runner::job_runner(const worker_settings& s, storage::worker_repository& repo, email::sender& sender,
                       asio::thread_pool& blocking, queue::job_consumer& consumer,
                       std::map<std::string, std::string> trusted_keys, file_jobs* files)
    : s_(s),
      repo_(repo),
      sender_(sender),
      blocking_(blocking),
      consumer_(consumer),
      trusted_keys_(std::move(trusted_keys)),
      files_(files) {}

asio::awaitable<void> job_runner::reject(std::shared_ptr<queue::delivery> d, std::string reason, std::string job_id,
                                         std::string type, std::string correlation_id, bool verification_failed) {
  if (verification_failed) stats_.rejected_total.fetch_add(1);
  stats_.dead_lettered_total.fetch_add(1);
  log::warn("job_dead_lettered", {{"reason", reason},
                                  {"job_id", job_id},
                                  {"type", type},
                                  {"correlation_id", correlation_id},
                                  {"subject", text_of(d->subject(), 80)}});
  co_await asio::co_spawn(blocking_, dead_letter_task(&consumer_, reason, std::string(d->data()), job_id),
                          asio::use_awaitable);
  json::object details{{"reason", reason}, {"type", type}, {"subject", text_of(d->subject(), 80)},
                       {"delivery", d->delivery_count()}};
  const storage::audit_entry entry{std::nullopt, "job.dead_lettered", "job:" + (job_id.empty() ? "-" : job_id), "",
                                   correlation_id, "rejected", json::serialize(details)};
  auto audited = co_await repo_.audit(entry);
  if (!audited) {
    // Without the audit record the rejection must not vanish: let the broker redeliver it.
    log::error("job_audit_failed", {{"error", audited.error().message}});
    co_await asio::co_spawn(blocking_, nak_task(d, s_.retry_backoff), asio::use_awaitable);
    co_return;
  }
  co_await asio::co_spawn(blocking_, term_task(d), asio::use_awaitable);
}

asio::awaitable<void> job_runner::handle(std::shared_ptr<queue::delivery> d) {
  auto opened = queue::open(d->data(), d->header("Redoubt-Key-Id"), d->header("Redoubt-Signature"), trusted_keys_,
                            static_cast<std::int64_t>(std::time(nullptr)));
  if (!opened.ok) {
    std::string id = queue::valid_job_id(d->header("Nats-Msg-Id")) ? d->header("Nats-Msg-Id") : "";
    co_await reject(d, std::string(queue::rejection_name(opened.why)), id, "", "");
    co_return;
  }
  auto& job = opened.job;
  // The subject is not signed; it must agree with the signed type.
  if (d->subject() != "jobs." + job.type) {
    co_await reject(d, "malformed", job.id, job.type, job.correlation_id);
    co_return;
  }
  auto seen = co_await repo_.is_processed(job.id);
  if (!seen) {
    log::warn("job_db_unavailable", {{"job_id", job.id}, {"error", seen.error().message}});
    co_await asio::co_spawn(blocking_, nak_task(d, s_.retry_backoff), asio::use_awaitable);
    co_return;
  }
  if (*seen) {
    co_await reject(d, "replayed", job.id, job.type, job.correlation_id);
    co_return;
  }

  auto type = queue::job_type_from_string(job.type);
  if (!type) {
    co_await reject(d, "unknown_type", job.id, job.type, job.correlation_id);
    co_return;
  }
  const handler run = handler_for(*type);
  auto res = co_await (this->*run)(job);
  if (res.what == outcome::bad_payload) {
    co_await reject(d, "bad_payload", job.id, job.type, job.correlation_id);
    co_return;
  }

  if (res.what == outcome::done || res.what == outcome::skipped) {
    auto completed = co_await repo_.complete_job(job.id, job.type, res.what == outcome::done ? "done" : "skipped",
                                                 job.correlation_id);
    if (!completed) {
      // The effect happened; a redelivery finds no record and repeats it, and the provider drops
      // the repeat by idempotency key.
      log::warn("job_complete_failed", {{"job_id", job.id}, {"error", completed.error().message}});
      co_await asio::co_spawn(blocking_, nak_task(d, s_.retry_backoff), asio::use_awaitable);
      co_return;
    }
    (res.what == outcome::done ? stats_.done_total : stats_.skipped_total).fetch_add(1);
    log::info("job_done", {{"job_id", job.id},
                           {"type", job.type},
                           {"correlation_id", job.correlation_id},
                           {"outcome", res.what == outcome::done ? "done" : "skipped"},
                           {"delivery", d->delivery_count()}});
    co_await asio::co_spawn(blocking_, ack_task(d), asio::use_awaitable);
    co_return;
  }
  auto deliveries = d->delivery_count();
  if (res.what == outcome::retry && deliveries < static_cast<std::uint64_t>(s_.max_deliver)) {
    stats_.retried_total.fetch_add(1);
    auto delay = s_.retry_backoff * (1LL << std::min<std::uint64_t>(deliveries - 1, 10));
    log::warn("job_retry", {{"job_id", job.id},
                            {"type", job.type},
                            {"correlation_id", job.correlation_id},
                            {"delivery", deliveries},
                            {"delay_ms", static_cast<std::int64_t>(delay.count())},
                            {"error", res.error}});
    co_await asio::co_spawn(blocking_, nak_task(d, delay), asio::use_awaitable);
    co_return;
  }
  // Out of retries, or a permanent failure: recorded so the relay stops republishing it.
  log::warn("job_failed", {{"job_id", job.id}, {"type", job.type}, {"delivery", deliveries}, {"error", res.error}});
  co_await repo_.complete_job(job.id, job.type, "dead_lettered", job.correlation_id);
  co_await reject(d, "failed", job.id, job.type, job.correlation_id, false);
}

job_runner::handler job_runner::handler_for(queue::job_type type) noexcept {
  using queue::job_type;
  struct route {
    job_type type;
    handler run;
  };
  static constexpr route table[] = {
      {job_type::verify_email, &job_runner::run_verify_email},
      {job_type::password_reset, &job_runner::run_password_reset},
      {job_type::notify_unread, &job_runner::run_notify_unread},
      {job_type::retention, &job_runner::run_retention},
      {job_type::thumbnail, &job_runner::run_thumbnail},
      {job_type::scan_attachment, &job_runner::run_scan_attachment},
      {job_type::files_maintenance, &job_runner::run_files_maintenance},
      {job_type::signup_existing_email, &job_runner::run_signup_existing_email},
  };
  static_assert(std::size(table) == queue::all_job_types.size(), "one handler per job type");
  for (const auto& r : table)
    if (r.type == type) return r.run;
  return nullptr;  // unreachable: the static_assert and the unit tests keep the table complete
}

namespace {
template <class Payload>
result<Payload> payload_of(const queue::job_envelope& job) {
  return queue::decode_payload<Payload>(job.payload_json);
}
}  // namespace

asio::awaitable<job_runner::handler_result> job_runner::run_verify_email(const queue::job_envelope& job) {
  auto p = payload_of<queue::verify_email_payload>(job);
  if (!p) co_return handler_result{outcome::bad_payload, p.error().message};
  co_return co_await run_email_job(job.id, queue::job_type::verify_email, job.correlation_id, p->user_id);
}

asio::awaitable<job_runner::handler_result> job_runner::run_password_reset(const queue::job_envelope& job) {
  auto p = payload_of<queue::password_reset_payload>(job);
  if (!p) co_return handler_result{outcome::bad_payload, p.error().message};
  co_return co_await run_email_job(job.id, queue::job_type::password_reset, job.correlation_id, p->user_id);
}

asio::awaitable<job_runner::handler_result> job_runner::run_signup_existing_email(const queue::job_envelope& job) {
  auto p = payload_of<queue::signup_existing_email_payload>(job);
  if (!p) co_return handler_result{outcome::bad_payload, p.error().message};
  co_return co_await run_email_job(job.id, queue::job_type::signup_existing_email, job.correlation_id, p->user_id);
}

asio::awaitable<job_runner::handler_result> job_runner::run_notify_unread(const queue::job_envelope& job) {
  auto p = payload_of<queue::notify_unread_payload>(job);
  if (!p) co_return handler_result{outcome::bad_payload, p.error().message};
  co_return co_await run_notify_job(job.id, job.correlation_id, p->user_id);
}

asio::awaitable<job_runner::handler_result> job_runner::run_retention(const queue::job_envelope& job) {
  auto p = payload_of<queue::retention_payload>(job);
  if (!p) co_return handler_result{outcome::bad_payload, p.error().message};
  co_return co_await run_retention_job(job.id, job.correlation_id);
}

namespace {
constexpr std::string_view files_not_configured = "attachments are not configured on this worker ([files] dir)";
}  // namespace

asio::awaitable<job_runner::handler_result> job_runner::run_thumbnail(const queue::job_envelope& job) {
  return run_attachment_job(job, &file_jobs::thumbnail);
}

asio::awaitable<job_runner::handler_result> job_runner::run_scan_attachment(const queue::job_envelope& job) {
  return run_attachment_job(job, &file_jobs::scan);
}

asio::awaitable<job_runner::handler_result> job_runner::run_attachment_job(const queue::job_envelope& job,
                                                                          attachment_job run) {
  if (!files_) co_return handler_result{outcome::fail, std::string(files_not_configured)};
  auto p = payload_of<queue::attachment_job_payload>(job);
  if (!p) co_return handler_result{outcome::bad_payload, p.error().message};
  auto r = co_await (files_->*run)(p->attachment_id, job.correlation_id);
  co_return file_job_outcome(r);
}

asio::awaitable<job_runner::handler_result> job_runner::run_files_maintenance(const queue::job_envelope& job) {
  if (!files_) co_return handler_result{outcome::fail, std::string(files_not_configured)};
  if (auto p = payload_of<queue::files_maintenance_payload>(job); !p)
    co_return handler_result{outcome::bad_payload, p.error().message};
  auto r = co_await files_->maintenance(job.id, job.correlation_id);
  co_return file_job_outcome(r);
}

job_runner::handler_result job_runner::file_job_outcome(const file_job_result& r) {
  if (r) return handler_result{*r ? outcome::done : outcome::skipped, {}};
  const bool permanent = r.error().code == errc::internal || r.error().code == errc::failed_precondition;
  return handler_result{permanent ? outcome::fail : outcome::retry, r.error().message};
}

asio::awaitable<job_runner::handler_result> job_runner::run_retention_job(const std::string& job_id,
                                                                          const std::string& correlation_id) {
  constexpr int batch = 5000;
  std::int64_t total = 0;
  // Bounded batches keep each transaction short; a backlog beyond this waits for the next run.
  for (int pass = 0; pass < 20; ++pass) {
    auto n = co_await repo_.apply_retention(batch);
    if (!n) co_return handler_result{outcome::retry, n.error().message};
    total += *n;
    if (*n < batch) break;
  }
  json::object details{{"erased", total}};
  const storage::audit_entry entry{std::nullopt, "retention.applied", "job:" + job_id, "", correlation_id, "ok",
                                   json::serialize(details)};
  co_await repo_.audit(entry);
  log::info("retention_applied", {{"job_id", job_id}, {"erased", total}});
  co_return handler_result{total > 0 ? outcome::done : outcome::skipped, {}};
}

asio::awaitable<job_runner::handler_result> job_runner::run_notify_job(const std::string& job_id,
                                                                       const std::string& correlation_id,
                                                                       std::int64_t user_id) {
  auto rec = co_await repo_.find_recipient(user_id);
  if (!rec) co_return handler_result{outcome::retry, rec.error().message};
  // Only verified, deliverable addresses get notifications.
  if (!*rec || (*rec)->disabled || (*rec)->undeliverable || !(*rec)->email_verified)
    co_return handler_result{outcome::skipped, {}};
  const auto& r = **rec;
  // Checked now, not when the job was queued: what was read meanwhile is not mailed.
  auto unread = co_await repo_.unread_for_notification(user_id);
  if (!unread) co_return handler_result{outcome::retry, unread.error().message};
  if (unread->empty()) co_return handler_result{outcome::skipped, {}};

  email::email_message m;
  m.to = r.email;
  m.idempotency_key = job_id;
  m.correlation_id = correlation_id;
  const std::string type(queue::to_string(queue::job_type::notify_unread));
  m.kind = type;
  m.subject = "You have unread messages in Redoubt";
  std::string name = r.display_name.empty() ? r.username : r.display_name;
  // Counts and room names only: the worker cannot read message bodies, and mail is no place
  // for them.
  m.text = "Hello " + name + ",\n\nwhile you were away:\n\n";
  for (const auto& u : *unread) {
    auto n = std::to_string(u.count);
    if (u.direct)
      m.text += "- " + n + (u.count == 1 ? " direct message" : " direct messages") + " from " + u.name + "\n";
    else
      m.text += "- " + n + (u.count == 1 ? " mention" : " mentions") + " in #" + u.name + "\n";
  }
  m.text += "\nOpen Redoubt to read them: " + s_.public_origin +
            "/\n\nYou get this email because they stayed unread. Reading them in Redoubt stops these emails.\n";
  auto sent = co_await asio::co_spawn(blocking_, send_task(&sender_, m), asio::use_awaitable);
  if (!sent.ok) co_return handler_result{sent.retryable ? outcome::retry : outcome::fail, sent.error};
  // mark_notified keeps the greatest of these, so one call per room is exact.
  for (const auto& u : *unread) {
    auto marked = co_await repo_.mark_notified(user_id, u.latest);
    if (!marked) log::warn("notification_state_failed", {{"job_id", job_id}, {"error", marked.error().message}});
  }
  const storage::delivery_record rec_row{job_id, user_id, r.email, type,
                                         std::string(sender_.provider_name()), sent.provider_message_id,
                                         correlation_id};
  co_await repo_.record_delivery(rec_row);
  log::info("email_sent", {{"job_id", job_id},
                           {"type", type},
                           {"correlation_id", correlation_id},
                           {"provider", sender_.provider_name()},
                           {"rooms", static_cast<std::int64_t>(unread->size())}});
  co_return handler_result{outcome::done, {}};
}

asio::awaitable<job_runner::handler_result> job_runner::run_email_job(const std::string& job_id,
                                                                      queue::job_type job,
                                                                      const std::string& correlation_id,
                                                                      std::int64_t user_id) {
  const std::string type(queue::to_string(job));
  auto rec = co_await repo_.find_recipient(user_id);
  if (!rec) co_return handler_result{outcome::retry, rec.error().message};
  const bool verify = job == queue::job_type::verify_email;
  // Checked just before sending: the situation may have changed since the job was queued.
  if (!*rec || (*rec)->disabled || (*rec)->undeliverable || (verify && (*rec)->email_verified))
    co_return handler_result{outcome::skipped, {}};
  const auto& r = **rec;

  // A sign-up with this address mails its owner a notice, without a link.
  const bool notice = job == queue::job_type::signup_existing_email;
  auto token = crypto::random_token();
  auto ttl = verify ? s_.verify_token_ttl : s_.reset_token_ttl;
  if (!notice) {
    auto stored = co_await repo_.create_email_token(crypto::token_hash(token), type, user_id, job_id, ttl.count());
    if (!stored) co_return handler_result{outcome::retry, stored.error().message};
  }

  email::email_message m;
  m.to = r.email;
  m.idempotency_key = job_id;
  m.correlation_id = correlation_id;
  m.kind = type;
  std::string name = r.display_name.empty() ? r.username : r.display_name;
  // The token travels in the URL fragment, which browsers never send to a server or in Referer.
  if (notice) {
    m.subject = "Someone signed up for Redoubt with your email address";
    m.text = "Hello " + name + ",\n\nsomeone (maybe you) just tried to create a Redoubt account with this email "
             "address. It already belongs to your account \"" + r.username + "\". If that was you, sign in at " +
             s_.public_origin + "/ as \"" + r.username + "\"; if you forgot your password, ask for a reset link "
             "there.\n\nIf it was not you, ignore this email: nothing changed on your account, and the new account "
             "is never sent a verification link for this address.\n";
  } else if (verify) {
    m.subject = "Confirm your email address for Redoubt";
    m.text = "Hello " + name + ",\n\nplease confirm the email address of your Redoubt account \"" + r.username +
             "\" by opening this link:\n\n" + s_.public_origin + "/verify-email#token=" + token +
             "\n\nThe link is valid for " + std::to_string(ttl.count() / 3600) +
             " hours. If you did not create this account, ignore this email.\n";
  } else {
    m.subject = "Reset your Redoubt password";
    m.text = "Hello " + name + ",\n\nsomeone asked to reset the password of your Redoubt account \"" + r.username +
             "\". To choose a new password, open this link:\n\n" + s_.public_origin + "/reset-password#token=" +
             token + "\n\nThe link is valid for " + std::to_string(ttl.count() / 60) +
             " minutes and works once. If you did not ask for this, ignore this email; your password stays as it "
             "is.\n";
  }
  auto sent = co_await asio::co_spawn(blocking_, send_task(&sender_, m), asio::use_awaitable);
  if (!sent.ok) co_return handler_result{sent.retryable ? outcome::retry : outcome::fail, sent.error};
  const storage::delivery_record rec_row{job_id, user_id, r.email, type, std::string(sender_.provider_name()),
                                         sent.provider_message_id, correlation_id};
  auto recorded = co_await repo_.record_delivery(rec_row);
  if (!recorded) log::warn("delivery_record_failed", {{"job_id", job_id}, {"error", recorded.error().message}});
  log::info("email_sent", {{"job_id", job_id},
                           {"type", type},
                           {"correlation_id", correlation_id},
                           {"provider", sender_.provider_name()},
                           {"provider_message_id", sent.provider_message_id}});
  co_return handler_result{outcome::done, {}};
}

}  // namespace redoubt::worker
