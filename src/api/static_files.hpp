// The built web client (server.web_root), served from memory.
// Lifecycle: built once at start-up from the directory tree (every regular file under the root,
// symlinks only if they resolve inside it), then read-only: thread-safe, no file system access
// on requests, so a request path can only ever name a file that was loaded.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "api/http_types.hpp"

namespace redoubt::api {

// Content-Security-Policy of the HTML pages of the web client: scripts, styles and connections
// (including wss:) only from our own origin, no inline code, no framing, no plugins.
inline constexpr std::string_view web_csp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

class static_files {
 public:
  struct limits {
    std::size_t max_total_bytes = 32u << 20;
    std::size_t max_files = 4096;
  };

  static_files() = default;  // disabled: serves nothing
  // Loads root recursively. Throws std::runtime_error (start-up only) if root is not a
  // readable directory, has no index.html, or exceeds the limits.
  explicit static_files(const std::string& root, limits lim);

  bool enabled() const { return !files_.empty(); }
  std::size_t file_count() const { return files_.size(); }

  // The response for GET/HEAD of raw_path (as received, percent-encoded, without query).
  // Unknown paths without a file extension get index.html (client-side routes); malformed or
  // traversal-looking paths and unknown files get 404.
  http_response serve(std::string_view raw_path) const;

  // The decoded, normalized key ("index.html", "assets/app-1a2b.js") of a request path, or
  // nullopt if the path is malformed or tries to leave the root (exposed for tests).
  static std::optional<std::string> normalize(std::string_view raw_path);

 private:
  struct file {
    std::string body;
    std::string content_type;
  };
  http_response respond(const std::string& key, const file& f) const;

  std::map<std::string, file, std::less<>> files_;
};

}  // namespace redoubt::api
