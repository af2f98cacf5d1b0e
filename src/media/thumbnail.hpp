// Image thumbnails for attachments, made by the worker with libpng, libjpeg-turbo and libwebp.
// Dimensions are read from the header first and anything over the pixel limit is refused
// before a byte is decoded (decompression bombs). Input is untrusted: every decoder error is
// a value, never a crash.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/errc.hpp"

namespace redoubt::media {

struct thumbnail_limits {
  std::uint64_t max_pixels = 40'000'000;  // decoded width * height
  int size = 320;                          // the thumbnail fits in size x size
};

struct image_size {
  std::uint32_t width = 0;
  std::uint32_t height = 0;
};

// Width and height from the header only (PNG, JPEG, WebP); invalid_argument if unreadable.
result<image_size> probe(std::string_view encoded, std::string_view content_type);

// A PNG thumbnail of a PNG, JPEG or still WebP image. invalid_argument for undecodable input,
// resource_exhausted for an image over the pixel limit, failed_precondition for other types.
result<std::string> make_thumbnail(std::string_view encoded, std::string_view content_type,
                                   const thumbnail_limits& limits);

// RGBA8 pixels (width * height * 4 bytes) as a PNG file.
result<std::string> encode_png_rgba(std::uint32_t width, std::uint32_t height, std::string_view pixels);

}  // namespace redoubt::media
