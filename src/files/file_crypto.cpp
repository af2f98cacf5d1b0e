#include "files/file_crypto.hpp"

#include <sys/stat.h>

#include <fstream>
#include <iterator>

#include <new>

#include <openssl/evp.h>
#include <sodium.h>

#include "crypto/crypto.hpp"

namespace redoubt::files {
namespace {

constexpr std::string_view wrap_context = "redoubt-file-key-v1";
constexpr std::string_view record_context = "redoubt-file-record-v1\n";

bool valid_key_id(std::string_view id) {
  if (id.empty() || id.size() > 32) return false;
  for (char c : id)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  return true;
}

std::string wrap_ad(std::string_view key_id, std::int64_t file_id) {
  return std::string(wrap_context) + "|" + std::string(key_id) + "|" + std::to_string(file_id);
}

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

}  // namespace

std::uint64_t sealed_size(std::uint64_t plain_size) noexcept {
  return file_header_bytes + plain_size + chunk_overhead_bytes * (plain_size / chunk_bytes + 1);
}

result<key_ring> key_ring::parse(std::string_view text) {
  crypto::init();
  key_ring ring;
  std::size_t pos = 0;
  int line_no = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    auto line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    auto sp = line.find(' ');
    // Never echo the line: it holds key material.
    auto bad = make_error(errc::invalid_argument, "master key file line " + std::to_string(line_no) +
                                                      ": expected '<id> <64 hex characters>'");
    if (sp == std::string_view::npos) return bad;
    auto id = line.substr(0, sp);
    auto raw = crypto::from_hex(line.substr(sp + 1));
    if (!valid_key_id(id) || !raw || raw->size() != crypto_aead_xchacha20poly1305_ietf_KEYBYTES) return bad;
    if (ring.find(id)) return make_error(errc::invalid_argument, "master key id '" + std::string(id) + "' repeated");
    ring.keys_.push_back({std::string(id), secret_string(std::move(*raw))});
  }
  if (ring.keys_.empty()) return make_error(errc::invalid_argument, "master key file holds no key");
  return ring;
}

result<key_ring> key_ring::load(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) return make_error(errc::failed_precondition, "cannot read '" + path + "'");
  if ((st.st_mode & 077) != 0)
    return make_error(errc::failed_precondition, "'" + path + "' must not be readable by group or others (chmod 600)");
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(errc::failed_precondition, "cannot read '" + path + "'");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto ring = parse(text);
  sodium_memzero(text.data(), text.size());
  return ring;
}

const master_key* key_ring::find(std::string_view id) const {
  for (const auto& k : keys_)
    if (k.id == id) return &k;
  return nullptr;
}

std::string new_key_line(std::string_view id) {
  crypto::init();
  std::string key(crypto_aead_xchacha20poly1305_ietf_KEYBYTES, '\0');
  randombytes_buf(key.data(), key.size());
  auto line = std::string(id) + " " + crypto::to_hex(key) + "\n";
  sodium_memzero(key.data(), key.size());
  return line;
}

secret_string new_data_key() {
  crypto::init();
  std::string key(crypto_secretstream_xchacha20poly1305_KEYBYTES, '\0');
  crypto_secretstream_xchacha20poly1305_keygen(reinterpret_cast<unsigned char*>(key.data()));
  return secret_string(std::move(key));
}

std::string wrap_data_key(const master_key& master, const secret_string& data_key, std::int64_t file_id) {
  crypto::init();
  const auto ad = wrap_ad(master.id, file_id);
  std::string out(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + data_key.reveal().size() +
                      crypto_aead_xchacha20poly1305_ietf_ABYTES,
                  '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(out.data());
  randombytes_buf(nonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  unsigned long long len = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(nonce + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &len,
                                             bytes(data_key.reveal()), data_key.reveal().size(), bytes(ad),
                                             ad.size(), nullptr, nonce, bytes(master.key.reveal()));
  return out;
}

result<secret_string> unwrap_data_key(const key_ring& ring, std::string_view key_id, std::string_view wrapped,
                                      std::int64_t file_id) {
  crypto::init();
  const auto* master = ring.find(key_id);
  if (!master) return make_error(errc::failed_precondition, "unknown master key id");
  constexpr auto nonce_len = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  constexpr auto sealed_len = crypto_secretstream_xchacha20poly1305_KEYBYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES;
  if (wrapped.size() != nonce_len + sealed_len) return make_error(errc::internal, "integrity");
  const auto ad = wrap_ad(key_id, file_id);
  std::string key(crypto_secretstream_xchacha20poly1305_KEYBYTES, '\0');
  unsigned long long len = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(reinterpret_cast<unsigned char*>(key.data()), &len, nullptr,
                                                 bytes(wrapped.substr(nonce_len)), sealed_len, bytes(ad), ad.size(),
                                                 bytes(wrapped), bytes(master->key.reveal())) != 0)
    return make_error(errc::internal, "integrity");
  return secret_string(std::move(key));
}

std::string seal_blob(const secret_string& data_key, std::string_view purpose, std::int64_t file_id,
                      std::string_view plain) {
  crypto::init();
  const auto ad = std::string(purpose) + "|" + std::to_string(file_id);
  std::string out(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + plain.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES,
                  '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(out.data());
  randombytes_buf(nonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  unsigned long long len = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(nonce + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &len, bytes(plain),
                                             plain.size(), bytes(ad), ad.size(), nullptr, nonce,
                                             bytes(data_key.reveal()));
  return out;
}

result<std::string> open_blob(const secret_string& data_key, std::string_view purpose, std::int64_t file_id,
                              std::string_view sealed) {
  crypto::init();
  constexpr auto nonce_len = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  constexpr auto tag_len = crypto_aead_xchacha20poly1305_ietf_ABYTES;
  if (sealed.size() < nonce_len + tag_len || data_key.reveal().size() != crypto_aead_xchacha20poly1305_ietf_KEYBYTES)
    return make_error(errc::internal, "integrity");
  const auto ad = std::string(purpose) + "|" + std::to_string(file_id);
  std::string out(sealed.size() - nonce_len - tag_len, '\0');
  unsigned long long len = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(reinterpret_cast<unsigned char*>(out.data()), &len, nullptr,
                                                 bytes(sealed.substr(nonce_len)), sealed.size() - nonce_len,
                                                 bytes(ad), ad.size(), bytes(sealed), bytes(data_key.reveal())) != 0)
    return make_error(errc::internal, "integrity");
  return out;
}

struct sealer::state {
  crypto_secretstream_xchacha20poly1305_state st;
};

sealer::sealer(const secret_string& data_key) : state_(std::make_unique<state>()) {
  crypto::init();
  unsigned char header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
  crypto_secretstream_xchacha20poly1305_init_push(&state_->st, header, bytes(data_key.reveal()));
  header_ = std::string(file_magic);
  header_.append(reinterpret_cast<const char*>(header), sizeof header);
}

sealer::~sealer() { sodium_memzero(&state_->st, sizeof state_->st); }

void sealer::seal(std::string_view chunk, bool final, std::string& out) {
  auto at = out.size();
  out.resize(at + chunk.size() + chunk_overhead_bytes);
  unsigned long long len = 0;
  crypto_secretstream_xchacha20poly1305_push(
      &state_->st, reinterpret_cast<unsigned char*>(out.data() + at), &len, bytes(chunk), chunk.size(), nullptr, 0,
      final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
}

struct opener::state {
  crypto_secretstream_xchacha20poly1305_state st;
  bool ready = false;
  bool finished = false;
};

opener::opener() : state_(std::make_unique<state>()) { crypto::init(); }
opener::~opener() { sodium_memzero(&state_->st, sizeof state_->st); }

result<void> opener::init(const secret_string& data_key, std::string_view header) {
  if (header.size() != file_header_bytes || header.substr(0, file_magic.size()) != file_magic ||
      data_key.reveal().size() != crypto_secretstream_xchacha20poly1305_KEYBYTES)
    return make_error(errc::internal, "integrity");
  if (crypto_secretstream_xchacha20poly1305_init_pull(&state_->st, bytes(header.substr(file_magic.size())),
                                                      bytes(data_key.reveal())) != 0)
    return make_error(errc::internal, "integrity");
  state_->ready = true;
  state_->finished = false;
  return {};
}

result<void> opener::open(std::string_view sealed, std::string& out, bool& final) {
  if (!state_->ready || state_->finished || sealed.size() < chunk_overhead_bytes ||
      sealed.size() > sealed_chunk_bytes)
    return make_error(errc::internal, "integrity");
  out.resize(sealed.size() - chunk_overhead_bytes);
  unsigned long long len = 0;
  unsigned char tag = 0;
  if (crypto_secretstream_xchacha20poly1305_pull(&state_->st, reinterpret_cast<unsigned char*>(out.data()), &len,
                                                 &tag, bytes(sealed), sealed.size(), nullptr, 0) != 0)
    return make_error(errc::internal, "integrity");
  final = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
  // Only the last chunk may be short, and only a full-size chunk may be followed by more.
  if (!final && sealed.size() != sealed_chunk_bytes) return make_error(errc::internal, "integrity");
  state_->finished = final;
  return {};
}

std::string record_bytes(const write_record& r) {
  return std::string(record_context) + "id=" + std::to_string(r.file_id) + "\nstorage=" + r.storage_name +
         "\nsha256=" + r.sha256_hex + "\nsize=" + std::to_string(r.size) + "\nuploader=" +
         std::to_string(r.uploader) + "\nroom=" + std::to_string(r.room) + "\ncreated_us=" +
         std::to_string(r.created_us) + "\n";
}

std::string sign_record(const secret_string& signing_key, const write_record& r) {
  return crypto::sign_detached(signing_key, record_bytes(r));
}

bool verify_record(std::string_view public_key, const write_record& r, std::string_view signature) {
  return crypto::verify_detached(public_key, record_bytes(r), signature);
}

// OpenSSL's SHA-256 uses the CPU's SHA extensions (about 5x libsodium's portable code here).
struct sha256_stream::state {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~state() { EVP_MD_CTX_free(ctx); }
};

sha256_stream::sha256_stream() : state_(std::make_unique<state>()) {
  if (!state_->ctx || EVP_DigestInit_ex(state_->ctx, EVP_sha256(), nullptr) != 1) throw std::bad_alloc();
}
sha256_stream::~sha256_stream() = default;

void sha256_stream::update(std::string_view data) { EVP_DigestUpdate(state_->ctx, data.data(), data.size()); }

std::string sha256_stream::hex_final() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(state_->ctx, digest, &len);
  return crypto::to_hex(std::string_view(reinterpret_cast<const char*>(digest), len));
}

}  // namespace redoubt::files
