#include "crypto/crypto.hpp"

#include <set>
#include <string>

#include <gtest/gtest.h>

namespace redoubt::crypto {
namespace {

// Lowest costs libsodium allows for Argon2id time, small memory: keeps the suite fast.
constexpr std::uint64_t kOps = 1;
constexpr std::uint64_t kMem = 8 * 1024 * 1024;

bool is_lower_hex(const std::string& s) {
  return s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

TEST(Crypto, RandomTokenIs256BitBase64Url) {
  init();
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    const std::string t = random_token();
    EXPECT_EQ(t.size(), 43u);  // ceil(32 * 8 / 6), no padding
    EXPECT_EQ(
        t.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        std::string::npos)
        << t;
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 200u);
}

TEST(Crypto, RandomHex) {
  const std::string h = random_hex(16);
  EXPECT_EQ(h.size(), 32u);
  EXPECT_TRUE(is_lower_hex(h));
  EXPECT_NE(h, random_hex(16));
  EXPECT_EQ(random_hex(0), "");
}

TEST(Crypto, TokenHashStableAndDistinct) {
  const std::string a = random_token();
  const std::string b = random_token();
  EXPECT_EQ(token_hash(a), token_hash(a));
  EXPECT_NE(token_hash(a), token_hash(b));
  EXPECT_EQ(token_hash(a).size(), 64u);
  EXPECT_TRUE(is_lower_hex(token_hash(a)));
  EXPECT_NE(token_hash(a), a);
  EXPECT_EQ(token_hash("abc"), sha256_hex("abc"));
}

TEST(Crypto, Sha256KnownVectors) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Crypto, HmacSha256Rfc4231) {
  // RFC 4231 test case 2: a 4-byte key, shorter than the 32 bytes crypto_auth uses natively.
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 6: a 131-byte key, longer than the block size, so it is hashed first.
  EXPECT_EQ(hmac_sha256_hex(std::string(131, '\xaa'),
                            "Test Using Larger Than Block-Size Key - Hash Key First"),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  EXPECT_NE(hmac_sha256_hex("Jefe", "what do ya want for nothing!"),
            hmac_sha256_hex("Jefe", "what do ya want for nothing?"));
}

TEST(Crypto, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
  EXPECT_FALSE(constant_time_equal("", "a"));
}

TEST(Crypto, HexRoundTrip) {
  const std::string raw("\x00\x01\xfe\xff\x7f", 5);
  EXPECT_EQ(to_hex(raw), "0001feff7f");
  auto back = from_hex("0001FEff7f");
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, raw);
  EXPECT_EQ(to_hex(""), "");
  ASSERT_TRUE(from_hex("").has_value());
  EXPECT_EQ(*from_hex(""), "");
  EXPECT_FALSE(from_hex("abc").has_value());
  EXPECT_FALSE(from_hex("zz").has_value());
  EXPECT_FALSE(from_hex("00 1").has_value());
  EXPECT_EQ(from_hex("0g").error().code, errc::invalid_argument);
}

TEST(Crypto, PasswordHashRoundTrip) {
  const secret_string pw("correct horse battery staple");
  auto hash = hash_password(pw, kOps, kMem);
  ASSERT_TRUE(hash.has_value()) << hash.error().message;
  EXPECT_EQ(hash->rfind("$argon2id$", 0), 0u) << *hash;
  EXPECT_EQ(hash->find(pw.reveal()), std::string::npos);
  EXPECT_TRUE(verify_password(pw, *hash));
  EXPECT_FALSE(verify_password(secret_string("correct horse battery stapl"), *hash));
  EXPECT_FALSE(verify_password(secret_string(""), *hash));

  // Salted: the same password hashes differently each time, and both verify.
  auto again = hash_password(pw, kOps, kMem);
  ASSERT_TRUE(again.has_value());
  EXPECT_NE(*hash, *again);
  EXPECT_TRUE(verify_password(pw, *again));
}

TEST(Crypto, TamperedHashFails) {
  const secret_string pw("a perfectly fine passphrase");
  auto hash = hash_password(pw, kOps, kMem);
  ASSERT_TRUE(hash.has_value());
  std::string tampered = *hash;
  // Mid-digest: every bit there is significant (the last base64 char carries padding bits).
  char& c = tampered[tampered.size() - 10];
  c = c == 'A' ? 'z' : 'A';
  EXPECT_FALSE(verify_password(pw, tampered));
  std::string other_salt = *hash;
  char& s = other_salt[other_salt.rfind('$') - 5];
  s = s == 'A' ? 'z' : 'A';
  EXPECT_FALSE(verify_password(pw, other_salt));
  EXPECT_FALSE(verify_password(pw, hash->substr(0, hash->size() - 4)));
  EXPECT_FALSE(verify_password(pw, ""));
  EXPECT_FALSE(verify_password(pw, "not a hash"));
  EXPECT_FALSE(verify_password(pw, std::string(500, 'x')));
  EXPECT_FALSE(verify_password(pw, *hash + std::string(1, '\0') + "junk"));
}

TEST(Crypto, PasswordHashRejectsBadParams) {
  auto r = hash_password(secret_string("x"), 0, kMem);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, errc::invalid_argument);
  r = hash_password(secret_string("x"), kOps, 1024);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, errc::invalid_argument);
}

TEST(Crypto, NeedsRehash) {
  auto hash = hash_password(secret_string("some passphrase"), kOps, kMem);
  ASSERT_TRUE(hash.has_value());
  EXPECT_FALSE(password_needs_rehash(*hash, kOps, kMem));
  EXPECT_TRUE(password_needs_rehash(*hash, kOps + 1, kMem));
  EXPECT_TRUE(password_needs_rehash(*hash, kOps, kMem * 2));
  EXPECT_TRUE(password_needs_rehash("garbage", kOps, kMem));
}

TEST(Crypto, DummyHashIsValidAndCached) {
  const std::string a = dummy_password_hash(kOps, kMem);
  EXPECT_EQ(a.rfind("$argon2id$", 0), 0u);
  EXPECT_FALSE(password_needs_rehash(a, kOps, kMem));
  EXPECT_EQ(dummy_password_hash(kOps, kMem), a);
  EXPECT_FALSE(verify_password(secret_string("password"), a));
  const std::string b = dummy_password_hash(kOps + 1, kMem);
  EXPECT_NE(a, b);
  EXPECT_FALSE(password_needs_rehash(b, kOps + 1, kMem));
  EXPECT_THROW(dummy_password_hash(0, kMem), std::invalid_argument);
}

TEST(Crypto, Ed25519SignVerify) {
  const signing_keypair kp = generate_signing_keypair();
  EXPECT_EQ(kp.public_key.size(), 32u);
  EXPECT_EQ(kp.secret_key.reveal().size(), 64u);
  const std::string msg = "room:42 user:7 hello";
  const std::string sig = sign_detached(kp.secret_key, msg);
  EXPECT_EQ(sig.size(), 64u);
  EXPECT_TRUE(verify_detached(kp.public_key, msg, sig));
  EXPECT_TRUE(verify_detached(kp.public_key, "", sign_detached(kp.secret_key, "")));

  std::string bad_msg = msg;
  bad_msg[0] ^= 1;
  EXPECT_FALSE(verify_detached(kp.public_key, bad_msg, sig));
  std::string bad_sig = sig;
  bad_sig[10] ^= 1;
  EXPECT_FALSE(verify_detached(kp.public_key, msg, bad_sig));
  EXPECT_FALSE(verify_detached(kp.public_key, msg, sig.substr(0, 63)));
  EXPECT_FALSE(verify_detached(kp.public_key.substr(1), msg, sig));

  const signing_keypair other = generate_signing_keypair();
  EXPECT_NE(other.public_key, kp.public_key);
  EXPECT_FALSE(verify_detached(other.public_key, msg, sig));
  EXPECT_THROW(sign_detached(secret_string("short"), msg), std::invalid_argument);
}

}  // namespace
}  // namespace redoubt::crypto
