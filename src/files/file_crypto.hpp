// Encryption at rest and the signed write record of attachments.
//
// Each file has its own random data key. The bytes are sealed with libsodium's
// XChaCha20-Poly1305 secretstream in 64 KiB chunks (a flipped, dropped, reordered or
// truncated chunk fails to open); the data key is sealed ("wrapped") by a master key from the
// key ring, with the file id as associated data, and stored in the database row. Rotating the
// master key re-wraps data keys only; file bytes never change.
//
// File format: "RDBTF001" | secretstream header (24 B) | chunks of (plaintext + 17 B), the last
// one tagged FINAL; a file of n bytes has n / chunk_bytes + 1 chunks.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/errc.hpp"
#include "base/secret.hpp"

namespace redoubt::files {

inline constexpr std::size_t chunk_bytes = 64 * 1024;
inline constexpr std::string_view file_magic = "RDBTF001";
inline constexpr std::size_t file_header_bytes = 8 + 24;
inline constexpr std::size_t chunk_overhead_bytes = 17;
inline constexpr std::size_t sealed_chunk_bytes = chunk_bytes + chunk_overhead_bytes;

// Size on disk of a file of `plain_size` bytes.
std::uint64_t sealed_size(std::uint64_t plain_size) noexcept;

struct master_key {
  std::string id;      // [A-Za-z0-9_-]{1,32}
  secret_string key;   // 32 raw bytes
};

// Master keys from a key file: one "<id> <64 hex chars>" per line, '#' comments; the last key
// is the current one (new files), the others still open older files until re-wrapped.
class key_ring {
 public:
  static result<key_ring> parse(std::string_view text);
  // Reads and parses a key file; refuses one that group or others can read.
  static result<key_ring> load(const std::string& path);

  const master_key& current() const { return keys_.back(); }
  const master_key* find(std::string_view id) const;
  const std::vector<master_key>& keys() const { return keys_; }

 private:
  std::vector<master_key> keys_;
};

// A new key-file line with a fresh random key.
std::string new_key_line(std::string_view id);

secret_string new_data_key();
// nonce | sealed key; bound to the file id and the master key id.
std::string wrap_data_key(const master_key& master, const secret_string& data_key, std::int64_t file_id);
result<secret_string> unwrap_data_key(const key_ring& ring, std::string_view key_id, std::string_view wrapped,
                                      std::int64_t file_id);

// A small blob (a thumbnail) sealed with a file's data key, bound to the file id and purpose.
std::string seal_blob(const secret_string& data_key, std::string_view purpose, std::int64_t file_id,
                      std::string_view plain);
result<std::string> open_blob(const secret_string& data_key, std::string_view purpose, std::int64_t file_id,
                              std::string_view sealed);

class sealer {
 public:
  explicit sealer(const secret_string& data_key);
  ~sealer();
  sealer(const sealer&) = delete;
  sealer& operator=(const sealer&) = delete;
  // The file header (magic + stream header); call once, first.
  const std::string& header() const { return header_; }
  // Appends the sealed form of one chunk (at most chunk_bytes) to `out`.
  void seal(std::string_view chunk, bool final, std::string& out);

 private:
  struct state;
  std::unique_ptr<state> state_;
  std::string header_;
};

class opener {
 public:
  opener();
  ~opener();
  opener(const opener&) = delete;
  opener& operator=(const opener&) = delete;
  // `header` is the first file_header_bytes of the file.
  result<void> init(const secret_string& data_key, std::string_view header);
  // Opens one sealed chunk into `out` (replacing its content); `final` tells whether it was
  // the last one. Any tampering is errc::internal with message "integrity".
  result<void> open(std::string_view sealed, std::string& out, bool& final);

 private:
  struct state;
  std::unique_ptr<state> state_;
};

// What the server signs when it stores a file (and checks on every read).
struct write_record {
  std::int64_t file_id = 0;
  std::string storage_name;
  std::string sha256_hex;  // of the plaintext
  std::int64_t size = 0;
  std::int64_t uploader = 0;
  std::int64_t room = 0;
  std::int64_t created_us = 0;
};
std::string record_bytes(const write_record& r);
std::string sign_record(const secret_string& signing_key, const write_record& r);
bool verify_record(std::string_view public_key, const write_record& r, std::string_view signature);

// Incremental SHA-256.
class sha256_stream {
 public:
  sha256_stream();
  ~sha256_stream();
  void update(std::string_view data);
  std::string hex_final();

 private:
  struct state;
  std::unique_ptr<state> state_;
};

}  // namespace redoubt::files
