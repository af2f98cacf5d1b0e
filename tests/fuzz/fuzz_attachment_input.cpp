// What an uploader controls about an attachment: the filename, the bytes (content sniffing and
// the image header walk / decoders behind thumbnails: PNG, JPEG, WebP) and the Range header of
// a download.
// Invariants: sanitized names are never paths and never empty; ranges stay inside the file;
// nothing crashes or allocates past the pixel limit.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "files/content_type.hpp"
#include "media/thumbnail.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto name = redoubt::files::sanitize_filename(in)) {
    if (name->empty() || name->find('/') != std::string::npos || name->find('\\') != std::string::npos ||
        name->front() == '.')
      __builtin_trap();
    auto disposition = redoubt::files::content_disposition(true, *name);
    if (disposition.find_first_of("\r\n") != std::string::npos) __builtin_trap();
  }
  const std::uint64_t file_size = size * 37;
  if (auto r = redoubt::files::parse_byte_range(in, file_size)) {
    if (r->first > r->second || r->second > file_size) __builtin_trap();
  }
  const auto type = redoubt::files::detect_content_type(in);
  if (type == "image/png" || type == "image/jpeg" || type == "image/webp") {
    // A small limit keeps each run cheap; the header check must refuse anything bigger.
    const redoubt::media::thumbnail_limits limits{1 << 16, 64};
    (void)redoubt::media::make_thumbnail(in, type, limits);
  }
  return 0;
}
