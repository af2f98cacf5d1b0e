// Attachment throughput and memory: in-process sealing/opening speed (the encryption cost),
// then a real redoubt-server over TLS: upload and download MiB/s and the server's peak RSS
// while a large file streams through.
//
// usage: files_throughput [file_mib=1024]
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <boost/json.hpp>

#include "files/file_crypto.hpp"
#include "support/server_process.hpp"

using namespace redoubt;
using namespace redoubt::test;
namespace json = boost::json;
using clock_type = std::chrono::steady_clock;

namespace {

double seconds_since(clock_type::time_point t) { return std::chrono::duration<double>(clock_type::now() - t).count(); }

long status_kib(pid_t pid, const char* field) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(std::strlen(field)));
  return -1;
}

std::string piece_of(std::size_t n) {
  std::string s(n, '\0');
  std::uint32_t x = 12345;
  for (auto& c : s) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return s;
}

void crypto_speeds(std::size_t mib) {
  const auto chunk = piece_of(files::chunk_bytes);
  const std::size_t chunks = mib * 16;
  auto key = files::new_data_key();
  std::string sealed;
  sealed.reserve(files::sealed_chunk_bytes);
  files::sealer s(key);
  auto t = clock_type::now();
  std::string all;
  all.reserve(chunks * files::sealed_chunk_bytes + 64);
  all = s.header();
  for (std::size_t i = 0; i < chunks; ++i) s.seal(chunk, i + 1 == chunks, all);
  const double seal_s = seconds_since(t);
  files::opener o;
  (void)o.init(key, std::string_view(all).substr(0, files::file_header_bytes));
  std::string plain;
  bool final = false;
  t = clock_type::now();
  for (std::size_t i = 0; i < chunks; ++i)
    (void)o.open(std::string_view(all).substr(files::file_header_bytes + i * files::sealed_chunk_bytes,
                                              files::sealed_chunk_bytes),
                 plain, final);
  const double open_s = seconds_since(t);
  files::sha256_stream h;
  t = clock_type::now();
  for (std::size_t i = 0; i < chunks; ++i) h.update(chunk);
  (void)h.hex_final();
  const double sha_s = seconds_since(t);
  std::printf("in-process, %zu MiB in 64 KiB chunks (one core):\n", mib);
  std::printf("  seal (XChaCha20-Poly1305 secretstream) %8.0f MiB/s\n", mib / seal_s);
  std::printf("  open                                   %8.0f MiB/s\n", mib / open_s);
  std::printf("  SHA-256                                %8.0f MiB/s\n", mib / sha_s);
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t mib = argc > 1 ? static_cast<std::size_t>(std::atol(argv[1])) : 1024;
  crypto_speeds(256);

  ensure_migrated();
  const auto dir = std::filesystem::temp_directory_path() / ("redoubt-files-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto [rc1, o1] = run_program({REDOUBTCTL_BIN, "keygen-signing", (dir / "signing.key").string(),
                                (dir / "signing.pub").string()});
  auto [rc2, o2] = run_program({REDOUBTCTL_BIN, "files", "keygen", (dir / "master.keys").string()});
  if (rc1 != 0 || rc2 != 0) {
    std::fprintf(stderr, "key generation failed: %s %s\n", o1.c_str(), o2.c_str());
    return 1;
  }
  server_options opts;
  opts.extra_toml = "[limits]\nrequests_per_second_per_ip = 1000000\nrequests_burst_per_ip = 1000000\n[jobs]\n"
                    "signing_key_file = " + quote_toml((dir / "signing.key").string()) + "\n[files]\ndir = " +
                    quote_toml((dir / "store").string()) + "\nmaster_key_file = " +
                    quote_toml((dir / "master.keys").string()) + "\nmax_file_bytes = " +
                    std::to_string((mib + 1) << 20) + "\ndefault_quota_bytes = " + std::to_string((mib + 10) << 20) +
                    "\nmin_free_disk_bytes = 1048576\nupload_bytes_per_second = 1099511627776\n"
                    "download_bytes_per_second = 1099511627776\n";
  server_process server(opts);
  server.start();
  auto http = server.client();
  auto reg = http.post("/api/v1/auth/register", json::object{{"username", "filebench"}, {"email", "fb@bench.test"},
                                                              {"password", "bench password 123456"}});
  auto room = http.post("/api/v1/rooms", json::object{{"name", "files-bench"}}).json().at("room").at("id").as_int64();
  (void)reg;
  const long rss_before = status_kib(server.pid(), "VmHWM:");

  const auto piece = piece_of(1 << 20);
  streamed_request up(http,
                      "POST /api/v1/rooms/" + std::to_string(room) +
                          "/attachments?filename=big.bin HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
                          "application/octet-stream\r\nCookie: " + http.cookie_header() +
                          "\r\nContent-Length: " + std::to_string(mib << 20),
                      std::chrono::seconds(120));
  auto t = clock_type::now();
  for (std::size_t i = 0; i < mib; ++i)
    if (!up.write(piece)) {
      std::fprintf(stderr, "upload cut at %zu MiB\n", i);
      return 1;
    }
  auto res = up.response(std::chrono::seconds(300));
  const double up_s = seconds_since(t);
  if (res.status != 201) {
    std::fprintf(stderr, "upload failed: %d %s\n", res.status, res.body.c_str());
    return 1;
  }
  const long rss_after_upload = status_kib(server.pid(), "VmHWM:");
  const auto id = res.json().at("attachment").at("id").as_int64();

  streamed_request down(http,
                        "GET /api/v1/attachments/" + std::to_string(id) +
                            " HTTP/1.1\r\nHost: localhost\r\nCookie: " + http.cookie_header(),
                        std::chrono::seconds(120));
  t = clock_type::now();
  auto got = down.response(std::chrono::seconds(300), (mib + 1) << 20);
  const double down_s = seconds_since(t);
  const long rss_after_download = status_kib(server.pid(), "VmHWM:");
  if (got.status != 200 || got.body.size() != (mib << 20)) {
    std::fprintf(stderr, "download failed: %d, %zu bytes\n", got.status, got.body.size());
    return 1;
  }
  std::printf("through TLS 1.3 to redoubt-server (loopback), one %zu MiB file:\n", mib);
  std::printf("  upload   %7.1f MiB/s  (%.1f s, sealed + written + fsynced + signed)\n", mib / up_s, up_s);
  std::printf("  download %7.1f MiB/s  (%.1f s, every chunk opened, SHA-256 checked)\n", mib / down_s, down_s);
  std::printf("  server peak RSS: %ld KiB before, %ld KiB after the upload, %ld KiB after the download\n", rss_before,
              rss_after_upload, rss_after_download);
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return 0;
}
