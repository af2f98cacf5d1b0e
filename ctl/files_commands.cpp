#include "files_commands.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <iostream>
#include <map>
#include <set>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "crypto/crypto.hpp"
#include "db/pg.hpp"
#include "files/file_crypto.hpp"
#include "files/file_store.hpp"
#include "files/plain_reader.hpp"
#include "ctl_support.hpp"

namespace redoubt::ctl {
namespace asio = boost::asio;

namespace {

bool append_synced(const std::string& path, const std::string& text, int flags) {
  int fd = ::open(path.c_str(), flags | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

std::string unhex(std::string_view s) {
  auto raw = crypto::from_hex(s);
  return raw ? std::move(*raw) : std::string();
}

// Reads a stored file through and checks it against its row; "" when it is sound.
std::string check_file(const files::file_store& store, const files::key_ring& ring, const files::write_record& rec,
                       std::string_view key_id, std::string_view wrapped) {
  auto key = files::unwrap_data_key(ring, key_id, wrapped, rec.file_id);
  if (!key) return key.error().code == errc::failed_precondition ? "unknown master key" : "data key does not open";
  files::sha256_stream hash;
  auto hash_it = [&hash](std::string_view plain) -> result<void> {
    hash.update(plain);
    return {};
  };
  auto size = files::read_plaintext(store, rec.storage_name, *key, hash_it);
  if (!size) return size.error().code == errc::not_found ? "missing" : size.error().message;
  if (*size != static_cast<std::uint64_t>(rec.size)) return "size differs";
  if (hash.hex_final() != rec.sha256_hex) return "SHA-256 differs";
  return "";
}

}  // namespace

int files_keygen(const std::string& path) {
  if (!append_synced(path, "# Redoubt attachment master keys: '<id> <hex>', the last one is current.\n" +
                               files::new_key_line("k1"),
                     O_CREAT | O_EXCL)) {
    std::cerr << "redoubtctl: cannot create '" << path << "' (exists?)\n";
    return 1;
  }
  std::cout << "master key file written to " << path << "\n";
  return 0;
}

int files_rotate_key(const settings& cfg) {
  const auto& path = cfg.files.master_key_file;
  if (path.empty()) {
    std::cerr << "redoubtctl: files.master_key_file is not configured\n";
    return 2;
  }
  auto ring = files::key_ring::parse(cfg.files.master_keys.reveal());
  if (!ring) return report(ring.error(), 2);
  // The next free id k<N>.
  int n = static_cast<int>(ring->keys().size()) + 1;
  while (ring->find("k" + std::to_string(n))) ++n;
  const auto id = "k" + std::to_string(n);
  auto line = files::new_key_line(id);
  // The key is on disk (fsynced) before any row refers to it.
  if (!append_synced(path, line, O_APPEND)) {
    std::cerr << "redoubtctl: cannot append to '" << path << "'\n";
    return 1;
  }
  auto text = cfg.files.master_keys.reveal() + "\n" + line;
  auto updated = files::key_ring::parse(text);
  if (!updated) return report(updated.error(), 1);
  const auto& current = updated->current();
  asio::io_context io;
  auto conn = connect_or_report(io, cfg);
  if (!conn) return 1;
  auto rows = run_blocking(io, conn->query("SELECT id, key_id, encode(wrapped_key, 'hex') FROM attachments WHERE key_id <> $1 "
                                  "ORDER BY id",
                                  db::params{current.id}));
  if (!rows) return report(rows.error(), 1);
  int rewrapped = 0, failed = 0;
  for (int i = 0; i < rows->size(); ++i) {
    const auto file_id = rows->int64(i, 0);
    auto key = files::unwrap_data_key(*updated, rows->text(i, 1), unhex(rows->text(i, 2)), file_id);
    if (!key) {
      std::cerr << "attachment " << file_id << ": data key does not open (" << key.error().message << ")\n";
      ++failed;
      continue;
    }
    auto wrapped = files::wrap_data_key(current, *key, file_id);
    auto ok = run_blocking(io, conn->query("UPDATE attachments SET key_id = $2, wrapped_key = decode($3, 'hex') "
                                  "WHERE id = $1 AND key_id = $4",
                                  db::params{std::to_string(file_id), current.id, crypto::to_hex(wrapped),
                                             std::string(rows->text(i, 1))}));
    if (!ok) {
      std::cerr << "attachment " << file_id << ": " << ok.error().message << "\n";
      ++failed;
      continue;
    }
    ++rewrapped;
  }
  std::cout << "new master key " << id << "; re-wrapped " << rewrapped << " data keys";
  if (failed) std::cout << ", " << failed << " failed";
  std::cout << "\n";
  return failed ? 4 : 0;
}

int files_verify(const settings& cfg) {
  if (cfg.files.dir.empty()) {
    std::cerr << "redoubtctl: files.dir is not configured\n";
    return 2;
  }
  auto ring = files::key_ring::parse(cfg.files.master_keys.reveal());
  auto store = files::file_store::open(cfg.files.dir);
  if (!ring || !store) {
    std::cerr << "redoubtctl: " << (ring ? store.error().message : ring.error().message) << "\n";
    return 2;
  }
  asio::io_context io;
  auto conn = connect_or_report(io, cfg);
  if (!conn) return 1;
  auto rows = run_blocking(io, conn->query("SELECT id, storage_name, sha256, size, uploader_id, room_id, created_us, key_id, "
                                  "encode(wrapped_key, 'hex'), encode(signature, 'hex') FROM attachments ORDER BY id"));
  if (!rows) return report(rows.error(), 1);
  int tampered = 0, missing = 0, orphaned = 0;
  std::set<std::string> known;
  for (int i = 0; i < rows->size(); ++i) {
    files::write_record rec{rows->int64(i, 0), std::string(rows->text(i, 1)), std::string(rows->text(i, 2)),
                            rows->int64(i, 3),  rows->int64(i, 4),            rows->int64(i, 5),
                            rows->int64(i, 6)};
    known.insert(rec.storage_name);
    std::string why;
    if (!files::verify_record(cfg.jobs.signing_public_key, rec, unhex(rows->text(i, 9))))
      why = "write record signature does not verify";
    else
      why = check_file(*store, *ring, rec, rows->text(i, 7), unhex(rows->text(i, 8)));
    if (why == "missing") {
      ++missing;
      std::cout << "MISSING attachment " << rec.file_id << " (" << rec.storage_name << ")\n";
    } else if (!why.empty()) {
      ++tampered;
      std::cout << "TAMPERED attachment " << rec.file_id << " (" << rec.storage_name << "): " << why << "\n";
    }
  }
  for (const auto& obj : store->list_objects()) {
    if (known.contains(obj.storage_name)) continue;
    ++orphaned;
    std::cout << "ORPHANED file " << obj.storage_name << " (" << obj.size << " bytes, " << obj.age_seconds
              << " s old, no row)\n";
  }
  std::cout << rows->size() << " attachments checked: " << tampered << " tampered, " << missing << " missing, "
            << orphaned << " orphaned\n";
  return tampered + missing + orphaned == 0 ? 0 : 4;
}

}  // namespace redoubt::ctl
