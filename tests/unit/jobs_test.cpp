// Pure parts of background jobs: signed envelopes, the email webhook signature and schema,
// and header-safe email rendering.
#include <gtest/gtest.h>

#include "api/email_webhook.hpp"
#include "crypto/crypto.hpp"
#include "email/message.hpp"
#include "queue/envelope.hpp"

namespace redoubt {
namespace {

constexpr std::int64_t now = 1'800'000'000;

struct keys {
  crypto::signing_keypair kp = crypto::generate_signing_keypair();
  std::map<std::string, std::string> trusted() const { return {{queue::signing_key_id(kp.public_key), kp.public_key}}; }
};

queue::job_envelope job() {
  return {"0b6f9c2e-1d2a-4c3b-9e8f-0123456789ab", "verify_email", now - 5, now + 600, "req-1", "{\"user_id\":7}"};
}

TEST(Envelope, SealedJobOpensWithAllFields) {
  keys k;
  auto s = queue::seal(job(), k.kp.secret_key, k.kp.public_key);
  ASSERT_TRUE(s);
  auto o = queue::open(s->data, s->key_id, s->signature, k.trusted(), now);
  ASSERT_TRUE(o.ok) << queue::rejection_name(o.why);
  EXPECT_EQ(o.job.id, job().id);
  EXPECT_EQ(o.job.type, "verify_email");
  EXPECT_EQ(o.job.correlation_id, "req-1");
  EXPECT_EQ(o.job.payload_json, "{\"user_id\":7}");
  EXPECT_EQ(o.job.expires_at, now + 600);
}

TEST(Envelope, EveryTamperingIsRefused) {
  keys k, other;
  auto s = *queue::seal(job(), k.kp.secret_key, k.kp.public_key);
  // One flipped byte anywhere in the data.
  for (std::size_t i = 0; i < s.data.size(); ++i) {
    auto d = s.data;
    d[i] ^= 0x01;
    auto o = queue::open(d, s.key_id, s.signature, k.trusted(), now);
    EXPECT_FALSE(o.ok) << i;
    EXPECT_EQ(o.why, queue::rejection::bad_signature) << i;
  }
  auto sig = s.signature;
  sig[0] = sig[0] == '0' ? '1' : '0';
  EXPECT_EQ(queue::open(s.data, s.key_id, sig, k.trusted(), now).why, queue::rejection::bad_signature);
  EXPECT_EQ(queue::open(s.data, s.key_id, s.signature, other.trusted(), now).why, queue::rejection::unknown_key);
  auto forged = *queue::seal(job(), other.kp.secret_key, other.kp.public_key);
  EXPECT_EQ(queue::open(forged.data, s.key_id, forged.signature, k.trusted(), now).why,
            queue::rejection::bad_signature);
  EXPECT_EQ(queue::open(s.data, s.key_id, "zz", k.trusted(), now).why, queue::rejection::malformed);
}

TEST(Envelope, ExpiryAndFutureCreationAreRefused) {
  keys k;
  auto s = *queue::seal(job(), k.kp.secret_key, k.kp.public_key);
  EXPECT_EQ(queue::open(s.data, s.key_id, s.signature, k.trusted(), now + 600).why, queue::rejection::expired);
  auto future = job();
  future.created_at = now + queue::max_clock_skew_seconds + 10;
  future.expires_at = future.created_at + 60;
  auto f = *queue::seal(future, k.kp.secret_key, k.kp.public_key);
  EXPECT_EQ(queue::open(f.data, f.key_id, f.signature, k.trusted(), now).why, queue::rejection::not_yet_valid);
}

TEST(Envelope, SealRefusesWhatOpenWouldRefuse) {
  keys k;
  auto j = job();
  j.id = "not-a-uuid";
  EXPECT_FALSE(queue::seal(j, k.kp.secret_key, k.kp.public_key));
  j = job();
  j.type = "Verify.Email";
  EXPECT_FALSE(queue::seal(j, k.kp.secret_key, k.kp.public_key));
  j = job();
  j.payload_json = "[1]";
  EXPECT_FALSE(queue::seal(j, k.kp.secret_key, k.kp.public_key));
  j = job();
  j.correlation_id = "a\nb";
  EXPECT_FALSE(queue::seal(j, k.kp.secret_key, k.kp.public_key));
  j = job();
  j.payload_json = "{\"pad\":\"" + std::string(queue::max_envelope_bytes, 'x') + "\"}";
  EXPECT_FALSE(queue::seal(j, k.kp.secret_key, k.kp.public_key));
}

TEST(EmailWebhook, SignatureWindowAndSize) {
  const std::string secret = "s3cret-s3cret-s3cret-s3cret-s3cret";
  const std::string body = R"({"id":"e1","type":"bounced","recipient":"a@b.test"})";
  const std::string ts = std::to_string(now);
  auto sig = api::sign_webhook(secret, ts, body);
  EXPECT_TRUE(api::verify_webhook_signature(secret, ts, sig, body, now, 300));
  EXPECT_TRUE(api::verify_webhook_signature(secret, ts, sig, body, now + 300, 300));
  EXPECT_EQ(api::verify_webhook_signature(secret, ts, sig, body, now + 301, 300).error().code, errc::unauthenticated);
  EXPECT_EQ(api::verify_webhook_signature(secret, ts, sig, body + " ", now, 300).error().code, errc::unauthenticated);
  EXPECT_EQ(api::verify_webhook_signature("other", ts, sig, body, now, 300).error().code, errc::unauthenticated);
  EXPECT_EQ(api::verify_webhook_signature(secret, "", sig, body, now, 300).error().code, errc::unauthenticated);
  EXPECT_EQ(api::verify_webhook_signature(secret, ts + "x", sig, body, now, 300).error().code, errc::unauthenticated);
  std::string big(api::max_webhook_body_bytes + 1, ' ');
  EXPECT_EQ(api::verify_webhook_signature(secret, ts, api::sign_webhook(secret, ts, big), big, now, 300).error().code,
            errc::payload_too_large);
}

TEST(EmailWebhook, StrictSchema) {
  auto ok = api::parse_email_event(R"({"id":"e1","type":"delivered","recipient":"a@b.test","message_id":"m1"})");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->type, "delivered");
  EXPECT_EQ(ok->message_id, "m1");
  EXPECT_FALSE(api::parse_email_event(R"({"id":"e1","type":"opened","recipient":"a@b.test"})"));
  EXPECT_FALSE(api::parse_email_event(R"({"id":"e1","type":"bounced","recipient":"nope"})"));
  EXPECT_FALSE(api::parse_email_event(R"({"id":"","type":"bounced","recipient":"a@b.test"})"));
  EXPECT_FALSE(api::parse_email_event(R"({"id":"e1","type":"bounced","recipient":"a@b.test","x":1})"));
  EXPECT_FALSE(api::parse_email_event(R"({"id":1,"type":"bounced","recipient":"a@b.test"})"));
  EXPECT_FALSE(api::parse_email_event("[]"));
}

TEST(EmailMessage, HeaderInjectionIsImpossible) {
  email::email_message m{"bob@example.test", "Hello", "line 1\nline 2", "k1", "c1", "verify_email"};
  EXPECT_TRUE(email::validate(m, "redoubt@example.test"));
  auto bad = m;
  bad.to = "bob@example.test\r\nBcc: eve@example.test";
  EXPECT_FALSE(email::validate(bad, "redoubt@example.test"));
  bad = m;
  bad.subject = "Hi\r\nBcc: eve@example.test";
  EXPECT_FALSE(email::validate(bad, "redoubt@example.test"));
  bad = m;
  bad.to = "a@b.test, eve@example.test";
  EXPECT_FALSE(email::validate(bad, "redoubt@example.test"));
  bad = m;
  bad.correlation_id = "c\n1";
  EXPECT_FALSE(email::validate(bad, "redoubt@example.test"));
  EXPECT_FALSE(email::validate(m, "not an address"));

  auto text = email::render_rfc5322(m, "redoubt@example.test", "Red \"oubt\"", "k1@example.test",
                                    "Mon, 23 Nov 2026 10:00:00 +0000");
  EXPECT_NE(text.find("From: \"Red \\\"oubt\\\"\" <redoubt@example.test>\r\n"), std::string::npos) << text;
  EXPECT_NE(text.find("To: <bob@example.test>\r\nSubject: Hello\r\n"), std::string::npos);
  EXPECT_NE(text.find("\r\n\r\nline 1\r\nline 2\r\n"), std::string::npos);
  EXPECT_EQ(text.find("\n\n"), std::string::npos) << "only CRLF line ends";
}

}  // namespace
}  // namespace redoubt
