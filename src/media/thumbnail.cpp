#include "media/thumbnail.hpp"

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <vector>

#include <jpeglib.h>
#include <png.h>
#include <webp/decode.h>

namespace redoubt::media {
namespace {

struct rgba_image {
  std::uint32_t width = 0, height = 0;
  std::vector<unsigned char> pixels;  // RGBA8
};

result<void> check_size(image_size s, const thumbnail_limits& limits) {
  if (s.width == 0 || s.height == 0) return make_error(errc::invalid_argument, "image has no pixels");
  if (static_cast<std::uint64_t>(s.width) * s.height > limits.max_pixels)
    return make_error(errc::resource_exhausted, "image too large to decode");
  return {};
}

result<image_size> probe_png(std::string_view data) {
  png_image img{};
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&img, data.data(), data.size())) {
    png_image_free(&img);
    return make_error(errc::invalid_argument, "not a readable PNG");
  }
  image_size s{img.width, img.height};
  png_image_free(&img);
  return s;
}

result<rgba_image> decode_png(std::string_view data, const thumbnail_limits& limits) {
  png_image img{};
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&img, data.data(), data.size())) {
    png_image_free(&img);
    return make_error(errc::invalid_argument, "not a readable PNG");
  }
  if (auto ok = check_size({img.width, img.height}, limits); !ok) {
    png_image_free(&img);
    return ok.error();
  }
  img.format = PNG_FORMAT_RGBA;
  rgba_image out;
  out.width = img.width;
  out.height = img.height;
  out.pixels.resize(PNG_IMAGE_SIZE(img));
  if (!png_image_finish_read(&img, nullptr, out.pixels.data(), 0, nullptr)) {
    png_image_free(&img);
    return make_error(errc::invalid_argument, "PNG data is corrupt");
  }
  return out;
}

// libjpeg reports fatal errors through error_exit: jump back instead of exiting.
struct jpeg_error {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
};

void jpeg_fail(j_common_ptr info) { std::longjmp(reinterpret_cast<jpeg_error*>(info->err)->jump, 1); }
void jpeg_quiet(j_common_ptr, int) {}

// Plain C-style state only between setjmp and longjmp: nothing with a destructor is skipped.
bool decode_jpeg_raw(const unsigned char* data, unsigned long size, std::uint64_t max_pixels, int target,
                     unsigned char** pixels, std::uint32_t* width, std::uint32_t* height, int* status) {
  jpeg_decompress_struct info;
  jpeg_error err;
  info.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = jpeg_fail;
  err.mgr.emit_message = jpeg_quiet;
  *pixels = nullptr;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&info);
    std::free(*pixels);
    *pixels = nullptr;
    *status = 1;
    return false;
  }
  jpeg_create_decompress(&info);
  jpeg_mem_src(&info, data, size);
  jpeg_read_header(&info, TRUE);
  if (info.image_width == 0 || info.image_height == 0 ||
      static_cast<std::uint64_t>(info.image_width) * info.image_height > max_pixels) {
    jpeg_destroy_decompress(&info);
    *status = 2;
    return false;
  }
  // Let the decoder shrink by up to 8x while staying at least the target size.
  unsigned denom = 1;
  while (denom < 8 && info.image_width / (denom * 2) >= static_cast<unsigned>(target) &&
         info.image_height / (denom * 2) >= static_cast<unsigned>(target))
    denom *= 2;
  info.scale_num = 1;
  info.scale_denom = denom;
  info.out_color_space = JCS_EXT_RGBA;
  jpeg_start_decompress(&info);
  *width = info.output_width;
  *height = info.output_height;
  const std::size_t stride = static_cast<std::size_t>(info.output_width) * 4;
  *pixels = static_cast<unsigned char*>(std::malloc(stride * info.output_height));
  if (!*pixels) {
    jpeg_destroy_decompress(&info);
    *status = 2;
    return false;
  }
  while (info.output_scanline < info.output_height) {
    JSAMPROW row = *pixels + stride * info.output_scanline;
    jpeg_read_scanlines(&info, &row, 1);
  }
  jpeg_finish_decompress(&info);
  jpeg_destroy_decompress(&info);
  *status = 0;
  return true;
}

result<image_size> probe_jpeg(std::string_view data) {
  // Walk the markers to the first SOFn (baseline, progressive, ...).
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  std::size_t i = 2, n = data.size();
  if (n < 4 || p[0] != 0xFF || p[1] != 0xD8) return make_error(errc::invalid_argument, "not a JPEG");
  while (i + 4 <= n) {
    if (p[i] != 0xFF) return make_error(errc::invalid_argument, "corrupt JPEG");
    auto marker = p[i + 1];
    if (marker == 0xFF) {
      ++i;
      continue;
    }
    std::size_t len = (static_cast<std::size_t>(p[i + 2]) << 8) | p[i + 3];
    if (len < 2) return make_error(errc::invalid_argument, "corrupt JPEG");
    const bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (sof) {
      if (i + 9 > n) break;
      image_size s{static_cast<std::uint32_t>((p[i + 7] << 8) | p[i + 8]),
                   static_cast<std::uint32_t>((p[i + 5] << 8) | p[i + 6])};
      return s;
    }
    i += 2 + len;
  }
  return make_error(errc::invalid_argument, "JPEG without a frame header");
}

result<rgba_image> decode_jpeg(std::string_view data, const thumbnail_limits& limits) {
  unsigned char* pixels = nullptr;
  std::uint32_t w = 0, h = 0;
  int status = 0;
  decode_jpeg_raw(reinterpret_cast<const unsigned char*>(data.data()), static_cast<unsigned long>(data.size()),
                  limits.max_pixels, limits.size, &pixels, &w, &h, &status);
  if (status == 2) return make_error(errc::resource_exhausted, "image too large to decode");
  if (status != 0 || !pixels) return make_error(errc::invalid_argument, "JPEG data is corrupt");
  rgba_image out;
  out.width = w;
  out.height = h;
  out.pixels.assign(pixels, pixels + static_cast<std::size_t>(w) * h * 4);
  std::free(pixels);
  return out;
}

result<image_size> probe_webp(std::string_view data) {
  int w = 0, h = 0;
  if (!WebPGetInfo(reinterpret_cast<const std::uint8_t*>(data.data()), data.size(), &w, &h))
    return make_error(errc::invalid_argument, "not a readable WebP");
  return image_size{static_cast<std::uint32_t>(w), static_cast<std::uint32_t>(h)};
}

// Still WebP images (lossy or lossless); animated ones are refused as undecodable, and the
// client shows the original instead.
result<rgba_image> decode_webp(std::string_view data) {
  int w = 0, h = 0;
  std::uint8_t* pixels = WebPDecodeRGBA(reinterpret_cast<const std::uint8_t*>(data.data()), data.size(), &w, &h);
  if (!pixels) return make_error(errc::invalid_argument, "WebP data is corrupt or animated");
  rgba_image out;
  out.width = static_cast<std::uint32_t>(w);
  out.height = static_cast<std::uint32_t>(h);
  out.pixels.assign(pixels, pixels + static_cast<std::size_t>(w) * h * 4);
  WebPFree(pixels);
  return out;
}

// Area-average downscale to fit in size x size (never upscales).
rgba_image shrink(const rgba_image& in, int size) {
  const double scale = std::min(1.0, std::min(static_cast<double>(size) / in.width, static_cast<double>(size) / in.height));
  rgba_image out;
  out.width = std::max<std::uint32_t>(1, static_cast<std::uint32_t>(in.width * scale));
  out.height = std::max<std::uint32_t>(1, static_cast<std::uint32_t>(in.height * scale));
  out.pixels.resize(static_cast<std::size_t>(out.width) * out.height * 4);
  for (std::uint32_t y = 0; y < out.height; ++y) {
    const std::uint32_t y0 = static_cast<std::uint32_t>(static_cast<std::uint64_t>(y) * in.height / out.height);
    const std::uint32_t y1 = std::max(y0 + 1, static_cast<std::uint32_t>(static_cast<std::uint64_t>(y + 1) * in.height / out.height));
    for (std::uint32_t x = 0; x < out.width; ++x) {
      const std::uint32_t x0 = static_cast<std::uint32_t>(static_cast<std::uint64_t>(x) * in.width / out.width);
      const std::uint32_t x1 = std::max(x0 + 1, static_cast<std::uint32_t>(static_cast<std::uint64_t>(x + 1) * in.width / out.width));
      std::uint64_t sum[4] = {0, 0, 0, 0};
      for (std::uint32_t sy = y0; sy < y1; ++sy)
        for (std::uint32_t sx = x0; sx < x1; ++sx)
          for (int c = 0; c < 4; ++c) sum[c] += in.pixels[(static_cast<std::size_t>(sy) * in.width + sx) * 4 + c];
      const std::uint64_t count = static_cast<std::uint64_t>(y1 - y0) * (x1 - x0);
      for (int c = 0; c < 4; ++c)
        out.pixels[(static_cast<std::size_t>(y) * out.width + x) * 4 + c] = static_cast<unsigned char>(sum[c] / count);
    }
  }
  return out;
}

}  // namespace

result<image_size> probe(std::string_view encoded, std::string_view content_type) {
  if (content_type == "image/png") return probe_png(encoded);
  if (content_type == "image/jpeg") return probe_jpeg(encoded);
  if (content_type == "image/webp") return probe_webp(encoded);
  return make_error(errc::failed_precondition, "no thumbnails for this type");
}

result<std::string> make_thumbnail(std::string_view encoded, std::string_view content_type,
                                   const thumbnail_limits& limits) {
  auto size = probe(encoded, content_type);
  if (!size) return size.error();
  if (auto ok = check_size(*size, limits); !ok) return ok.error();
  auto image = content_type == "image/png"    ? decode_png(encoded, limits)
               : content_type == "image/jpeg" ? decode_jpeg(encoded, limits)
                                              : decode_webp(encoded);
  if (!image) return image.error();
  auto small = shrink(*image, limits.size);
  return encode_png_rgba(small.width, small.height,
                         std::string_view(reinterpret_cast<const char*>(small.pixels.data()), small.pixels.size()));
}

result<std::string> encode_png_rgba(std::uint32_t width, std::uint32_t height, std::string_view pixels) {
  if (pixels.size() != static_cast<std::size_t>(width) * height * 4)
    return make_error(errc::invalid_argument, "pixel buffer size does not match");
  png_image img{};
  img.version = PNG_IMAGE_VERSION;
  img.width = width;
  img.height = height;
  img.format = PNG_FORMAT_RGBA;
  png_alloc_size_t len = 0;
  if (!png_image_write_to_memory(&img, nullptr, &len, 0, pixels.data(), 0, nullptr))
    return make_error(errc::internal, "PNG encoding failed");
  std::string out(len, '\0');
  if (!png_image_write_to_memory(&img, out.data(), &len, 0, pixels.data(), 0, nullptr))
    return make_error(errc::internal, "PNG encoding failed");
  out.resize(len);
  return out;
}

}  // namespace redoubt::media
