// The attachment directory on the file system. Blocking POSIX calls: run them on the files
// I/O pool, never on an io_context thread.
//
// Layout: <dir>/ (0700) holding tmp/ for uploads in progress and objects/<xx>/<32 hex> for
// stored files (0600). Names are random and made by the server; nothing a client sends ever
// becomes part of a path. A file reaches objects/ only by fsync + rename + fsync of the
// directory, so a stored file is complete or absent.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/errc.hpp"

namespace redoubt::files {

bool valid_storage_name(std::string_view name) noexcept;  // exactly 32 lowercase hex digits
std::string new_storage_name();

// An open, exclusively created file under tmp/; unlinked on destruction unless committed.
class temp_file {
 public:
  temp_file() = default;
  temp_file(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  temp_file(temp_file&& o) noexcept;
  temp_file& operator=(temp_file&& o) noexcept;
  ~temp_file();

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  void release() { path_.clear(); }  // committed: keep the file

 private:
  int fd_ = -1;
  std::string path_;
};

struct stored_object {
  std::string storage_name;
  std::int64_t age_seconds = 0;  // since last modification
  std::uint64_t size = 0;
};

class file_store {
 public:
  // Creates the layout if missing and enforces 0700 on the directories.
  static result<file_store> open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  std::string object_path(std::string_view storage_name) const;

  result<temp_file> create_temp() const;
  result<void> write_all(const temp_file& f, std::string_view data) const;
  // fsync the file, rename it to objects/, fsync the directory.
  result<void> commit(temp_file& f, std::string_view storage_name) const;

  // O_RDONLY|O_NOFOLLOW of a stored object; not_found if absent.
  result<int> open_object(std::string_view storage_name) const;
  // Unlinks a stored object (missing is fine) and fsyncs its directory.
  result<void> remove_object(std::string_view storage_name) const;

  std::vector<stored_object> list_objects() const;
  // Removes uploads in progress older than `min_age_seconds` (left by a crash); returns how many.
  std::size_t sweep_temp(std::int64_t min_age_seconds) const;
  // Bytes available to unprivileged users on the file system of the directory.
  std::optional<std::uint64_t> free_bytes() const;

 private:
  std::string dir_;
};

// pread that retries on EINTR and short reads; returns bytes read (less at end of file).
result<std::size_t> read_at(int fd, char* buf, std::size_t len, std::uint64_t offset);
void close_fd(int fd);

}  // namespace redoubt::files
