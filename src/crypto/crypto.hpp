// Thin wrappers over libsodium. libsodium headers stay in crypto.cpp so nothing else
// depends on them; every function here is thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/errc.hpp"
#include "base/secret.hpp"

namespace redoubt::crypto {

// Initialises libsodium; aborts the process if it cannot (no safe RNG). Idempotent.
// Every other function also calls it lazily, so calling it early only moves the cost.
void init();

// 32 random bytes (256 bits) as unpadded base64url: 43 characters of [A-Za-z0-9_-].
std::string random_token();
// `bytes` random bytes as lowercase hex (2 * bytes characters).
std::string random_hex(std::size_t bytes);
// What the database stores instead of a bearer token: SHA-256 of it, lowercase hex.
std::string token_hash(std::string_view token);
// Compares without early exit. Lengths are not secret: differing lengths return false at once.
bool constant_time_equal(std::string_view a, std::string_view b);

// Argon2id in the PHC string format ($argon2id$v=19$m=...,t=...,p=1$...).
// CPU/memory-heavy by design: run on the bounded hashing pool, never on an I/O thread.
// Out of memory -> errc::resource_exhausted; parameters below libsodium minimums
// (opslimit 1, memlimit 8 KiB) -> errc::invalid_argument.
result<std::string> hash_password(const secret_string& password, std::uint64_t opslimit,
                                  std::uint64_t memlimit_bytes);
// False for a wrong password and for a malformed or tampered hash.
bool verify_password(const secret_string& password, std::string_view encoded_hash);
// True when the hash is not Argon2id with exactly these parameters (or is malformed).
bool password_needs_rehash(std::string_view encoded_hash, std::uint64_t opslimit,
                           std::uint64_t memlimit_bytes);
// A valid hash of a random password, computed once per parameter set and cached, so that
// verifying a login for an unknown user costs as much as for a known one.
// Throws std::invalid_argument for bad parameters and std::bad_alloc when hashing runs out
// of memory (nothing is cached then).
std::string dummy_password_hash(std::uint64_t opslimit, std::uint64_t memlimit_bytes);

// Ed25519, raw bytes: 32-byte public key, 64-byte secret key, 64-byte signatures.
struct signing_keypair {
  std::string public_key;
  secret_string secret_key;
};
signing_keypair generate_signing_keypair();
// The public half of a secret key; invalid_argument if sk is not 64 bytes.
result<std::string> signing_public_key(const secret_string& sk);
// Throws std::invalid_argument if sk is not 64 bytes (a programming error, not input).
std::string sign_detached(const secret_string& sk, std::string_view msg);
// False for any size mismatch or bad signature.
bool verify_detached(std::string_view pk, std::string_view msg, std::string_view sig);
// Ed25519 key id: the first 16 hex characters of SHA-256(public key).
std::string signing_key_id(std::string_view public_key);

// Lowercase hex digests. HMAC accepts keys of any length.
std::string sha256_hex(std::string_view data);
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

// Lowercase hex encoding; decoding accepts either case and rejects odd length or non-hex.
std::string to_hex(std::string_view bytes);
result<std::string> from_hex(std::string_view hex);

}  // namespace redoubt::crypto
