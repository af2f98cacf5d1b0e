// The built web client served from server.web_root: types, caching, CSP, client-side routes,
// and that no request path reaches a file outside the root (traversal, encodings, symlinks).
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "api_env.hpp"
#include "support/process_util.hpp"

namespace redoubt::test {
namespace {

namespace fs = std::filesystem;

const std::string secret_text = "TOP-SECRET-OUTSIDE-WEB-ROOT";

void write_file(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

// <tmp>/web is the root; <tmp>/secret.txt and a symlink web/leak.txt -> ../secret.txt lie outside it.
class StaticFiles : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ensure_migrated();
    dir_ = new std::string(make_temp_dir("redoubt-web-"));
    const fs::path base(*dir_);
    write_file(base / "web/index.html",
               "<!doctype html><title>Redoubt</title><script type=\"module\" src=\"/assets/app-1a2b3c.js\"></script>");
    write_file(base / "web/assets/app-1a2b3c.js", "console.log('app');");
    write_file(base / "web/assets/app-9f8e7d.css", "body{margin:0}");
    write_file(base / "web/favicon.svg", "<svg xmlns=\"http://www.w3.org/2000/svg\"/>");
    write_file(base / "web/.env", secret_text);
    write_file(base / "secret.txt", secret_text);
    fs::create_symlink(base / "secret.txt", base / "web/leak.txt");
    fs::create_directory_symlink(base, base / "web/up");
    server_options opts;
    opts.extra_toml = relaxed_limits;
    opts.web_root = (base / "web").string();
    server_ = new server_process(opts);
    server_->start();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    std::error_code ec;
    fs::remove_all(*dir_, ec);
    delete dir_;
  }

  static std::string* dir_;
  static server_process* server_;
};
std::string* StaticFiles::dir_ = nullptr;
server_process* StaticFiles::server_ = nullptr;

TEST_F(StaticFiles, IndexIsServedWithStrictCsp) {
  auto http = server_->client();
  auto res = http.get("/");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_NE(res.body.find("<title>Redoubt</title>"), std::string::npos);
  EXPECT_EQ(res.header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(res.header("cache-control"), "no-cache");
  EXPECT_EQ(res.headers_named("content-security-policy").size(), 1u);
  const auto csp = res.header("content-security-policy");
  EXPECT_NE(csp.find("default-src 'self'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe-eval"), std::string::npos) << csp;
  EXPECT_EQ(res.header("x-content-type-options"), "nosniff");
  EXPECT_EQ(res.header("x-frame-options"), "DENY");
}

TEST_F(StaticFiles, ClientRoutesGetIndexMissingFilesGet404) {
  auto http = server_->client();
  auto route = http.get("/rooms/12");
  ASSERT_EQ(route.status, 200);
  EXPECT_NE(route.body.find("<title>Redoubt</title>"), std::string::npos);
  EXPECT_EQ(http.get("/assets/missing-123.js").status, 404);
  EXPECT_EQ(http.get("/nothing.png").status, 404);
}

TEST_F(StaticFiles, AssetsHaveTypeAndImmutableCaching) {
  auto http = server_->client();
  auto js = http.get("/assets/app-1a2b3c.js");
  ASSERT_EQ(js.status, 200);
  EXPECT_EQ(js.body, "console.log('app');");
  EXPECT_EQ(js.header("content-type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(js.header("cache-control"), "public, max-age=31536000, immutable");
  auto css = http.get("/assets/app-9f8e7d.css?v=1");
  ASSERT_EQ(css.status, 200);
  EXPECT_EQ(css.header("content-type"), "text/css; charset=utf-8");
  auto svg = http.get("/favicon.svg");
  ASSERT_EQ(svg.status, 200);
  EXPECT_EQ(svg.header("content-type"), "image/svg+xml");
  EXPECT_EQ(svg.header("cache-control"), "no-cache");
}

TEST_F(StaticFiles, HeadHasLengthButNoBody) {
  auto http = server_->client();
  auto res = http.request("HEAD", "/assets/app-1a2b3c.js");
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.header("content-length"), std::to_string(std::string("console.log('app');").size()));
  EXPECT_TRUE(res.body.empty());
  // The connection is still in sync for the next request.
  EXPECT_EQ(http.get("/assets/app-1a2b3c.js").body, "console.log('app');");
}

TEST_F(StaticFiles, ApiAndOperationsKeepTheirOwnResponses) {
  auto http = server_->client();
  auto health = http.get("/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.header("content-security-policy"), "default-src 'none'; frame-ancestors 'none'");
  auto api = http.get("/api/nope");
  EXPECT_EQ(api.status, 404);
  EXPECT_EQ(error_code(api), "not_found");
  EXPECT_EQ(api.header("content-security-policy"), "default-src 'none'; frame-ancestors 'none'");
  EXPECT_EQ(http.get("/api/v1/me").status, 401);
  EXPECT_EQ(http.post("/", json::object{}).status, 404);  // only GET and HEAD
}

TEST_F(StaticFiles, TraversalAndEncodingTricksNeverLeaveTheRoot) {
  const std::vector<std::string> attempts = {
      "/../../etc/passwd",        "/../secret.txt",        "/%2e%2e/",
      "/%2e%2e/secret.txt",         "/%2E%2E/%2E%2E/etc/passwd", "/assets/..%2f..%2fsecret",
      "/assets/%2e%2e/%2e%2e/secret", "/..%5csecret",     "/assets/..\\..\\secret",
      "/index.html%00.js",        "/%252e%252e/secret",  "/leak.txt",
      "/up/secret.txt",               "/.env",               "/assets/./app-1a2b3c.js",
      "//etc/passwd",             "/%",                  "/%zz",
  };
  for (const auto& path : attempts) {
    auto http = server_->client();
    auto res = http.get(path);
    EXPECT_EQ(res.status, 404) << path << " -> " << res.status;
    EXPECT_EQ(res.body.find(secret_text), std::string::npos) << path;
    EXPECT_EQ(res.body.find("root:"), std::string::npos) << path;
  }
  // The same bytes sent raw, in case a client library normalizes the target.
  auto http = server_->client();
  for (const std::string path : {"/../../etc/passwd", "/assets/..%2f..%2fsecret", "/%2e%2e/secret"}) {
    auto raw = http.raw_exchange("GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                                 std::chrono::seconds(5));
    EXPECT_NE(raw.find("HTTP/1.1 404"), std::string::npos) << path << ": " << raw.substr(0, 200);
    EXPECT_EQ(raw.find(secret_text), std::string::npos) << path;
    EXPECT_EQ(raw.find("root:"), std::string::npos) << path;
  }
}

TEST(StaticFilesStartup, ServerRefusesAWebRootWithoutIndex) {
  ensure_migrated();
  auto dir = make_temp_dir("redoubt-web-empty-");
  server_options opts;
  opts.web_root = dir;
  server_process server(opts);
  EXPECT_THROW(server.start(), std::exception);
  EXPECT_NE(server.log().find("index.html"), std::string::npos) << server.log();
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace redoubt::test
