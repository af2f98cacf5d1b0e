// Async access to encrypted attachments: uploads are sealed and written, downloads read and
// opened, on a bounded I/O pool so that io_context threads never block on the disk.
//
// Upload: begin_upload -> write()* -> finish() (fsync, rename, fsync dir; the caller then
// commits the row). An upload object that is destroyed unfinished removes its temp file.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include "base/errc.hpp"
#include "base/secret.hpp"
#include "files/file_crypto.hpp"
#include "files/file_store.hpp"

namespace redoubt::files {

// What a finished upload produced; the caller stores it as the row.
struct stored_file {
  std::string storage_name;
  std::string content_type;
  std::string sha256_hex;
  std::uint64_t size = 0;
  std::string key_id;
  std::string wrapped_key;
  std::string signature;
};

// The stored facts of one attachment row that a read needs.
struct file_row {
  write_record record;
  std::string key_id;
  std::string wrapped_key;
  std::string signature;
  std::string sealed_thumbnail;
};

class attachment_store {
 public:
  attachment_store(file_store store, key_ring ring, std::string key_file, secret_string signing_key,
                   std::string signing_public_key, int io_threads);
  ~attachment_store();

  class upload {
   public:
    ~upload();
    // Appends bytes (any size); seals and writes whole chunks as they fill.
    boost::asio::awaitable<result<void>> write(std::string_view data);
    std::uint64_t bytes_received() const { return size_; }
    // Seals the rest, makes the file durable under a new storage name and signs the record.
    boost::asio::awaitable<result<stored_file>> finish(std::int64_t uploader, std::int64_t room,
                                                       std::int64_t created_us);
    // Removes the stored file of a finished upload whose row could not be committed.
    boost::asio::awaitable<void> discard_stored();

   private:
    friend class attachment_store;
    friend struct upload_ops;
    upload(attachment_store& owner, std::int64_t file_id, temp_file file, secret_string data_key);

    attachment_store& owner_;
    std::int64_t file_id_;
    temp_file file_;
    secret_string data_key_;
    sealer sealer_;
    sha256_stream hash_;
    std::string pending_;  // plaintext not yet sealed (less than one chunk)
    std::string head_;     // the first bytes, for content type detection
    std::string out_;      // sealed bytes waiting to be written
    std::uint64_t size_ = 0;
    bool header_written_ = false;
    std::string key_id_;  // the master key current when the upload began
    std::string storage_name_;
  };

  boost::asio::awaitable<result<std::unique_ptr<upload>>> begin_upload(std::int64_t file_id);

  // Checks the row's signature, opens the file and yields the plaintext bytes [first, end)
  // piece by piece. When the whole file is read the SHA-256 is compared
  // too. Errors: not_found (file missing), internal "integrity" (any tampering).
  class reader {
   public:
    ~reader();
    // The next piece of the requested range; empty when done.
    boost::asio::awaitable<result<std::string>> next();

   private:
    friend class attachment_store;
    friend struct reader_ops;
    reader() = default;
    int fd_ = -1;
    opener opener_;
    sha256_stream hash_;
    std::string expected_sha_;
    std::uint64_t size_ = 0, first_ = 0, end_ = 0, file_bytes_ = 0;
    std::uint64_t chunk_ = 0;       // next chunk to open
    bool whole_ = false, done_ = false;
    std::string sealed_, plain_;
    boost::asio::thread_pool* pool_ = nullptr;
  };
  boost::asio::awaitable<result<std::unique_ptr<reader>>> open_range(const file_row& row, std::uint64_t first,
                                                                     std::uint64_t end);

  // The row's thumbnail (PNG), opened with the file's data key.
  result<std::string> open_thumbnail(const file_row& row);

  bool record_signature_valid(const file_row& row) const;
  boost::asio::awaitable<std::optional<std::uint64_t>> free_bytes();
  boost::asio::awaitable<result<void>> remove(std::string storage_name);

  const file_store& store() const { return store_; }

 private:
  result<secret_string> data_key_of(const file_row& row);

  file_store store_;
  std::mutex ring_mutex_;
  key_ring ring_;
  std::string key_file_;
  secret_string signing_key_;
  std::string signing_public_key_;
  boost::asio::thread_pool pool_;
};

}  // namespace redoubt::files
