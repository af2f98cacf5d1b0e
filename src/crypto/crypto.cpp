#include "crypto/crypto.hpp"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <stdexcept>
#include <utility>

#include <sodium.h>

namespace redoubt::crypto {
namespace {

// Function-local static: thread-safe, and cheap after the first call.
void ensure_init() {
  static const bool done = (init(), true);
  (void)done;
}

// string_view::data() may be null when empty; libsodium gets a valid pointer either way.
const unsigned char* bytes(std::string_view s) {
  static const unsigned char empty = 0;
  return s.empty() ? &empty : reinterpret_cast<const unsigned char*>(s.data());
}

const unsigned char* bytes(const std::string& s) {
  return bytes(std::string_view(s));
}

std::string hex_of(const unsigned char* data, std::size_t len) {
  std::string out(len * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), data, len);
  out.resize(len * 2);
  return out;
}

bool valid_pwhash_params(std::uint64_t opslimit, std::uint64_t memlimit_bytes) {
  return opslimit >= crypto_pwhash_argon2id_opslimit_min() &&
         opslimit <= crypto_pwhash_argon2id_opslimit_max() &&
         memlimit_bytes >= crypto_pwhash_argon2id_memlimit_min() &&
         memlimit_bytes <= crypto_pwhash_argon2id_memlimit_max();
}

}  // namespace

void init() {
  if (sodium_init() < 0) {
    // Without a working RNG no token or key can be trusted: refuse to run at all.
    std::fputs("redoubt: fatal: libsodium initialisation failed\n", stderr);
    std::abort();
  }
}

std::string random_token() {
  ensure_init();
  unsigned char raw[32];
  randombytes_buf(raw, sizeof raw);
  constexpr int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  char encoded[sodium_base64_ENCODED_LEN(sizeof raw, variant)];
  sodium_bin2base64(encoded, sizeof encoded, raw, sizeof raw, variant);
  sodium_memzero(raw, sizeof raw);
  std::string out(encoded);
  sodium_memzero(encoded, sizeof encoded);
  return out;
}

std::string random_hex(std::size_t n) {
  ensure_init();
  std::string raw(n, '\0');
  if (n > 0) randombytes_buf(raw.data(), n);
  std::string out = hex_of(bytes(raw), n);
  sodium_memzero(raw.data(), raw.size());
  return out;
}

std::string token_hash(std::string_view token) {
  return sha256_hex(token);
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return sodium_memcmp(bytes(a), bytes(b), a.size()) == 0;
}

result<std::string> hash_password(const secret_string& password, std::uint64_t opslimit,
                                  std::uint64_t memlimit_bytes) {
  ensure_init();
  if (!valid_pwhash_params(opslimit, memlimit_bytes)) {
    return make_error(errc::invalid_argument, "argon2id parameters out of range");
  }
  const std::string& pw = password.reveal();
  if (pw.size() > crypto_pwhash_argon2id_passwd_max()) {
    return make_error(errc::invalid_argument, "password too long to hash");
  }
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, pw.data(), pw.size(), opslimit,
                            static_cast<std::size_t>(memlimit_bytes),
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    // Parameters were checked above, so the only remaining failure is allocation.
    return make_error(errc::resource_exhausted, "out of memory while hashing password");
  }
  return std::string(out);
}

bool verify_password(const secret_string& password, std::string_view encoded_hash) {
  ensure_init();
  // libsodium reads a NUL-terminated string of bounded size: reject anything else up front.
  if (encoded_hash.empty() || encoded_hash.size() >= crypto_pwhash_STRBYTES ||
      encoded_hash.find('\0') != std::string_view::npos) {
    return false;
  }
  const std::string encoded(encoded_hash);
  const std::string& pw = password.reveal();
  return crypto_pwhash_argon2id_str_verify(encoded.c_str(), pw.data(), pw.size()) == 0;
}

bool password_needs_rehash(std::string_view encoded_hash, std::uint64_t opslimit,
                           std::uint64_t memlimit_bytes) {
  ensure_init();
  if (encoded_hash.size() >= crypto_pwhash_STRBYTES ||
      encoded_hash.find('\0') != std::string_view::npos ||
      !valid_pwhash_params(opslimit, memlimit_bytes)) {
    return true;
  }
  const std::string encoded(encoded_hash);
  // 1 = different parameters, -1 = not an Argon2id hash at all: both mean rehash.
  return crypto_pwhash_argon2id_str_needs_rehash(encoded.c_str(), opslimit,
                                                 static_cast<std::size_t>(memlimit_bytes)) != 0;
}

std::string dummy_password_hash(std::uint64_t opslimit, std::uint64_t memlimit_bytes) {
  static std::mutex mu;
  static std::map<std::pair<std::uint64_t, std::uint64_t>, std::string> cache;
  std::lock_guard lock(mu);
  const auto key = std::make_pair(opslimit, memlimit_bytes);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  // Held across the hash: it runs once per parameter set, and no two threads duplicate it.
  auto hashed = hash_password(secret_string(random_token()), opslimit, memlimit_bytes);
  if (!hashed) {
    if (hashed.error().code == errc::invalid_argument) {
      throw std::invalid_argument(hashed.error().message);
    }
    throw std::bad_alloc();
  }
  return cache.emplace(key, std::move(*hashed)).first->second;
}

signing_keypair generate_signing_keypair() {
  ensure_init();
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  unsigned char sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_keypair(pk, sk);
  signing_keypair kp{std::string(reinterpret_cast<const char*>(pk), sizeof pk),
                     secret_string(std::string(reinterpret_cast<const char*>(sk), sizeof sk))};
  sodium_memzero(sk, sizeof sk);
  return kp;
}

result<std::string> signing_public_key(const secret_string& sk) {
  ensure_init();
  if (sk.reveal().size() != crypto_sign_SECRETKEYBYTES)
    return make_error(errc::invalid_argument, "ed25519 secret key must be 64 bytes");
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  crypto_sign_ed25519_sk_to_pk(pk, bytes(sk.reveal()));
  return std::string(reinterpret_cast<const char*>(pk), sizeof pk);
}

std::string sign_detached(const secret_string& sk, std::string_view msg) {
  ensure_init();
  if (sk.reveal().size() != crypto_sign_SECRETKEYBYTES) {
    throw std::invalid_argument("ed25519 secret key must be 64 bytes");
  }
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, bytes(msg), msg.size(), bytes(sk.reveal()));
  return std::string(reinterpret_cast<const char*>(sig), sizeof sig);
}

bool verify_detached(std::string_view pk, std::string_view msg, std::string_view sig) {
  ensure_init();
  if (pk.size() != crypto_sign_PUBLICKEYBYTES || sig.size() != crypto_sign_BYTES) return false;
  return crypto_sign_verify_detached(bytes(sig), bytes(msg), msg.size(), bytes(pk)) == 0;
}

std::string signing_key_id(std::string_view public_key) { return sha256_hex(public_key).substr(0, 16); }

std::string sha256_hex(std::string_view data) {
  ensure_init();
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, bytes(data), data.size());
  return hex_of(digest, sizeof digest);
}

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
  ensure_init();
  // The init/update/final API takes keys of any length (RFC 2104), unlike crypto_auth_hmacsha256.
  crypto_auth_hmacsha256_state state;
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_init(&state, bytes(key), key.size());
  crypto_auth_hmacsha256_update(&state, bytes(data), data.size());
  crypto_auth_hmacsha256_final(&state, mac);
  sodium_memzero(&state, sizeof state);
  return hex_of(mac, sizeof mac);
}

std::string to_hex(std::string_view data) {
  return hex_of(bytes(data), data.size());
}

result<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return make_error(errc::invalid_argument, "hex string has odd length");
  std::string out(hex.size() / 2, '\0');
  std::size_t len = 0;
  // hex_end == nullptr makes libsodium fail unless the whole input was consumed.
  if (!hex.empty() && sodium_hex2bin(reinterpret_cast<unsigned char*>(out.data()), out.size(),
                                     hex.data(), hex.size(), nullptr, &len, nullptr) != 0) {
    return make_error(errc::invalid_argument, "invalid hex string");
  }
  out.resize(len);
  return out;
}

}  // namespace redoubt::crypto
