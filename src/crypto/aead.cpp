#include "crypto/aead.hpp"

#include <sodium.h>

#include <stdexcept>

#include "crypto/crypto.hpp"

namespace redoubt::crypto {

namespace {
constexpr std::size_t nonce_bytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t tag_bytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;
static_assert(aead_key_bytes == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
static_assert(aead_overhead == nonce_bytes + tag_bytes);

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }
}  // namespace

std::string aead_seal(const secret_string& key, std::string_view plaintext, std::string_view associated) {
  init();
  if (key.reveal().size() != aead_key_bytes) throw std::invalid_argument("aead key must be 32 bytes");
  std::string out(nonce_bytes + plaintext.size() + tag_bytes, '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(out.data());
  randombytes_buf(nonce, nonce_bytes);
  unsigned long long len = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(nonce + nonce_bytes, &len, bytes(plaintext), plaintext.size(),
                                             bytes(associated), associated.size(), nullptr, nonce,
                                             bytes(key.reveal()));
  out.resize(nonce_bytes + len);
  return out;
}

std::optional<std::string> aead_open(const secret_string& key, std::string_view sealed, std::string_view associated) {
  init();
  if (key.reveal().size() != aead_key_bytes || sealed.size() < nonce_bytes + tag_bytes) return std::nullopt;
  std::string out(sealed.size() - nonce_bytes - tag_bytes, '\0');
  unsigned long long len = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(reinterpret_cast<unsigned char*>(out.data()), &len, nullptr,
                                                 bytes(sealed.substr(nonce_bytes)), sealed.size() - nonce_bytes,
                                                 bytes(associated), associated.size(), bytes(sealed),
                                                 bytes(key.reveal())) != 0)
    return std::nullopt;
  out.resize(len);
  return out;
}

}  // namespace redoubt::crypto
