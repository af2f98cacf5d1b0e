#include "api/static_files.hpp"

#include <array>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <utility>

#include "api/errors.hpp"

namespace redoubt::api {
namespace fs = std::filesystem;

namespace {

struct type_entry {
  std::string_view ext;
  std::string_view type;
};

// Fixed table: anything else is served as application/octet-stream (and nosniff is global).
constexpr std::array<type_entry, 14> content_types{{
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".webmanifest", "application/manifest+json"},
    {".map", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".webp", "image/webp"},
    {".woff2", "font/woff2"},
    {".txt", "text/plain; charset=utf-8"},
    {".wasm", "application/wasm"},
}};

std::string_view type_of(std::string_view key) {
  auto slash = key.rfind('/');
  auto name = slash == std::string_view::npos ? key : key.substr(slash + 1);
  auto dot = name.rfind('.');
  if (dot == std::string_view::npos) return "application/octet-stream";
  auto ext = name.substr(dot);
  for (const auto& e : content_types)
    if (e.ext == ext) return e.type;
  return "application/octet-stream";
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_hashed_asset(std::string_view key) { return key.substr(0, 7) == "assets/"; }

// A key names a path below the root: no empty, ".", ".." or hidden segments.
bool valid_key(std::string_view key) {
  if (key.empty()) return false;
  std::size_t i = 0;
  while (i <= key.size()) {
    auto j = key.find('/', i);
    if (j == std::string_view::npos) j = key.size();
    auto seg = key.substr(i, j - i);
    if (seg.empty() || seg.front() == '.') return false;
    i = j + 1;
  }
  return true;
}

}  // namespace

std::optional<std::string> static_files::normalize(std::string_view raw) {
  if (raw.empty() || raw.front() != '/' || raw.size() > 1024) return std::nullopt;
  std::string decoded;
  decoded.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '%') {
      if (i + 2 >= raw.size()) return std::nullopt;
      int hi = hex_value(raw[i + 1]), lo = hex_value(raw[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
      // Double encoding ("%252e") is never legitimate here.
      if (c == '%') return std::nullopt;
    }
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '\\') return std::nullopt;  // NUL, controls, backslash
    decoded.push_back(c);
  }
  std::string_view key(decoded);
  key.remove_prefix(1);
  if (!key.empty() && key.back() == '/') key.remove_suffix(1);
  if (key.empty()) return std::string("index.html");
  if (!valid_key(key)) return std::nullopt;  // "..", ".", "//", dotfiles
  return std::string(key);
}

static_files::static_files(const std::string& root, limits lim) {
  std::error_code ec;
  const fs::path base = fs::canonical(root, ec);
  if (ec || !fs::is_directory(base)) throw std::runtime_error("server.web_root is not a directory: " + root);
  std::size_t total = 0;
  // Directory symlinks are not followed; file symlinks only if they resolve inside the root.
  for (fs::recursive_directory_iterator it(base, fs::directory_options::none, ec), end; !ec && it != end;
       it.increment(ec)) {
    fs::path path = it->path();
    if (it->is_symlink()) {
      std::error_code lec;
      auto target = fs::canonical(path, lec);
      if (lec) continue;
      auto rel_target = target.lexically_relative(base);
      if (rel_target.empty() || *rel_target.begin() == "..") continue;
      path = target;
    }
    if (!fs::is_regular_file(path)) continue;
    auto key = it->path().lexically_relative(base).generic_string();
    if (!valid_key(key)) continue;  // hidden files (".env", ".git/...") are never served
    if (files_.size() + 1 > lim.max_files) throw std::runtime_error("server.web_root has too many files");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path.string());
    std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    total += body.size();
    if (total > lim.max_total_bytes) throw std::runtime_error("server.web_root is larger than the limit");
    files_.emplace(key, file{std::move(body), std::string(type_of(key))});
  }
  if (ec) throw std::runtime_error("cannot list server.web_root: " + ec.message());
  if (!files_.contains("index.html")) throw std::runtime_error("server.web_root has no index.html: " + root);
}

http_response static_files::respond(const std::string& key, const file& f) const {
  http_response r;
  r.content_type = f.content_type;
  r.body = f.body;
  if (is_hashed_asset(key)) {
    // Vite puts a content hash in every file name under assets/: they never change.
    r.headers.emplace_back("Cache-Control", "public, max-age=31536000, immutable");
  } else {
    r.headers.emplace_back("Cache-Control", "no-cache");
  }
  if (f.content_type.starts_with("text/html")) r.headers.emplace_back("Content-Security-Policy", std::string(web_csp));
  return r;
}

http_response static_files::serve(std::string_view raw_path) const {
  auto key = normalize(raw_path);
  if (!key || !enabled()) return error_response(errc::not_found, "no such file");
  if (auto it = files_.find(*key); it != files_.end()) return respond(it->first, it->second);
  // A missing file (has an extension, or under assets/) is a 404; anything else is a route of
  // the client, which index.html handles.
  auto slash = key->rfind('/');
  auto last = slash == std::string::npos ? std::string_view(*key) : std::string_view(*key).substr(slash + 1);
  if (is_hashed_asset(*key) || last.find('.') != std::string_view::npos)
    return error_response(errc::not_found, "no such file");
  auto index = files_.find("index.html");
  return respond(index->first, index->second);
}

}  // namespace redoubt::api
