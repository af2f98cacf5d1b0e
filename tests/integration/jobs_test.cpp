// Background jobs end to end: sign-up -> outbox row (same transaction) -> relay -> JetStream ->
// redoubt-worker (signature, expiry, replay checks) -> HTTPS email provider (a local sink).
// Real PostgreSQL, nats-server, redoubt-server and redoubt-worker processes.
#include <nats/nats.h>
#include <sys/stat.h>

#include <ctime>
#include <tuple>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <webp/encode.h>

#include "api/email_webhook.hpp"
#include "crypto/crypto.hpp"
#include "integration/api_env.hpp"
#include "files/file_crypto.hpp"
#include "media/thumbnail.hpp"
#include "queue/envelope.hpp"
#include "support/clamd_process.hpp"
#include "support/email_sink.hpp"
#include "support/nats_server.hpp"
#include "support/process_util.hpp"
#include "support/smtp_sink.hpp"
#include "support/worker_process.hpp"

namespace redoubt::test {
namespace {

const std::string sink_api_key = "sink-api-key-0123456789abcdef0123456789";
const std::string webhook_secret = "webhook-secret-0123456789abcdef0123456789abcdef";

std::string psql(const std::string& sql) { return pg_cluster::shared().superuser_psql(sql); }

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

template <class F>
bool eventually(F f, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return f();
}

struct jobs_env {
  std::string dir;
  std::string secret_key_file;
  std::string public_key_file;
  std::unique_ptr<email_sink> sink;
  std::unique_ptr<server_process> server;
  std::unique_ptr<worker_process> worker;
  std::string server_toml;
  std::string store;  // the attachment store shared by the server and the worker
  std::unique_ptr<clamd_process> clamd;  // when clamav-daemon is installed

  // At exit: the processes first (they use the directory), then the directory with the keys
  // and the attachment store.
  ~jobs_env() {
    worker.reset();
    server.reset();
    clamd.reset();
    sink.reset();
    std::error_code ec;
    if (!dir.empty() && !std::getenv("REDOUBT_KEEP_TEST_DIRS")) std::filesystem::remove_all(dir, ec);
  }

  secret_string signing_key() const {
    std::ifstream in(secret_key_file);
    std::string hex;
    std::getline(in, hex);
    return secret_string(*crypto::from_hex(hex));
  }
};

jobs_env& env() {
  static std::unique_ptr<jobs_env> e = [] {
    nats_server::ack_wait_seconds = 4;  // a killed worker's job comes back quickly
    ensure_migrated();
    // Unread-notification emails after 1 s instead of 15 min (read by the trigger per session).
    psql("ALTER DATABASE redoubt SET redoubt.notify_delay_seconds = '1'");
    auto& nats = nats_server::shared();
    auto x = std::make_unique<jobs_env>();
    x->dir = make_temp_dir("redoubt-jobs-");
    x->secret_key_file = x->dir + "/signing.key";
    x->public_key_file = x->dir + "/signing.pub";
    auto [rc, out] = run_program({REDOUBTCTL_BIN, "keygen-signing", x->secret_key_file, x->public_key_file});
    if (rc != 0) throw std::runtime_error("keygen-signing: " + out);
    write_secret_file(x->dir + "/nats-server.pass", nats.password(nats_role::server));
    write_secret_file(x->dir + "/webhook.secret", webhook_secret);
    write_secret_file(x->dir + "/sink.key", sink_api_key);
    x->store = x->dir + "/store";
    auto [krc, kout] = run_program({REDOUBTCTL_BIN, "files", "keygen", x->dir + "/master.keys"});
    if (krc != 0) throw std::runtime_error("files keygen: " + kout);
    const auto files_toml = "[files]\ndir = " + quote_toml(x->store) + "\nmaster_key_file = " +
                            quote_toml(x->dir + "/master.keys") + "\n";
    x->sink = std::make_unique<email_sink>(sink_api_key);
    if (clamd_process::available()) x->clamd = std::make_unique<clamd_process>();

    server_options so;
    so.extra_toml = std::string(relaxed_limits) + "[nats]\nurl = " + quote_toml(nats.url()) +
                    "\nuser = \"redoubt_server\"\npassword_file = " + quote_toml(x->dir + "/nats-server.pass") +
                    "\nca_file = " + quote_toml(nats.ca_file()) + "\ncluster_key_file = " +
                    quote_toml(nats.cluster_key_file()) + "\n[jobs]\nsigning_key_file = " +
                    quote_toml(x->secret_key_file) +
                    "\nrelay_interval_ms = 200\npublish_timeout_ms = 1000\nrepublish_after_s = 30\nretention_interval_s = 1\n"
                    "files_maintenance_interval_s = 1\noutbox_alarm_rows = 5\n[email_webhook]\nsecret_file = " +
                    quote_toml(x->dir + "/webhook.secret") + "\n" + files_toml + "min_free_disk_bytes = 1048576\n";
    x->server_toml = so.extra_toml;
    x->server = std::make_unique<server_process>(so);
    x->server->start();

    worker_options wo;
    wo.nats_url = nats.url();
    wo.nats_password = nats.password(nats_role::worker);
    wo.nats_ca_file = nats.ca_file();
    wo.verify_key_files = {x->public_key_file};
    wo.extra_worker_toml = "retry_backoff_ms = 500\nconcurrency = 8\n";
    wo.email_toml = "[email]\nprovider = \"https\"\nhttps_url = " + quote_toml(x->sink->url()) +
                    "\napi_key_file = " + quote_toml(x->dir + "/sink.key") + "\nca_file = " +
                    quote_toml(x->sink->ca_file()) +
                    "\nfrom_address = \"redoubt@example.test\"\nconnect_timeout_ms = 1000\ntotal_timeout_ms = 2000\n"
                    "attempts = 2\nbackoff_initial_ms = 50\nbackoff_max_ms = 200\nbreaker_failures = 3\n"
                    "breaker_cooldown_ms = 1000\nper_recipient_per_hour = 1000\nglobal_per_second = 1000\n" +
                    files_toml + "unattached_ttl_s = 4\norphan_grace_s = 2\nthumbnail_size = 320\n" +
                    (x->clamd ? "clamd_socket = " + quote_toml(x->clamd->socket_path()) + "\n" : std::string());
    x->worker = std::make_unique<worker_process>(wo);
    x->worker->start();
    return x;
  }();
  return *e;
}

// What a broker-related failure needs to be understood from a CI log: the last lines the
// worker, the server and the broker wrote.
std::string tail_lines(const std::string& text, std::size_t lines) {
  std::size_t start = text.size();
  for (std::size_t n = 0; n <= lines; ++n) {
    if (start == 0) return text;
    auto nl = text.rfind('\n', start - 1);
    if (nl == std::string::npos) return text;
    start = nl;
  }
  return text.substr(start + 1);
}

std::string broker_diagnostics() {
  std::ifstream in(nats_server::shared().dir() + "/nats.log");
  std::string nats_log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return "--- worker " + env().worker->state() + ", log (tail)\n" + tail_lines(env().worker->log(), 40) +
         "--- server " + (env().server->running() ? "running" : "not running") + ", log (tail)\n" +
         tail_lines(env().server->log(), 40) + "--- nats log (tail)\n" + tail_lines(nats_log, 30);
}

struct signed_up {
  std::string username;
  std::string email;
  std::string request_id;
  std::int64_t id = 0;
  https_client http;
};

signed_up sign_up(const std::string& prefix) {
  auto name = unique_name(prefix);
  auto http = env().server->client();
  auto email = name + "@example.test";
  auto res = http.post("/api/v1/auth/register",
                       json::object{{"username", name}, {"email", email}, {"password", test_password}});
  EXPECT_EQ(res.status, 201) << res.body;
  auto id = res.json().at("user").at("id").as_int64();
  return signed_up{name, email, res.header("x-request-id"), id, std::move(http)};
}

std::vector<received_email> emails_to(const std::string& address) {
  std::vector<received_email> out;
  for (auto& e : env().sink->emails())
    if (e.to == address) out.push_back(e);
  return out;
}

std::string job_of(std::int64_t user_id, const std::string& kind) {
  return trim(psql("SELECT id FROM outbox WHERE kind = '" + kind + "' AND payload->>'user_id' = '" +
                   std::to_string(user_id) + "' ORDER BY created_at DESC LIMIT 1"));
}

TEST(Jobs, SignUpMailsAVerificationLinkOnceWithOneCorrelationIdEnd2End) {
  auto u = sign_up("jv");
  ASSERT_TRUE(eventually([&] { return !emails_to(u.email).empty(); })) << env().worker->log();
  auto mails = emails_to(u.email);
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_EQ(mails[0].subject, "Confirm your email address for Redoubt");
  EXPECT_EQ(mails[0].tag, "verify_email");
  // One correlation id from the HTTP request to the provider and the delivery record.
  ASSERT_FALSE(u.request_id.empty());
  EXPECT_EQ(mails[0].correlation_id, u.request_id);
  auto job = job_of(u.id, "verify_email");
  ASSERT_FALSE(job.empty());
  EXPECT_EQ(mails[0].idempotency_key, job);
  EXPECT_TRUE(eventually([&] {
    return trim(psql("SELECT correlation_id || ',' || outcome FROM processed_jobs WHERE job_id = '" + job + "'")) ==
           u.request_id + ",done";
  }));
  EXPECT_EQ(trim(psql("SELECT correlation_id FROM email_deliveries WHERE job_id = '" + job + "'")), u.request_id);
  EXPECT_NE(trim(psql("SELECT completed_at IS NOT NULL FROM outbox WHERE id = '" + job + "'")), "f");
  // The payload carries ids only; the token exists only in the email (and as a hash).
  EXPECT_EQ(trim(psql("SELECT payload::text FROM outbox WHERE id = '" + job + "'")),
            "{\"user_id\": " + std::to_string(u.id) + "}");

  auto token = token_from_email(mails[0].text);
  ASSERT_EQ(token.size(), 43u) << mails[0].text;
  EXPECT_EQ(trim(psql("SELECT count(*) FROM email_tokens WHERE token_hash = '" + crypto::token_hash(token) + "'")),
            "1");
  EXPECT_FALSE(u.http.get("/api/v1/me").json().at("user").at("email_verified").as_bool());
  auto anon = env().server->client();
  auto ok = anon.post("/api/v1/auth/verify-email", json::object{{"token", token}});
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_TRUE(u.http.get("/api/v1/me").json().at("user").at("email_verified").as_bool());
  auto again = anon.post("/api/v1/auth/verify-email", json::object{{"token", token}});
  EXPECT_EQ(again.status, 400);
  EXPECT_EQ(error_code(again), "invalid_argument");
  auto bogus = anon.post("/api/v1/auth/verify-email", json::object{{"token", std::string(43, 'A')}});
  EXPECT_EQ(bogus.status, 400);
}

TEST(Jobs, PasswordResetAnswersAlikeMailsASingleUseLinkAndEndsSessions) {
  auto u = sign_up("jr");
  ASSERT_TRUE(eventually([&] { return !emails_to(u.email).empty(); }));
  auto anon = env().server->client();
  auto unknown = anon.post("/api/v1/auth/password-reset", json::object{{"email", "nobody-" + u.email}});
  auto known = anon.post("/api/v1/auth/password-reset", json::object{{"email", u.email}});
  EXPECT_EQ(unknown.status, 202);
  EXPECT_EQ(known.status, 202);
  EXPECT_EQ(unknown.body, known.body);
  ASSERT_TRUE(eventually([&] { return emails_to(u.email).size() == 2; })) << env().worker->log();
  auto mail = emails_to(u.email)[1];
  EXPECT_EQ(mail.tag, "password_reset");
  EXPECT_TRUE(emails_to("nobody-" + u.email).empty());
  auto token = token_from_email(mail.text);
  ASSERT_EQ(token.size(), 43u);

  const std::string new_password = "a brand new passphrase 77";
  auto weak = anon.post("/api/v1/auth/password-reset/confirm", json::object{{"token", token}, {"password", "short"}});
  EXPECT_EQ(weak.status, 400);  // policy applies; the token is not spent by a refused password
  auto done =
      anon.post("/api/v1/auth/password-reset/confirm", json::object{{"token", token}, {"password", new_password}});
  EXPECT_EQ(done.status, 204) << done.body;
  EXPECT_EQ(u.http.get("/api/v1/me").status, 401) << "every session ends with a reset";
  auto reuse =
      anon.post("/api/v1/auth/password-reset/confirm", json::object{{"token", token}, {"password", new_password}});
  EXPECT_EQ(reuse.status, 400);
  EXPECT_EQ(anon.post("/api/v1/auth/login", json::object{{"username", u.username}, {"password", test_password}}).status,
            401);
  EXPECT_EQ(anon.post("/api/v1/auth/login", json::object{{"username", u.username}, {"password", new_password}}).status,
            200);
}

// Issue 12 point 9: six reset requests for one address send at most
// password_resets_per_hour_per_address (3) emails, and only the newest link works.
TEST(Jobs, SixResetRequestsSendAtMostThreeEmailsAndOnlyTheNewestLinkWorks) {
  auto u = sign_up("j6");
  ASSERT_TRUE(eventually([&] { return emails_to(u.email).size() == 1; }));
  auto anon = env().server->client();
  int accepted = 0, throttled = 0;
  for (int i = 0; i < 6; ++i) {
    auto r = anon.post("/api/v1/auth/password-reset", json::object{{"email", u.email}});
    accepted += r.status == 202;
    throttled += r.status == 429;
  }
  EXPECT_EQ(accepted, 3);
  EXPECT_EQ(throttled, 3);
  ASSERT_TRUE(eventually([&] { return emails_to(u.email).size() == 4; })) << env().worker->log();
  EXPECT_EQ(trim(psql("SELECT count(*) FROM outbox WHERE kind = 'password_reset' AND payload->>'user_id' = '" +
                      std::to_string(u.id) + "'")),
            "3");
  // A refused password is checked after the link: "invalid link" for replaced links, the
  // policy's answer for the live one.
  std::vector<std::string> live;
  int replaced = 0;
  for (const auto& mail : emails_to(u.email)) {
    if (mail.tag != "password_reset") continue;
    auto token = token_from_email(mail.text);
    auto r = anon.post("/api/v1/auth/password-reset/confirm", json::object{{"token", token}, {"password", "short"}});
    EXPECT_EQ(r.status, 400);
    if (r.body.find("invalid, used or expired") != std::string::npos) ++replaced;
    else live.push_back(token);
  }
  EXPECT_EQ(replaced, 2);
  ASSERT_EQ(live.size(), 1u);
  auto done = anon.post("/api/v1/auth/password-reset/confirm",
                        json::object{{"token", live[0]}, {"password", "a brand new passphrase 78"}});
  EXPECT_EQ(done.status, 204) << done.body;
}

// Issue 12 point 9: a sign-up with an address that has an account answers like a fresh one;
// the owner is mailed a notice (no link) and the new account gets no verification link.
TEST(Jobs, SignUpWithAnAddressInUseMailsTheOwnerANoticeAndNoLink) {
  auto owner = sign_up("jo");
  ASSERT_TRUE(eventually([&] { return emails_to(owner.email).size() == 1; }));
  auto http = env().server->client();
  auto name = unique_name("jd");
  auto res = http.post("/api/v1/auth/register",
                       json::object{{"username", name}, {"email", owner.email}, {"password", test_password}});
  ASSERT_EQ(res.status, 201) << res.body;
  ASSERT_TRUE(eventually([&] { return emails_to(owner.email).size() == 2; })) << env().worker->log();
  auto notice = emails_to(owner.email)[1];
  EXPECT_EQ(notice.tag, "signup_existing_email");
  EXPECT_EQ(notice.subject, "Someone signed up for Redoubt with your email address");
  EXPECT_NE(notice.text.find(owner.username), std::string::npos);
  EXPECT_EQ(notice.text.find("#token="), std::string::npos) << notice.text;
  EXPECT_EQ(notice.correlation_id, res.header("x-request-id"));
  // A password reset for the address still goes to the owner's account only.
  auto anon = env().server->client();
  ASSERT_EQ(anon.post("/api/v1/auth/password-reset", json::object{{"email", owner.email}}).status, 202);
  ASSERT_TRUE(eventually([&] { return emails_to(owner.email).size() == 3; })) << env().worker->log();
  EXPECT_NE(emails_to(owner.email)[2].text.find("\"" + owner.username + "\""), std::string::npos);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(emails_to(owner.email).size(), 3u);
}

// A JetStream publisher with the server's broker account, for hand-made (hostile) jobs.
struct raw_publisher {
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  raw_publisher() {
    natsOptions* o = nats_server::shared().options(nats_role::server);
    EXPECT_EQ(natsConnection_Connect(&nc, o), NATS_OK);
    natsOptions_Destroy(o);
    EXPECT_EQ(natsConnection_JetStream(&js, nc, nullptr), NATS_OK);
  }
  ~raw_publisher() {
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
  }
  void publish(const std::string& subject, const std::string& data, const std::string& key_id,
               const std::string& signature, const std::string& msg_id = {}) {
    natsMsg* m = nullptr;
    ASSERT_EQ(natsMsg_Create(&m, subject.c_str(), nullptr, data.data(), static_cast<int>(data.size())), NATS_OK);
    if (!key_id.empty()) natsMsgHeader_Set(m, "Redoubt-Key-Id", key_id.c_str());
    if (!signature.empty()) natsMsgHeader_Set(m, "Redoubt-Signature", signature.c_str());
    jsPubOptions po;
    jsPubOptions_Init(&po);
    if (!msg_id.empty()) po.MsgId = msg_id.c_str();
    jsPubAck* ack = nullptr;
    EXPECT_EQ(js_PublishMsg(&ack, js, m, &po, nullptr), NATS_OK);
    jsPubAck_Destroy(ack);
    natsMsg_Destroy(m);
  }
};

std::string uuid() {
  auto h = crypto::random_hex(16);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20);
}

std::string dead_letter_reason(const std::string& job_id) {
  return trim(psql("SELECT details->>'reason' FROM audit_log WHERE action = 'job.dead_lettered' AND target = 'job:" +
                   job_id + "' ORDER BY id DESC LIMIT 1"));
}

TEST(Jobs, ForgedModifiedExpiredReplayedAndPoisonJobsAreDeadLetteredAuditedNeverRun) {
  auto& e = env();
  // The victim has no pending verification email: the legit one is done first.
  auto victim = sign_up("jx");
  ASSERT_TRUE(eventually([&] { return emails_to(victim.email).size() == 1; }));
  auto legit_job = job_of(victim.id, "verify_email");
  ASSERT_TRUE(eventually([&] { return !trim(psql("SELECT 1 FROM processed_jobs WHERE job_id = '" + legit_job + "'")).empty(); }));

  auto key = e.signing_key();
  auto pub = *crypto::signing_public_key(key);
  auto now = static_cast<std::int64_t>(std::time(nullptr));
  auto payload = "{\"user_id\":" + std::to_string(victim.id) + "}";
  raw_publisher nats;

  // Forged: signed with another key but claiming ours.
  auto other = crypto::generate_signing_keypair();
  auto forged_id = uuid();
  auto forged = *queue::seal({forged_id, "password_reset", now, now + 600, "forged", payload}, other.secret_key,
                             other.public_key);
  nats.publish("jobs.password_reset", forged.data, queue::signing_key_id(pub), forged.signature, forged_id);
  // Unknown key id.
  auto unknown_id = uuid();
  auto unknown = *queue::seal({unknown_id, "password_reset", now, now + 600, "unknown", payload}, other.secret_key,
                              other.public_key);
  nats.publish("jobs.password_reset", unknown.data, unknown.key_id, unknown.signature, unknown_id);
  // Modified after signing: another user id.
  auto modified_id = uuid();
  // Signed for a user id no account has, so the swap is a real change even when the victim is user 1.
  const std::string signed_for = "\"user_id\":" + std::to_string(victim.id + 1000000);
  auto good = *queue::seal({modified_id, "password_reset", now, now + 600, "modified", "{" + signed_for + "}"}, key, pub);
  auto tampered = good.data;
  tampered.replace(tampered.find(signed_for), signed_for.size(), "\"user_id\":" + std::to_string(victim.id));
  nats.publish("jobs.password_reset", tampered, good.key_id, good.signature, modified_id);
  // Expired.
  auto expired_id = uuid();
  auto expired = *queue::seal({expired_id, "password_reset", now - 900, now - 60, "expired", payload}, key, pub);
  nats.publish("jobs.password_reset", expired.data, expired.key_id, expired.signature, expired_id);
  // Replayed: a valid envelope with the id of a job that already ran (no Nats-Msg-Id, so the
  // broker's duplicate window does not catch it; the worker must).
  auto replay = *queue::seal({legit_job, "verify_email", now, now + 600, "replay", payload}, key, pub);
  nats.publish("jobs.verify_email", replay.data, replay.key_id, replay.signature);
  // Signed type and subject disagree.
  auto moved_id = uuid();
  auto moved = *queue::seal({moved_id, "verify_email", now, now + 600, "moved", payload}, key, pub);
  nats.publish("jobs.password_reset", moved.data, moved.key_id, moved.signature, moved_id);
  // Poison: random bytes (large and small), no headers, garbage headers.
  std::mt19937 rng(42);
  std::string noise(60 * 1024, '\0');
  for (auto& c : noise) c = static_cast<char>(rng());
  nats.publish("jobs.verify_email", noise, "", "");
  nats.publish("jobs.x", noise.substr(0, 100), "zzzz", std::string(128, 'f'));
  nats.publish("jobs.verify_email", "{}", queue::signing_key_id(pub), std::string(128, '0'));

  ASSERT_TRUE(eventually([&] { return dead_letter_reason(forged_id) == "bad_signature"; })) << e.worker->log();
  EXPECT_TRUE(eventually([&] { return dead_letter_reason(unknown_id) == "unknown_key"; }));
  EXPECT_TRUE(eventually([&] { return dead_letter_reason(modified_id) == "bad_signature"; }));
  EXPECT_TRUE(eventually([&] { return dead_letter_reason(expired_id) == "expired"; }));
  EXPECT_TRUE(eventually([&] { return dead_letter_reason(legit_job) == "replayed"; }));
  EXPECT_TRUE(eventually([&] { return dead_letter_reason(moved_id) == "malformed"; }));
  EXPECT_TRUE(eventually([&] { return e.worker->metric("redoubt_worker_jobs_rejected_total") >= 9; }))
      << e.worker->metric("redoubt_worker_jobs_rejected_total");

  // None of them ran: no reset email, no token, no processed record; the worker is alive.
  EXPECT_EQ(emails_to(victim.email).size(), 1u);
  EXPECT_EQ(trim(psql("SELECT count(*) FROM email_tokens WHERE user_id = " + std::to_string(victim.id) +
                      " AND purpose = 'password_reset'")),
            "0");
  for (const auto& id : {forged_id, unknown_id, modified_id, expired_id, moved_id})
    EXPECT_EQ(trim(psql("SELECT count(*) FROM processed_jobs WHERE job_id = '" + id + "'")), "0") << id;
  EXPECT_TRUE(e.worker->running());
  auto after = sign_up("jy");
  EXPECT_TRUE(eventually([&] { return emails_to(after.email).size() == 1; })) << "still serving";
}

TEST(Jobs, BrokerDownDuringASignUpBurstEveryEmailArrivesExactlyOnce) {
  auto& nats = nats_server::shared();
  nats.stop();
  std::vector<signed_up> users;
  for (int i = 0; i < 8; ++i) users.push_back(sign_up("jb"));  // sign-up does not need the broker
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  for (auto& u : users) EXPECT_TRUE(emails_to(u.email).empty());
  EXPECT_EQ(trim(psql("SELECT count(*) FROM outbox WHERE published_at IS NULL AND payload->>'user_id' IN (" + [&] {
              std::string ids;
              for (auto& u : users) ids += (ids.empty() ? "'" : ",'") + std::to_string(u.id) + "'";
              return ids;
            }() + ")")),
            "8")
      << "the outbox holds them";
  nats.start();
  bool all_arrived = true;
  for (auto& u : users) {
    bool arrived = eventually([&] { return emails_to(u.email).size() == 1; }, std::chrono::seconds(all_arrived ? 40 : 1));
    EXPECT_TRUE(arrived) << u.email << "\n" << (all_arrived ? broker_diagnostics() : std::string());
    all_arrived = all_arrived && arrived;
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));
  for (auto& u : users) EXPECT_EQ(emails_to(u.email).size(), 1u) << "exactly once";
}

// A value from the server's /metrics, -1 when absent.
double server_metric(const std::string& name) {
  std::istringstream in(env().server->metrics());
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  return -1;
}

TEST(Jobs, ABurstBeyondTheStreamLimitLosesNothingTheOutboxHoldsItAndDrains) {
  auto& e = env();
  auto& nats = nats_server::shared();
  e.worker->stop();  // nothing leaves the stream meanwhile
  const auto failures_before = server_metric("redoubt_outbox_publish_failures_total");
  // Room for two more jobs in the stream: a burst of eight is beyond its limit.
  auto waiting = nats.set_jobs_stream_max_msgs(1000);
  nats.set_jobs_stream_max_msgs(static_cast<std::int64_t>(waiting) + 2);
  std::vector<signed_up> users;
  for (int i = 0; i < 8; ++i) users.push_back(sign_up("jw"));
  std::string ids;
  for (auto& u : users) ids += (ids.empty() ? "'" : ",'") + std::to_string(u.id) + "'";
  const auto unpublished = "SELECT count(*) FROM outbox WHERE published_at IS NULL AND payload->>'user_id' IN (" + ids + ")";
  // The broker refuses the rest (discard new); the relay keeps them and says so.
  EXPECT_TRUE(eventually([&] { return server_metric("redoubt_outbox_publish_failures_total") > failures_before; }))
      << broker_diagnostics();
  EXPECT_GE(std::stoi(trim(psql(unpublished))), 6) << "at most two fit in the stream";
  EXPECT_TRUE(eventually([&] { return server_metric("redoubt_outbox_backlog_alarm") == 1; })) << broker_diagnostics();
  EXPECT_GE(server_metric("redoubt_outbox_unpublished"), 6);
  EXPECT_GE(server_metric("redoubt_outbox_oldest_unpublished_seconds"), 0);
  EXPECT_NE(e.server->log().find("\"outbox_backlog\""), std::string::npos);

  // Limits back, worker back: every email arrives, once.
  nats.create_jobs_stream();
  e.worker->start();
  for (auto& u : users)
    EXPECT_TRUE(eventually([&] { return emails_to(u.email).size() == 1; }, std::chrono::seconds(60)))
        << u.email << "\n" << broker_diagnostics();
  EXPECT_EQ(trim(psql(unpublished)), "0");
  EXPECT_TRUE(eventually([&] { return server_metric("redoubt_outbox_backlog_alarm") == 0; }, std::chrono::seconds(30)));
  std::this_thread::sleep_for(std::chrono::seconds(1));
  for (auto& u : users) EXPECT_EQ(emails_to(u.email).size(), 1u) << "exactly once";
}

TEST(Jobs, AWorkerTheClientLibraryGaveUpOnConnectsAgainOnceTheBrokerLetsItIn) {
  auto& e = env();
  auto& nats = nats_server::shared();
  const auto worker_password = nats.password(nats_role::worker);
  // The broker comes back with another password for the worker: refused twice with the same
  // authorization error, nats.c closes the connection for good instead of reconnecting.
  nats.stop();
  nats.set_password(nats_role::worker, "not-the-password-the-worker-has-0123456789abcdef");
  nats.start();
  ASSERT_TRUE(eventually([&] { return e.worker->log().find("\"job_queue_closed\"") != std::string::npos; },
                         std::chrono::seconds(30)))
      << broker_diagnostics();
  auto u = sign_up("jl");  // the server's own connection is fine: the job waits in the stream
  // The operator fixes the broker; the worker, still running, opens a new connection.
  nats.stop();
  nats.set_password(nats_role::worker, worker_password);
  nats.start();
  EXPECT_TRUE(eventually([&] { return emails_to(u.email).size() == 1; }, std::chrono::seconds(40)))
      << broker_diagnostics();
  EXPECT_TRUE(eventually([&] { return e.worker->metric("redoubt_worker_queue_reopened_total") >= 1; }))
      << broker_diagnostics();
  EXPECT_TRUE(e.worker->running());
}

TEST(Jobs, TheServerOpensANewBrokerConnectionWhenTheClientLibraryGaveUpOnIt) {
  auto& e = env();
  auto& nats = nats_server::shared();
  const auto server_password = nats.password(nats_role::server);
  nats.stop();
  nats.set_password(nats_role::server, "not-the-password-the-server-has-0123456789abcdef");
  nats.start();
  ASSERT_TRUE(eventually([&] { return e.server->log().find("\"bus_closed\"") != std::string::npos; },
                         std::chrono::seconds(30)))
      << broker_diagnostics();
  auto u = sign_up("jc");  // committed with its outbox row; nothing can publish it yet
  nats.stop();
  nats.set_password(nats_role::server, server_password);
  nats.start();
  EXPECT_TRUE(eventually([&] { return emails_to(u.email).size() == 1; }, std::chrono::seconds(60)))
      << broker_diagnostics();
  EXPECT_NE(e.server->log().find("\"bus_reopened\""), std::string::npos);
  EXPECT_TRUE(e.server->running());
}

TEST(Jobs, TheWorkerReachesTheDatabaseOnlyOverVerifiedTls13) {
  auto& e = env();
  ASSERT_TRUE(e.worker->running());
  // Every connection the running worker holds is TLS 1.3 (its conninfo says verify-full).
  auto rows = trim(psql("SELECT count(*) || ' ' || bool_and(s.ssl) || ' ' || min(s.version) || ' ' || max(s.version) "
                        "FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.usename = 'redoubt_worker'"));
  EXPECT_NE(rows.substr(0, 2), "0 ") << rows;
  EXPECT_NE(rows.find(" true TLSv1.3 TLSv1.3"), std::string::npos) << rows;
  // A conninfo that would accept an unverified (or no) TLS connection is refused at start.
  auto& nats = nats_server::shared();
  for (const char* weaker : {" sslmode=require", " sslmode=prefer", " ssl_min_protocol_version=TLSv1.2"}) {
    worker_options wo;
    wo.nats_url = nats.url();
    wo.nats_password = nats.password(nats_role::worker);
    wo.nats_ca_file = nats.ca_file();
    wo.verify_key_files = {e.public_key_file};
    wo.email_toml = "[email]\nprovider = \"mailbox\"\nmailbox_dir = " + quote_toml(e.dir + "/unused-mail") + "\n";
    wo.conninfo_extra = weaker;
    worker_process weak(wo);
    try {
      weak.start();
      ADD_FAILURE() << "the worker started with" << weaker;
    } catch (const std::runtime_error& err) {
      EXPECT_NE(std::string(err.what()).find("database.conninfo"), std::string::npos) << err.what();
    }
  }
}

TEST(Jobs, WorkerKilledMidJobIsRedeliveredAndTheEffectHappensOnce) {
  auto& e = env();
  e.sink->set_mode(sink_mode::slow, std::chrono::seconds(3));
  int before = e.sink->requests();
  auto u = sign_up("jk");
  ASSERT_TRUE(eventually([&] { return e.sink->requests() > before; })) << broker_diagnostics();
  e.worker->kill9();  // mid-send: the provider got it, the worker never recorded or acked it
  e.sink->set_mode(sink_mode::ok);
  int repeats = e.sink->repeats();
  e.worker->start();
  auto job = job_of(u.id, "verify_email");
  ASSERT_TRUE(eventually([&] { return trim(psql("SELECT outcome FROM processed_jobs WHERE job_id = '" + job + "'")) == "done"; },
                         std::chrono::seconds(30)))
      << e.worker->log();
  EXPECT_GT(e.sink->repeats(), repeats) << "redelivered and sent again";
  EXPECT_EQ(emails_to(u.email).size(), 1u) << "the provider dropped the repeat by its idempotency key";
  EXPECT_EQ(trim(psql("SELECT count(*) FROM email_deliveries WHERE job_id = '" + job + "'")), "1");
}

TEST(Jobs, ProviderFailingRetriesOpensTheBreakerClosesItOnRecoveryNothingLost) {
  auto& e = env();
  std::this_thread::sleep_for(std::chrono::seconds(1));  // the metrics file is rewritten every 0.5 s
  auto opened_before = e.worker->metric("redoubt_worker_email_breaker_opened_total");
  e.sink->set_mode(sink_mode::fail_500);
  auto a = sign_up("jf");
  auto b = sign_up("jf");
  ASSERT_TRUE(eventually([&] { return e.worker->metric("redoubt_worker_email_breaker_opened_total") > opened_before; }))
      << e.worker->log();
  EXPECT_EQ(e.worker->metric("redoubt_worker_email_breaker_state"), 1);  // open
  EXPECT_TRUE(emails_to(a.email).empty());
  EXPECT_NE(e.worker->log().find("\"email_breaker_state\""), std::string::npos) << "state changes are logged";
  e.sink->set_mode(sink_mode::ok);
  EXPECT_TRUE(eventually([&] { return emails_to(a.email).size() == 1 && emails_to(b.email).size() == 1; },
                         std::chrono::seconds(30)))
      << e.worker->log();
  EXPECT_TRUE(eventually([&] { return e.worker->metric("redoubt_worker_email_breaker_state") == 0; }));
}

TEST(Jobs, ProviderThatHangsIsTimedOutRetriedWithTheSameKeyAndMailedOnce) {
  auto& e = env();
  e.sink->set_mode(sink_mode::hang);  // takes the request, never answers
  int requests_before = e.sink->requests();
  int repeats_before = e.sink->repeats();
  auto u = sign_up("jh");
  // A second request can only come after the total timeout (2 s) ended the first call.
  ASSERT_TRUE(eventually([&] { return e.sink->requests() >= requests_before + 2; }, std::chrono::seconds(20)))
      << e.worker->log();
  auto job = job_of(u.id, "verify_email");
  EXPECT_EQ(trim(psql("SELECT count(*) FROM processed_jobs WHERE job_id = '" + job + "'")), "0") << "not done yet";
  e.sink->set_mode(sink_mode::ok);
  ASSERT_TRUE(eventually([&] { return trim(psql("SELECT outcome FROM processed_jobs WHERE job_id = '" + job + "'")) == "done"; },
                         std::chrono::seconds(30)))
      << e.worker->log();
  EXPECT_EQ(emails_to(u.email).size(), 1u) << "every retry carried the same Idempotency-Key";
  EXPECT_GT(e.sink->repeats(), repeats_before);
}

http_response post_hook(https_client& c, const std::string& body, const std::string& ts, const std::string& sig) {
  return c.request("POST", "/api/v1/hooks/email", body, {{"X-Redoubt-Timestamp", ts}, {"X-Redoubt-Signature", sig}});
}

TEST(Jobs, EmailWebhookChecksSignatureWindowSizeAndSchemaAndBouncesStopMail) {
  auto& e = env();
  auto u = sign_up("jw");
  ASSERT_TRUE(eventually([&] { return emails_to(u.email).size() == 1; }));
  auto c = e.server->client();
  auto now = std::to_string(std::time(nullptr));
  auto rejected_before = trim(psql("SELECT count(*) FROM audit_log WHERE action = 'email_webhook.rejected'"));

  std::string body = "{\"id\":\"evt-" + u.username + "\",\"type\":\"bounced\",\"recipient\":\"" + u.email + "\"}";
  auto bad_sig = post_hook(c, body, now, api::sign_webhook("wrong secret", now, body));
  EXPECT_EQ(bad_sig.status, 401);
  auto stale_ts = std::to_string(std::time(nullptr) - 301);
  auto stale = post_hook(c, body, stale_ts, api::sign_webhook(webhook_secret, stale_ts, body));
  EXPECT_EQ(stale.status, 401);
  std::string big = "{\"id\":\"x\",\"type\":\"bounced\",\"recipient\":\"" + std::string(17000, 'a') + "@x.test\"}";
  EXPECT_EQ(post_hook(c, big, now, api::sign_webhook(webhook_secret, now, big)).status, 413);
  std::string broken = "{\"id\":\"x\",\"type\":";
  EXPECT_EQ(post_hook(c, broken, now, api::sign_webhook(webhook_secret, now, broken)).status, 400);
  std::string extra = "{\"id\":\"x\",\"type\":\"bounced\",\"recipient\":\"a@b.test\",\"admin\":true}";
  EXPECT_EQ(post_hook(c, extra, now, api::sign_webhook(webhook_secret, now, extra)).status, 400);
  EXPECT_EQ(std::stoi(trim(psql("SELECT count(*) FROM audit_log WHERE action = 'email_webhook.rejected'"))),
            std::stoi(rejected_before) + 5)
      << "every rejection is audited";
  EXPECT_EQ(trim(psql("SELECT email_undeliverable FROM users WHERE id = " + std::to_string(u.id))), "f");

  auto ok = post_hook(c, body, now, api::sign_webhook(webhook_secret, now, body));
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(trim(psql("SELECT email_undeliverable FROM users WHERE id = " + std::to_string(u.id))), "t");
  const auto replayed_rows = "SELECT count(*) FROM audit_log WHERE action = 'email_webhook.replayed' AND outcome = "
                             "'duplicate' AND details->>'event_id' = 'evt-" + u.username + "'";
  EXPECT_EQ(trim(psql(replayed_rows)), "0");
  auto replay = post_hook(c, body, now, api::sign_webhook(webhook_secret, now, body));
  EXPECT_EQ(replay.status, 200);
  EXPECT_EQ(replay.json().at("status").as_string(), "duplicate");
  EXPECT_EQ(trim(psql(replayed_rows)), "1") << "a replayed event is audited";

  // A bounced address gets no more mail: the reset job is checked again just before sending.
  EXPECT_EQ(c.post("/api/v1/auth/password-reset", json::object{{"email", u.email}}).status, 202);
  auto job = [&] { return job_of(u.id, "password_reset"); };
  ASSERT_TRUE(eventually([&] {
    auto j = job();
    return !j.empty() && trim(psql("SELECT outcome FROM processed_jobs WHERE job_id = '" + j + "'")) == "skipped";
  })) << e.worker->log();
  EXPECT_EQ(emails_to(u.email).size(), 1u);
}

std::vector<received_email> notifications_to(const std::string& address) {
  std::vector<received_email> out;
  for (auto& m : emails_to(address))
    if (m.tag == "notify_unread") out.push_back(m);
  return out;
}

TEST(Jobs, UnreadMentionsAndDirectMessagesAreMailedOnceBatchedAndNotOnceRead) {
  auto& e = env();
  auto a = sign_up("na");
  auto b = sign_up("nb");
  ASSERT_TRUE(eventually([&] { return emails_to(b.email).size() == 1; }));
  auto anon = e.server->client();
  ASSERT_EQ(anon.post("/api/v1/auth/verify-email", json::object{{"token", token_from_email(emails_to(b.email)[0].text)}})
                .status,
            200);
  auto dm = a.http.post("/api/v1/dms", json::object{{"username", b.username}}).json().at("room").at("id").as_int64();
  auto room = a.http.post("/api/v1/rooms", json::object{{"name", unique_name("notif")}, {"kind", "public"}})
                  .json().at("room").at("id").as_int64();
  auto rid = "/api/v1/rooms/" + std::to_string(room);
  auto did = "/api/v1/rooms/" + std::to_string(dm);
  ASSERT_EQ(b.http.post(rid + "/join", json::object{}).status, 200);
  ASSERT_EQ(a.http.post(did + "/messages", json::object{{"client_id", "d1"}, {"body", "secret-body-one"}}).status, 201);
  ASSERT_EQ(a.http.post(did + "/messages", json::object{{"client_id", "d2"}, {"body", "secret-body-two"}}).status, 201);
  ASSERT_EQ(a.http.post(rid + "/messages", json::object{{"client_id", "m1"}, {"body", "hey @" + b.username}}).status,
            201);
  ASSERT_TRUE(eventually([&] { return !notifications_to(b.email).empty(); })) << e.worker->log();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  auto mails = notifications_to(b.email);
  ASSERT_EQ(mails.size(), 1u) << "one email for all of them";
  EXPECT_NE(mails[0].text.find("2 direct messages from " + a.username), std::string::npos) << mails[0].text;
  EXPECT_NE(mails[0].text.find("1 mention in #"), std::string::npos) << mails[0].text;
  EXPECT_EQ(mails[0].text.find("secret-body"), std::string::npos) << "no message content in email";
  EXPECT_TRUE(notifications_to(a.email).empty()) << "nobody mentioned or messaged Alice; her address is unverified";

  // Read before the delay is over: the job finds nothing unread and sends nothing.
  auto ack = a.http.post(did + "/messages", json::object{{"client_id", "d3"}, {"body", "are you there?"}});
  ASSERT_EQ(ack.status, 201);
  auto seq = ack.json().at("seq").as_int64();
  ASSERT_EQ(b.http.post(did + "/read", json::object{{"seq", seq}}).status, 204);
  ASSERT_TRUE(eventually([&] {
    return trim(psql("SELECT count(*) FROM processed_jobs p JOIN outbox o ON o.id = p.job_id WHERE o.kind = "
                     "'notify_unread' AND o.payload->>'user_id' = '" + std::to_string(b.id) +
                     "' AND p.outcome = 'skipped'")) == "1";
  })) << e.worker->log();
  EXPECT_EQ(notifications_to(b.email).size(), 1u);
}

TEST(Jobs, RetentionErasesOldMessagesOnlyInRoomsThatAskForIt) {
  auto& e = env();
  auto a = sign_up("ra");
  auto b = sign_up("rb");
  auto make = [&](const std::string& prefix) {
    return a.http.post("/api/v1/rooms", json::object{{"name", unique_name(prefix)}, {"kind", "public"}})
        .json().at("room").at("id").as_int64();
  };
  auto kept = make("keep");
  auto short_lived = make("ret");
  auto rid = "/api/v1/rooms/" + std::to_string(short_lived);
  auto kid = "/api/v1/rooms/" + std::to_string(kept);
  ASSERT_EQ(b.http.post(rid + "/join", json::object{}).status, 200);
  EXPECT_EQ(b.http.patch(rid, json::object{{"retention_days", 1}}).status, 403) << "owners only";
  EXPECT_EQ(a.http.patch(rid, json::object{{"retention_days", 0}}).status, 400);
  EXPECT_EQ(a.http.patch(rid, json::object{{"retention_days", "1"}}).status, 400);
  EXPECT_EQ(a.http.patch(rid, json::object{{"retention_days", 1}, {"topic", "both"}}).status, 400);
  auto set = a.http.patch(rid, json::object{{"retention_days", 1}});
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(set.json().at("room").at("retention_days").as_int64(), 1);
  EXPECT_TRUE(a.http.get(kid).json().at("room").at("retention_days").is_null());

  for (const auto& [path, cid, body] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {rid, "o1", "old-one"}, {rid, "o2", "old-two"}, {rid, "n1", "new-one"}, {kid, "k1", "old-kept"}})
    ASSERT_EQ(a.http.post(path + "/messages", json::object{{"client_id", cid}, {"body", body}}).status, 201);
  psql("UPDATE messages SET created_at = now() - interval '2 days' WHERE body IN ('old-one', 'old-two', 'old-kept') "
       "AND room_id IN (" + std::to_string(short_lived) + ", " + std::to_string(kept) + ")");
  ASSERT_TRUE(eventually([&] {
    return trim(psql("SELECT count(*) FROM messages WHERE room_id = " + std::to_string(short_lived) +
                     " AND body = '' AND deleted_at IS NOT NULL")) == "2";
  })) << e.worker->log();
  auto history = a.http.get(rid + "/messages").json().at("messages").as_array();
  ASSERT_EQ(history.size(), 3u) << "tombstones keep the sequence gapless";
  for (const auto& m : history) {
    auto body = std::string(m.at("body").as_string());
    EXPECT_TRUE(body.empty() || body == "new-one") << body;
    if (body.empty()) {
      EXPECT_TRUE(m.at("deleted").as_bool());
    }
  }
  EXPECT_EQ(trim(psql("SELECT count(*) FROM messages WHERE body = 'old-kept'")), "1") << "no retention, kept";
  EXPECT_NE(trim(psql("SELECT count(*) FROM audit_log WHERE action = 'retention.applied'")), "0");
  EXPECT_NE(trim(psql("SELECT count(*) FROM audit_log WHERE action = 'room.retention' AND target = 'room:" +
                      std::to_string(short_lived) + "'")),
            "0");
}

TEST(Jobs, SmtpProviderDeliversOverImplicitTls13) {
  auto& e = env();
  e.worker->stop();  // the HTTPS worker steps aside; jobs wait in the stream meanwhile
  smtp_sink smtp;
  auto& nats = nats_server::shared();
  worker_options wo;
  wo.nats_url = nats.url();
  wo.nats_password = nats.password(nats_role::worker);
  wo.nats_ca_file = nats.ca_file();
  wo.verify_key_files = {e.public_key_file};
  wo.email_toml = "[email]\nprovider = \"smtp\"\nsmtp_url = " + quote_toml(smtp.url()) + "\nca_file = " +
                  quote_toml(smtp.ca_file()) + "\nfrom_address = \"redoubt@example.test\"\nfrom_name = \"Redoubt Test\"\n";
  {
    worker_process smtp_worker(wo);
    smtp_worker.start();
    auto u = sign_up("js");
    ASSERT_TRUE(eventually([&] {
      for (auto& m : smtp.messages())
        if (!m.rcpt_to.empty() && m.rcpt_to[0] == u.email) return true;
      return false;
    })) << smtp_worker.log();
    smtp_message msg;
    for (auto& m : smtp.messages())
      if (!m.rcpt_to.empty() && m.rcpt_to[0] == u.email) msg = m;
    EXPECT_EQ(msg.mail_from, "redoubt@example.test");
    ASSERT_EQ(msg.rcpt_to.size(), 1u);
    EXPECT_NE(msg.data.find("To: <" + u.email + ">\r\n"), std::string::npos) << msg.data;
    EXPECT_NE(msg.data.find("From: \"Redoubt Test\" <redoubt@example.test>\r\n"), std::string::npos);
    EXPECT_NE(msg.data.find("Subject: Confirm your email address for Redoubt\r\n"), std::string::npos);
    EXPECT_NE(msg.data.find("X-Redoubt-Correlation-Id: " + u.request_id + "\r\n"), std::string::npos);
    auto token = token_from_email(msg.data);
    ASSERT_EQ(token.size(), 43u);
    auto anon = e.server->client();
    EXPECT_EQ(anon.post("/api/v1/auth/verify-email", json::object{{"token", token}}).status, 200);
  }
  e.worker->start();
}

}  // namespace
// ---- attachments: thumbnails, clean-up, crash consistency

namespace {

std::int64_t files_room(signed_up& u) {
  auto res = u.http.post("/api/v1/rooms", json::object{{"name", unique_name("files")}, {"kind", "public"}});
  EXPECT_EQ(res.status, 201) << res.body;
  return res.json().at("room").at("id").as_int64();
}

std::set<std::string> objects_in_store() {
  std::set<std::string> names;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(env().store + "/objects", ec);
       !ec && it != std::filesystem::end(it); it.increment(ec))
    if (it->is_regular_file()) names.insert(it->path().filename().string());
  return names;
}

bool object_exists(std::int64_t attachment_id, std::string& name) {
  if (name.empty())
    name = trim(psql("SELECT storage_name FROM attachments WHERE id = " + std::to_string(attachment_id)));
  return !name.empty() && std::filesystem::exists(env().store + "/objects/" + name.substr(0, 2) + "/" + name);
}

std::uint32_t crc32_of(std::string_view data) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char c : data) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

void put_be32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xFF));
}

// A PNG whose header claims width x height; the pixel data is a token few bytes.
std::string png_claiming(std::uint32_t width, std::uint32_t height) {
  std::string png("\x89PNG\r\n\x1a\n", 8);
  std::string ihdr = "IHDR";
  put_be32(ihdr, width);
  put_be32(ihdr, height);
  ihdr += std::string("\x08\x06\x00\x00\x00", 5);  // 8-bit RGBA
  put_be32(png, 13);
  png += ihdr;
  put_be32(png, crc32_of(ihdr));
  const std::string idat = std::string("IDAT") + std::string("\x78\x9c\x63\x00\x00\x00\x01\x00\x01", 9);
  put_be32(png, 9);
  png += idat;
  put_be32(png, crc32_of(idat));
  put_be32(png, 0);
  png += "IEND";
  put_be32(png, crc32_of("IEND"));
  return png;
}

// The worker trusts its config and secret files only when nobody else can read them.
TEST(Jobs, WorkerRefusesConfigAndSecretFilesOthersCanRead) {
  auto& x = env();
  auto& nats = nats_server::shared();
  for (const char* file : {"worker.toml", "db.pass", "nats.pass"}) {
    worker_options wo;
    wo.nats_url = nats.url();
    wo.nats_password = nats.password(nats_role::worker);
    wo.nats_ca_file = nats.ca_file();
    wo.verify_key_files = {x.public_key_file};
    worker_process w(wo);
    const auto path = w.dir() + "/" + file;
    ASSERT_EQ(::chmod(path.c_str(), 0644), 0) << path;
    EXPECT_THROW(w.start(), std::exception) << file;
    EXPECT_NE(w.log().find("accessible by group or others"), std::string::npos) << file << ": " << w.log();
  }
}

}  // namespace

TEST(Jobs, ImageUploadsGetAThumbnailMadeByTheWorker) {
  auto u = sign_up("thumb");
  auto room = files_room(u);
  std::string pixels(800 * 600 * 4, '\0');
  for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<char>((i % 4 == 3) ? 255 : (i / 4) % 251);
  auto png = media::encode_png_rgba(800, 600, pixels);
  ASSERT_TRUE(png);
  auto res = upload_attachment(u.http, room, *png, "wide.png");
  ASSERT_EQ(res.status, 201) << res.body;
  const auto id = res.json().at("attachment").at("id").as_int64();
  const auto meta_path = "/api/v1/attachments/" + std::to_string(id) + "/meta";
  ASSERT_TRUE(eventually([&] { return u.http.get(meta_path).json().at("attachment").at("thumbnail").as_bool(); }))
      << env().worker->log();
  auto thumb = u.http.get("/api/v1/attachments/" + std::to_string(id) + "/thumbnail");
  ASSERT_EQ(thumb.status, 200) << thumb.body;
  EXPECT_EQ(thumb.header("content-type"), "image/png");
  auto size = media::probe(thumb.body, "image/png");
  ASSERT_TRUE(size);
  EXPECT_EQ(size->width, 320u);
  EXPECT_EQ(size->height, 240u);
  // Stored sealed with the file's key: the database holds no PNG.
  EXPECT_EQ(trim(psql("SELECT position('\\x89504e47'::bytea IN thumbnail) FROM attachments WHERE id = " +
                      std::to_string(id))),
            "0");
  // Not for strangers.
  auto other = sign_up("thumbx");
  EXPECT_EQ(other.http.get("/api/v1/attachments/" + std::to_string(id) + "/thumbnail").status, 404);
}

TEST(Jobs, StillWebpUploadsGetAThumbnailToo) {
  auto u = sign_up("webp");
  auto room = files_room(u);
  std::string pixels(640 * 480 * 4, '\0');
  for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<char>((i % 4 == 3) ? 255 : (i / 4) % 241);
  std::uint8_t* encoded = nullptr;
  const auto len = WebPEncodeRGBA(reinterpret_cast<const std::uint8_t*>(pixels.data()), 640, 480, 640 * 4, 80, &encoded);
  ASSERT_GT(len, 0u);
  const std::string webp(reinterpret_cast<const char*>(encoded), len);
  WebPFree(encoded);
  auto res = upload_attachment(u.http, room, webp, "photo.webp");
  ASSERT_EQ(res.status, 201) << res.body;
  EXPECT_EQ(res.json().at("attachment").at("content_type").as_string(), "image/webp");
  const auto id = res.json().at("attachment").at("id").as_int64();
  const auto meta_path = "/api/v1/attachments/" + std::to_string(id) + "/meta";
  ASSERT_TRUE(eventually([&] { return u.http.get(meta_path).json().at("attachment").at("thumbnail").as_bool(); }))
      << env().worker->log();
  auto thumb = u.http.get("/api/v1/attachments/" + std::to_string(id) + "/thumbnail");
  ASSERT_EQ(thumb.status, 200) << thumb.body;
  auto size = media::probe(thumb.body, "image/png");
  ASSERT_TRUE(size);
  EXPECT_EQ(size->width, 320u);
  EXPECT_EQ(size->height, 240u);
}

TEST(Jobs, ADecompressionBombGetsNoThumbnailAndIsAudited) {
  auto u = sign_up("bomb");
  auto room = files_room(u);
  auto res = upload_attachment(u.http, room, png_claiming(60000, 60000), "bomb.png");
  ASSERT_EQ(res.status, 201) << res.body;
  const auto id = res.json().at("attachment").at("id").as_int64();
  EXPECT_EQ(res.json().at("attachment").at("content_type").as_string(), "image/png");
  ASSERT_TRUE(eventually([&] {
    return trim(psql("SELECT count(*) FROM audit_log WHERE action = 'attachment.thumbnail_refused' AND target = "
                     "'attachment:" + std::to_string(id) + "'")) == "1";
  })) << env().worker->log();
  EXPECT_NE(trim(psql("SELECT details::text FROM audit_log WHERE action = 'attachment.thumbnail_refused' AND target = "
                      "'attachment:" + std::to_string(id) + "'"))
                .find("too large"),
            std::string::npos);
  EXPECT_FALSE(u.http.get("/api/v1/attachments/" + std::to_string(id) + "/meta")
                   .json().at("attachment").at("thumbnail").as_bool());
  EXPECT_TRUE(env().worker->running());
}

TEST(Jobs, UnreachableAttachmentsAreErasedFromDiskAndDatabase) {
  auto u = sign_up("gc");
  auto room = files_room(u);
  // Never attached: gone after unattached_ttl_s (4 s in this setup).
  auto loose = upload_attachment(u.http, room, "never sent").json().at("attachment").at("id").as_int64();
  std::string loose_name;
  ASSERT_TRUE(object_exists(loose, loose_name));
  // Attached, then the message is deleted: gone at the next maintenance run.
  auto kept = upload_attachment(u.http, room, "sent, then deleted").json().at("attachment").at("id").as_int64();
  auto msg = u.http.post("/api/v1/rooms/" + std::to_string(room) + "/messages",
                         json::object{{"client_id", "gc-1"}, {"body", "file"}, {"attachments", json::array{kept}}});
  ASSERT_EQ(msg.status, 201) << msg.body;
  std::string kept_name;
  ASSERT_TRUE(object_exists(kept, kept_name));
  ASSERT_EQ(u.http.del("/api/v1/messages/" + std::to_string(msg.json().at("message_id").as_int64())).status, 204);
  ASSERT_TRUE(eventually([&] { return !object_exists(kept, kept_name); }, std::chrono::seconds(30)))
      << env().worker->log();
  EXPECT_EQ(trim(psql("SELECT count(*) FROM attachments WHERE id = " + std::to_string(kept))), "0");
  ASSERT_TRUE(eventually([&] { return !object_exists(loose, loose_name); }, std::chrono::seconds(30)));
  EXPECT_EQ(trim(psql("SELECT count(*) FROM attachments WHERE id = " + std::to_string(loose))), "0");
  EXPECT_GE(std::stoi(trim(psql("SELECT count(*) FROM audit_log WHERE action = 'files.maintenance'"))), 1);
}

TEST(Jobs, ACrashBetweenFileAndCommitLeavesNoRowAndTheOrphanIsSwept) {
#ifndef REDOUBT_FAULT_INJECTION
  GTEST_SKIP() << "needs a server built with -DREDOUBT_FAULT_INJECTION=ON (the ASan build of `make test` has it; "
                  "release builds never do)";
#endif
  // A second server on the same store and database that dies right after making a file durable.
  server_options so;
  so.extra_toml = env().server_toml;
  server_process crashing(so);
  ::setenv("REDOUBT_FAULT_CRASH_BEFORE_ATTACHMENT_COMMIT", "1", 1);
  crashing.start();
  ::unsetenv("REDOUBT_FAULT_CRASH_BEFORE_ATTACHMENT_COMMIT");
  auto http = crashing.client();
  auto name = unique_name("crash");
  ASSERT_EQ(http.post("/api/v1/auth/register", json::object{{"username", name}, {"email", name + "@example.test"},
                                                            {"password", test_password}})
                .status,
            201);
  auto room = http.post("/api/v1/rooms", json::object{{"name", unique_name("crash")}, {"kind", "public"}})
                  .json().at("room").at("id").as_int64();
  const auto rows_before = trim(psql("SELECT count(*) FROM attachments"));
  const auto files_before = objects_in_store();
  bool answered = false;
  try {
    answered = upload_attachment(http, room, pattern_bytes(200000, 1)).status != 0;
  } catch (const std::exception&) {
    // the server died mid-request
  }
  EXPECT_FALSE(answered);
  ASSERT_TRUE(crashing.wait_exit(std::chrono::seconds(10)).has_value());
  EXPECT_EQ(*crashing.exit_status(), 70);
  // The file is complete on disk, but without a row it does not exist for anyone.
  EXPECT_EQ(trim(psql("SELECT count(*) FROM attachments")), rows_before);
  std::string orphan;
  for (const auto& n : objects_in_store())
    if (!files_before.contains(n)) orphan = n;
  ASSERT_FALSE(orphan.empty()) << "the crashed upload left no file";
  EXPECT_EQ(trim(psql("SELECT count(*) FROM attachments WHERE storage_name = '" + orphan + "'")), "0");
  // Maintenance removes it once it is older than the orphan grace (2 s here).
  ASSERT_TRUE(eventually([&] { return !objects_in_store().contains(orphan); }, std::chrono::seconds(30)))
      << env().worker->log();
  EXPECT_TRUE(eventually([&] {
    return trim(psql("SELECT count(*) FROM audit_log WHERE action = 'files.maintenance' AND "
                     "(details->>'orphans')::int > 0")) != "0";
  }));
}

TEST(Jobs, WithScanningOnUploadsWaitForClamdAndInfectedOnesAreNeverServed) {
  if (!env().clamd) GTEST_SKIP() << "clamav-daemon is not installed";
  // A node with [files] scan = true on the same store, database and broker.
  server_options so;
  so.extra_toml = env().server_toml + "scan = true\n";
  server_process scanning(so);
  scanning.start();
  auto http = scanning.client();
  auto name = unique_name("scan");
  ASSERT_EQ(http.post("/api/v1/auth/register", json::object{{"username", name}, {"email", name + "@example.test"},
                                                            {"password", test_password}})
                .status,
            201);
  auto room = http.post("/api/v1/rooms", json::object{{"name", unique_name("scan")}, {"kind", "public"}})
                  .json().at("room").at("id").as_int64();
  auto meta_of = [&](std::int64_t id) {
    return http.get("/api/v1/attachments/" + std::to_string(id) + "/meta");
  };
  auto state_of = [&](std::int64_t id) {
    auto res = meta_of(id);
    return res.status == 200 ? std::string(res.json().at("attachment").at("state").as_string()) : std::string("gone");
  };

  // A clean file: held back while scanning, then served.
  auto clean = upload_attachment(http, room, "an ordinary report");
  ASSERT_EQ(clean.status, 201) << clean.body;
  const auto clean_id = clean.json().at("attachment").at("id").as_int64();
  EXPECT_EQ(clean.json().at("attachment").at("state").as_string(), "scanning");
  ASSERT_TRUE(eventually([&] { return state_of(clean_id) == "ready"; })) << env().worker->log();
  auto got = http.get("/api/v1/attachments/" + std::to_string(clean_id));
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body, "an ordinary report");
  // While a file is being scanned it is neither served nor attachable (the worker above may
  // be faster than any request, so the state is set back by hand here).
  psql("UPDATE attachments SET state = 'scanning' WHERE id = " + std::to_string(clean_id));
  auto held = http.get("/api/v1/attachments/" + std::to_string(clean_id));
  EXPECT_EQ(held.status, 409);
  EXPECT_EQ(error_code(held), "conflict");
  auto too_early = http.post("/api/v1/rooms/" + std::to_string(room) + "/messages",
                             json::object{{"client_id", "scan-0"}, {"body", "x"}, {"attachments", json::array{clean_id}}});
  EXPECT_EQ(too_early.status, 400) << too_early.body;
  psql("UPDATE attachments SET state = 'ready' WHERE id = " + std::to_string(clean_id));

  // EICAR inside a larger file: rejected, never served, audited with the signature name.
  const auto infected_bytes = pattern_bytes(300000, 4) + clamd_process::eicar() + pattern_bytes(300000, 5);
  auto infected = upload_attachment(http, room, infected_bytes, "invoice.pdf");
  ASSERT_EQ(infected.status, 201) << infected.body;
  const auto bad_id = infected.json().at("attachment").at("id").as_int64();
  ASSERT_TRUE(eventually([&] {
    return trim(psql("SELECT count(*) FROM audit_log WHERE action = 'attachment.malware_found' AND target = "
                     "'attachment:" + std::to_string(bad_id) + "'")) == "1";
  })) << env().worker->log() << env().clamd->log();
  EXPECT_NE(trim(psql("SELECT details->>'signature' FROM audit_log WHERE action = 'attachment.malware_found' AND "
                      "target = 'attachment:" + std::to_string(bad_id) + "'"))
                .find("Redoubt-Test-EICAR"),
            std::string::npos);
  EXPECT_EQ(http.get("/api/v1/attachments/" + std::to_string(bad_id)).status, 404);
  auto attach_bad = http.post("/api/v1/rooms/" + std::to_string(room) + "/messages",
                              json::object{{"client_id", "scan-1"}, {"body", "x"}, {"attachments", json::array{bad_id}}});
  EXPECT_EQ(attach_bad.status, 400);
  // The clean-up erases it from disk and database.
  EXPECT_TRUE(eventually([&] { return state_of(bad_id) == "gone"; }, std::chrono::seconds(30)));
  EXPECT_EQ(trim(psql("SELECT count(*) FROM attachments WHERE id = " + std::to_string(bad_id))), "0");
}

// Runs last: a whole stack session (sign-up, verification and reset emails, messages, jobs)
// has been through the server, the worker and the broker; none of their logs holds any
// configured secret, key, password, session token or emailed token.
TEST(Jobs, NoLogOfTheStackHoldsASecret) {
  auto& x = env();
  auto& nats = nats_server::shared();
  auto u = sign_up("scan");
  ASSERT_TRUE(eventually([&] { return !emails_to(u.email).empty(); }));
  auto anon = x.server->client();
  anon.set_source_address("127.0.0.91");  // the reset limit per IP is the other tests' to spend
  ASSERT_EQ(anon.post("/api/v1/auth/password-reset", json::object{{"email", u.email}}).status, 202);
  ASSERT_TRUE(eventually([&] { return emails_to(u.email).size() == 2; })) << x.worker->log();

  std::vector<std::pair<std::string, std::string>> secrets;  // what, value
  auto first_line = [](const std::string& path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return trim(line);
  };
  for (const auto& entry : std::filesystem::directory_iterator(x.dir)) {
    const auto ext = entry.path().extension().string();
    if (ext == ".pass" || ext == ".key" || ext == ".secret")
      secrets.emplace_back(entry.path().filename().string(), first_line(entry.path().string()));
  }
  secrets.emplace_back("server db.pass", first_line(x.server->dir() + "/db.pass"));
  secrets.emplace_back("worker db.pass", first_line(x.worker->dir() + "/db.pass"));
  secrets.emplace_back("cluster key", first_line(nats.cluster_key_file()));
  for (auto role : {nats_role::server, nats_role::worker, nats_role::admin})
    secrets.emplace_back(std::string("nats password of ") + nats_server::user(role), nats.password(role));
  secrets.emplace_back("webhook secret", webhook_secret);
  secrets.emplace_back("email API key", sink_api_key);
  const auto cookie = u.http.cookie_header();
  secrets.emplace_back("session token", cookie.substr(cookie.find('=') + 1));
  for (const auto& mail : emails_to(u.email)) secrets.emplace_back("emailed token", token_from_email(mail.text));

  std::ifstream nats_in(nats.dir() + "/nats.log");
  const std::string nats_log((std::istreambuf_iterator<char>(nats_in)), std::istreambuf_iterator<char>());
  const std::vector<std::pair<std::string, std::string>> logs{
      {"server", x.server->log()}, {"worker", x.worker->log()}, {"nats", nats_log}};
  std::size_t checked = 0;
  for (const auto& [what, value] : secrets) {
    if (value.size() < 12) continue;  // nothing that short is a secret here
    ++checked;
    for (const auto& [name, text] : logs)
      EXPECT_EQ(text.find(value), std::string::npos) << what << " appears in the " << name << " log";
  }
  EXPECT_GE(checked, 12u) << "the scan found too few secrets to be meaningful";
  for (const auto& [name, text] : logs) EXPECT_FALSE(text.empty()) << name << " log is empty";
}

}  // namespace redoubt::test
