// What an attachment is and how it may be named: the server decides both. The content type
// comes from the file's first bytes (never from the client), and the client's filename is
// kept only as sanitized metadata, never as a path.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "base/errc.hpp"

namespace redoubt::files {

inline constexpr std::size_t sniff_bytes = 512;  // how much of the start detection looks at
inline constexpr std::size_t max_filename_chars = 255;

// A MIME type from magic bytes; "application/octet-stream" when nothing matches.
std::string detect_content_type(std::string_view head);

// Raster images a browser may show inline (never SVG: it can carry script).
bool is_inline_image(std::string_view content_type) noexcept;

// Valid UTF-8, 1..255 characters after replacing path separators, control and format
// characters with '_' and stripping leading dots and surrounding spaces.
result<std::string> sanitize_filename(std::string_view raw);

// `inline|attachment; filename="ascii fallback"; filename*=UTF-8''percent-encoded`.
std::string content_disposition(bool as_inline, std::string_view filename);

// Parses a Range header for a resource of `size` bytes into [first, end). nullopt: serve the
// whole resource (no header, several ranges or a syntax error); first == end == size: the
// range is unsatisfiable (416).
std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_byte_range(std::string_view header, std::uint64_t size);

}  // namespace redoubt::files
