#include "files/plain_reader.hpp"

#include <string>

#include "files/file_crypto.hpp"

namespace redoubt::files {
namespace {

struct fd_guard {
  int fd;
  ~fd_guard() { close_fd(fd); }
};

error integrity(std::string why) { return make_error(errc::internal, "integrity: " + std::move(why)); }

}  // namespace

result<std::uint64_t> read_plaintext(const file_store& store, std::string_view storage_name,
                                     const secret_string& data_key,
                                     const std::function<result<void>(std::string_view)>& sink) {
  auto fd = store.open_object(storage_name);
  if (!fd) return fd.error();
  fd_guard guard{*fd};
  std::string header(file_header_bytes, '\0'), sealed(sealed_chunk_bytes, '\0'), plain;
  opener open;
  auto n = read_at(*fd, header.data(), header.size(), 0);
  if (!n) return n.error();
  if (*n != header.size() || !open.init(data_key, header)) return integrity("bad header");
  std::uint64_t offset = header.size(), total = 0;
  for (bool final = false; !final;) {
    auto got = read_at(*fd, sealed.data(), sealed.size(), offset);
    if (!got) return got.error();
    if (*got < chunk_overhead_bytes) return integrity("truncated");
    if (!open.open(std::string_view(sealed.data(), *got), plain, final))
      return integrity("chunk at offset " + std::to_string(offset) + " fails authentication");
    if (auto ok = sink(plain); !ok) return ok.error();
    total += plain.size();
    offset += *got;
  }
  char extra = 0;
  auto more = read_at(*fd, &extra, 1, offset);
  if (!more) return more.error();
  if (*more != 0) return integrity("bytes after the end");
  return total;
}

}  // namespace redoubt::files
