// Authenticated encryption with a 256-bit key (XChaCha20-Poly1305, random 192-bit nonces, so
// one key may seal any number of messages). libsodium stays in aead.cpp. Thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/secret.hpp"

namespace redoubt::crypto {

inline constexpr std::size_t aead_key_bytes = 32;
// What sealing adds to the plaintext: the nonce and the tag.
inline constexpr std::size_t aead_overhead = 24 + 16;

// nonce || ciphertext || tag. `associated` is authenticated but not encrypted (it is not in
// the output: the opener must supply the same). Throws std::invalid_argument for a key that is
// not aead_key_bytes long (a programming error: keys are checked when loaded).
std::string aead_seal(const secret_string& key, std::string_view plaintext, std::string_view associated);
// The plaintext, or nullopt when `sealed` was not made by aead_seal with this key and
// associated data (forged, altered, truncated).
std::optional<std::string> aead_open(const secret_string& key, std::string_view sealed, std::string_view associated);

}  // namespace redoubt::crypto
