#include "files/file_store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "crypto/crypto.hpp"

namespace redoubt::files {
namespace {

error sys_error(std::string_view what) {
  return make_error(errc::unavailable, std::string(what) + ": " + std::strerror(errno));
}

result<void> ensure_private_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) return sys_error("mkdir " + path);
  struct stat st{};
  if (::lstat(path.c_str(), &st) != 0) return sys_error("stat " + path);
  if (!S_ISDIR(st.st_mode)) return make_error(errc::failed_precondition, path + " is not a directory");
  if ((st.st_mode & 0777) != 0700 && ::chmod(path.c_str(), 0700) != 0) return sys_error("chmod " + path);
  return {};
}

result<void> fsync_dir(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return sys_error("open " + path);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return sys_error("fsync " + path);
  return {};
}

std::string subdir_of(std::string_view name) { return std::string(name.substr(0, 2)); }

}  // namespace

bool valid_storage_name(std::string_view name) noexcept {
  if (name.size() != 32) return false;
  for (char c : name)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string new_storage_name() { return crypto::random_hex(16); }

temp_file::temp_file(temp_file&& o) noexcept : fd_(o.fd_), path_(std::move(o.path_)) {
  o.fd_ = -1;
  o.path_.clear();
}

temp_file& temp_file::operator=(temp_file&& o) noexcept {
  if (this != &o) {
    this->~temp_file();
    fd_ = o.fd_;
    path_ = std::move(o.path_);
    o.fd_ = -1;
    o.path_.clear();
  }
  return *this;
}

temp_file::~temp_file() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!path_.empty()) ::unlink(path_.c_str());
  path_.clear();
}

result<file_store> file_store::open(const std::string& dir) {
  if (dir.empty()) return make_error(errc::invalid_argument, "files.dir is empty");
  for (const auto& d : {dir, dir + "/tmp", dir + "/objects"})
    if (auto ok = ensure_private_dir(d); !ok) return ok.error();
  file_store s;
  s.dir_ = dir;
  return s;
}

std::string file_store::object_path(std::string_view name) const {
  return dir_ + "/objects/" + subdir_of(name) + "/" + std::string(name);
}

result<temp_file> file_store::create_temp() const {
  auto path = dir_ + "/tmp/" + crypto::random_hex(16) + ".part";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return sys_error("create upload file");
  return temp_file(fd, std::move(path));
}

result<void> file_store::write_all(const temp_file& f, std::string_view data) const {
  while (!data.empty()) {
    auto n = ::write(f.fd(), data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("write upload file");
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

result<void> file_store::commit(temp_file& f, std::string_view name) const {
  if (!valid_storage_name(name)) return make_error(errc::internal, "bad storage name");
  if (::fsync(f.fd()) != 0) return sys_error("fsync upload file");
  auto sub = dir_ + "/objects/" + subdir_of(name);
  struct stat st{};
  if (::stat(sub.c_str(), &st) != 0) {
    if (auto ok = ensure_private_dir(sub); !ok) return ok.error();
    if (auto ok = fsync_dir(dir_ + "/objects"); !ok) return ok.error();
  }
  auto target = object_path(name);
  if (::rename(f.path().c_str(), target.c_str()) != 0) return sys_error("rename upload file");
  f.release();
  return fsync_dir(sub);
}

result<int> file_store::open_object(std::string_view name) const {
  if (!valid_storage_name(name)) return make_error(errc::not_found, "no such file");
  int fd = ::open(object_path(name).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return make_error(errc::not_found, "stored file is missing");
    return sys_error("open stored file");
  }
  return fd;
}

result<void> file_store::remove_object(std::string_view name) const {
  if (!valid_storage_name(name)) return make_error(errc::invalid_argument, "bad storage name");
  if (::unlink(object_path(name).c_str()) != 0 && errno != ENOENT) return sys_error("unlink stored file");
  return fsync_dir(dir_ + "/objects/" + subdir_of(name));
}

std::vector<stored_object> file_store::list_objects() const {
  std::vector<stored_object> out;
  auto now = std::time(nullptr);
  auto root = dir_ + "/objects";
  DIR* top = ::opendir(root.c_str());
  if (!top) return out;
  while (auto* e = ::readdir(top)) {
    std::string sub = e->d_name;
    if (sub.size() != 2) continue;
    DIR* d = ::opendir((root + "/" + sub).c_str());
    if (!d) continue;
    while (auto* f = ::readdir(d)) {
      std::string name = f->d_name;
      if (!valid_storage_name(name) || name.substr(0, 2) != sub) continue;
      struct stat st{};
      if (::lstat((root + "/" + sub + "/" + name).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      out.push_back({name, static_cast<std::int64_t>(now - st.st_mtime), static_cast<std::uint64_t>(st.st_size)});
    }
    ::closedir(d);
  }
  ::closedir(top);
  return out;
}

std::size_t file_store::sweep_temp(std::int64_t min_age_seconds) const {
  std::size_t removed = 0;
  auto now = std::time(nullptr);
  auto tmp = dir_ + "/tmp";
  DIR* d = ::opendir(tmp.c_str());
  if (!d) return 0;
  while (auto* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    auto path = tmp + "/" + name;
    struct stat st{};
    if (::lstat(path.c_str(), &st) != 0) continue;
    if (now - st.st_mtime >= min_age_seconds && ::unlink(path.c_str()) == 0) ++removed;
  }
  ::closedir(d);
  return removed;
}

std::optional<std::uint64_t> file_store::free_bytes() const {
  struct statvfs vfs{};
  if (::statvfs(dir_.c_str(), &vfs) != 0) return std::nullopt;
  return static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
}

result<std::size_t> read_at(int fd, char* buf, std::size_t len, std::uint64_t offset) {
  std::size_t got = 0;
  while (got < len) {
    auto n = ::pread(fd, buf + got, len - got, static_cast<off_t>(offset + got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("read stored file");
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  return got;
}

void close_fd(int fd) {
  if (fd >= 0) ::close(fd);
}

}  // namespace redoubt::files
