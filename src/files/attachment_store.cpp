#include "files/attachment_store.hpp"

#include <sys/stat.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/log.hpp"
#include "files/content_type.hpp"

namespace redoubt::files {
namespace asio = boost::asio;
using asio::awaitable;

namespace {
constexpr std::size_t chunks_per_read = 4;  // one pool hop per 256 KiB read
}  // namespace

// Pool-side halves of the upload and reader steps (free coroutines: g++ 12 mishandles
// capturing lambda coroutines).
struct upload_ops {
  static awaitable<result<void>> write(attachment_store::upload* u, std::string_view data) {
    u->size_ += data.size();
    u->hash_.update(data);
    if (u->head_.size() < sniff_bytes) u->head_.append(data.substr(0, sniff_bytes - u->head_.size()));
    start_output(u);
    if (!u->pending_.empty()) {
      auto take = std::min(chunk_bytes - u->pending_.size(), data.size());
      u->pending_.append(data.substr(0, take));
      data.remove_prefix(take);
      if (u->pending_.size() == chunk_bytes) {
        u->sealer_.seal(u->pending_, false, u->out_);
        u->pending_.clear();
      }
    }
    // A full chunk is never the final one: the final chunk is sealed by finish().
    while (data.size() >= chunk_bytes) {
      u->sealer_.seal(data.substr(0, chunk_bytes), false, u->out_);
      data.remove_prefix(chunk_bytes);
    }
    u->pending_.append(data);
    if (u->out_.empty()) co_return result<void>{};
    co_return u->owner_.store().write_all(u->file_, u->out_);
  }

  static void start_output(attachment_store::upload* u) {
    u->out_.clear();
    if (!u->header_written_) {
      u->out_ = u->sealer_.header();
      u->header_written_ = true;
    }
  }

  static awaitable<result<void>> finish(attachment_store::upload* u) {
    start_output(u);
    u->sealer_.seal(u->pending_, true, u->out_);
    u->pending_.clear();
    if (auto ok = u->owner_.store().write_all(u->file_, u->out_); !ok) co_return ok.error();
    u->storage_name_ = new_storage_name();
    co_return u->owner_.store().commit(u->file_, u->storage_name_);
  }

  static awaitable<result<void>> remove(const file_store* store, std::string name) {
    co_return store->remove_object(name);
  }

  static awaitable<result<temp_file>> create(const file_store* store) { co_return store->create_temp(); }

  static awaitable<std::optional<std::uint64_t>> free_bytes(const file_store* store) {
    co_return store->free_bytes();
  }
};

struct reader_ops {
  static awaitable<result<void>> open(attachment_store::reader* r, const file_store* store, std::string name,
                                      secret_string data_key) {
    auto fd = store->open_object(name);
    if (!fd) co_return fd.error();
    r->fd_ = *fd;
    struct stat st{};
    if (::fstat(r->fd_, &st) != 0) co_return make_error(errc::unavailable, "cannot stat stored file");
    r->file_bytes_ = static_cast<std::uint64_t>(st.st_size);
    // A file of the wrong length was truncated or extended: refuse before reading a byte.
    if (r->file_bytes_ != sealed_size(r->size_)) co_return make_error(errc::internal, "integrity");
    std::string header(file_header_bytes, '\0');
    auto n = read_at(r->fd_, header.data(), header.size(), 0);
    if (!n) co_return n.error();
    if (*n != header.size()) co_return make_error(errc::internal, "integrity");
    co_return r->opener_.init(data_key, header);
  }

  static awaitable<result<std::string>> next(attachment_store::reader* r) {
    std::string out;
    // At least chunks_per_read chunks, and on until something of the range came out.
    for (std::size_t k = 0; (k < chunks_per_read || out.empty()) && !r->done_; ++k) {
      const std::uint64_t offset = file_header_bytes + r->chunk_ * sealed_chunk_bytes;
      const auto len = static_cast<std::size_t>(std::min<std::uint64_t>(sealed_chunk_bytes, r->file_bytes_ - offset));
      r->sealed_.resize(len);
      auto n = read_at(r->fd_, r->sealed_.data(), len, offset);
      if (!n) co_return n.error();
      if (*n != len) co_return make_error(errc::internal, "integrity");
      bool final = false;
      if (auto ok = r->opener_.open(r->sealed_, r->plain_, final); !ok) co_return ok.error();
      const std::uint64_t plain_start = r->chunk_ * chunk_bytes;
      ++r->chunk_;
      if (r->whole_) r->hash_.update(r->plain_);
      const auto from = std::max(plain_start, r->first_);
      const auto to = std::min(plain_start + r->plain_.size(), r->end_);
      if (from < to) out.append(r->plain_, static_cast<std::size_t>(from - plain_start), static_cast<std::size_t>(to - from));
      if (final) {
        // The last chunk must end exactly at the recorded size, and the whole must hash right.
        if (plain_start + r->plain_.size() != r->size_) co_return make_error(errc::internal, "integrity");
        if (r->whole_ && r->hash_.hex_final() != r->expected_sha_) co_return make_error(errc::internal, "integrity");
        r->done_ = true;
      } else if (!r->whole_ && plain_start + chunk_bytes >= r->end_) {
        r->done_ = true;  // a range read stops once past its end
      }
    }
    co_return out;
  }
};

attachment_store::attachment_store(file_store store, key_ring ring, std::string key_file, secret_string signing_key,
                                   std::string signing_public_key, int io_threads)
    : store_(std::move(store)),
      ring_(std::move(ring)),
      key_file_(std::move(key_file)),
      signing_key_(std::move(signing_key)),
      signing_public_key_(std::move(signing_public_key)),
      pool_(static_cast<std::size_t>(std::max(1, io_threads))) {}

attachment_store::~attachment_store() { pool_.join(); }

attachment_store::upload::upload(attachment_store& owner, std::int64_t file_id, temp_file file, secret_string data_key)
    : owner_(owner), file_id_(file_id), file_(std::move(file)), data_key_(std::move(data_key)), sealer_(data_key_) {
  out_.reserve(chunk_bytes * 4 + 4 * chunk_overhead_bytes);
}

attachment_store::upload::~upload() = default;  // temp_file unlinks an unfinished upload

awaitable<result<std::unique_ptr<attachment_store::upload>>> attachment_store::begin_upload(std::int64_t file_id) {
  auto file = co_await asio::co_spawn(pool_, upload_ops::create(&store_), asio::use_awaitable);
  if (!file) co_return file.error();
  master_key current;
  {
    std::lock_guard lock(ring_mutex_);
    current = ring_.current();
  }
  auto data_key = new_data_key();
  std::unique_ptr<upload> u(new upload(*this, file_id, std::move(*file), data_key));
  u->key_id_ = current.id;
  co_return std::move(u);
}

awaitable<result<void>> attachment_store::upload::write(std::string_view data) {
  co_return co_await asio::co_spawn(owner_.pool_, upload_ops::write(this, data), asio::use_awaitable);
}

awaitable<result<stored_file>> attachment_store::upload::finish(std::int64_t uploader, std::int64_t room,
                                                                std::int64_t created_us) {
  auto ok = co_await asio::co_spawn(owner_.pool_, upload_ops::finish(this), asio::use_awaitable);
  if (!ok) co_return ok.error();
  stored_file out;
  out.storage_name = storage_name_;
  out.content_type = detect_content_type(head_);
  out.sha256_hex = hash_.hex_final();
  out.size = size_;
  master_key master;
  {
    std::lock_guard lock(owner_.ring_mutex_);
    const auto* k = owner_.ring_.find(key_id_);
    master = k ? *k : owner_.ring_.current();
  }
  out.key_id = master.id;
  out.wrapped_key = wrap_data_key(master, data_key_, file_id_);
  const write_record rec{file_id_, out.storage_name, out.sha256_hex, static_cast<std::int64_t>(size_), uploader, room,
                         created_us};
  out.signature = sign_record(owner_.signing_key_, rec);
  co_return out;
}

awaitable<void> attachment_store::upload::discard_stored() {
  if (storage_name_.empty() || !valid_storage_name(storage_name_)) co_return;
  auto ok = co_await asio::co_spawn(owner_.pool_, upload_ops::remove(&owner_.store_, storage_name_), asio::use_awaitable);
  if (!ok) log::warn("attachment_discard_failed", {{"detail", ok.error().message}});
}

result<secret_string> attachment_store::data_key_of(const file_row& row) {
  std::lock_guard lock(ring_mutex_);
  if (!ring_.find(row.key_id)) {
    // The key file may have gained a key (redoubtctl files rotate-key): read it again.
    auto fresh = key_ring::load(key_file_);
    if (fresh) ring_ = std::move(*fresh);
  }
  return unwrap_data_key(ring_, row.key_id, row.wrapped_key, row.record.file_id);
}

bool attachment_store::record_signature_valid(const file_row& row) const {
  return verify_record(signing_public_key_, row.record, row.signature);
}

attachment_store::reader::~reader() { close_fd(fd_); }

awaitable<result<std::unique_ptr<attachment_store::reader>>> attachment_store::open_range(const file_row& row,
                                                                                          std::uint64_t first,
                                                                                          std::uint64_t end) {
  if (!record_signature_valid(row)) co_return make_error(errc::internal, "integrity");
  auto key = data_key_of(row);
  if (!key) co_return key.error();
  std::unique_ptr<reader> r(new reader());
  r->pool_ = &pool_;
  r->size_ = static_cast<std::uint64_t>(row.record.size);
  r->first_ = first;
  r->end_ = end;
  r->whole_ = first == 0 && end == r->size_;
  r->expected_sha_ = row.record.sha256_hex;
  auto ok = co_await asio::co_spawn(pool_, reader_ops::open(r.get(), &store_, row.record.storage_name, *key),
                                    asio::use_awaitable);
  if (!ok) co_return ok.error();
  co_return std::move(r);
}

awaitable<result<std::string>> attachment_store::reader::next() {
  co_return co_await asio::co_spawn(*pool_, reader_ops::next(this), asio::use_awaitable);
}

result<std::string> attachment_store::open_thumbnail(const file_row& row) {
  if (row.sealed_thumbnail.empty()) return make_error(errc::not_found, "no thumbnail");
  if (!record_signature_valid(row)) return make_error(errc::internal, "integrity");
  auto key = data_key_of(row);
  if (!key) return key.error();
  return open_blob(*key, "thumbnail", row.record.file_id, row.sealed_thumbnail);
}

awaitable<std::optional<std::uint64_t>> attachment_store::free_bytes() {
  co_return co_await asio::co_spawn(pool_, upload_ops::free_bytes(&store_), asio::use_awaitable);
}

awaitable<result<void>> attachment_store::remove(std::string storage_name) {
  co_return co_await asio::co_spawn(pool_, upload_ops::remove(&store_, std::move(storage_name)), asio::use_awaitable);
}

}  // namespace redoubt::files
