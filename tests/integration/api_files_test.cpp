// Attachments against a real server and PostgreSQL: streaming upload and download, range
// requests, authorization, encryption at rest, tamper detection, quotas and refused uploads.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "api_env.hpp"
#include "crypto/crypto.hpp"
#include "files/file_crypto.hpp"

namespace redoubt::test {
namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t small_max = 2 * 1024 * 1024 + 123;  // "exactly max" stays quick

// Keys and a store directory for one attachment-enabled server.
struct files_setup {
  std::string dir;
  std::string store;
  std::string master_key_file;
  std::string signing_key_file;

  files_setup() {
    char tmpl[] = "/tmp/redoubt-files-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    dir = tmpl;
    store = dir + "/store";
    master_key_file = dir + "/master.keys";
    signing_key_file = dir + "/signing.key";
    auto [rc1, out1] = run_program({REDOUBTCTL_BIN, "keygen-signing", signing_key_file, dir + "/signing.pub"});
    if (rc1 != 0) throw std::runtime_error("keygen-signing: " + out1);
    auto [rc2, out2] = run_program({REDOUBTCTL_BIN, "files", "keygen", master_key_file});
    if (rc2 != 0) throw std::runtime_error("files keygen: " + out2);
  }
  ~files_setup() {
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }

  std::string toml(std::uint64_t max_file_bytes, const std::string& extra = "") const {
    return std::string(relaxed_limits) + "[jobs]\nsigning_key_file = " + quote_toml(signing_key_file) +
           "\n[files]\ndir = " + quote_toml(store) + "\nmaster_key_file = " + quote_toml(master_key_file) +
           "\nmax_file_bytes = " + std::to_string(max_file_bytes) +
           "\nmin_free_disk_bytes = 1048576\nupload_grace_s = 2\nupload_stall_timeout_s = 3\n"
           "min_upload_bytes_per_second = 65536\n" +
           extra;
  }
};

struct files_env {
  files_setup keys;
  std::unique_ptr<server_process> server;
};

files_env& env() {
  static files_env e = [] {
    ensure_migrated();
    files_env x;
    server_options opts;
    opts.extra_toml = x.keys.toml(small_max);
    x.server = std::make_unique<server_process>(opts);
    x.server->start();
    return x;
  }();
  return e;
}

server_process& server() { return *env().server; }

std::string pattern(std::size_t n, unsigned seed) { return pattern_bytes(n, seed); }
std::string pct(std::string_view s) { return pct_encode(s); }

http_response upload(test_user& u, std::int64_t room, std::string_view bytes, std::string_view filename = "f.bin") {
  return upload_attachment(u.http, room, bytes, filename);
}

std::int64_t upload_ok(test_user& u, std::int64_t room, std::string_view bytes, std::string_view filename = "f.bin") {
  auto res = upload(u, room, bytes, filename);
  EXPECT_EQ(res.status, 201) << res.body;
  return res.json().at("attachment").at("id").as_int64();
}

http_response download(test_user& u, std::int64_t id, const header_list& headers = {}) {
  return u.http.get("/api/v1/attachments/" + std::to_string(id), headers);
}

std::vector<std::string> stored_files(const std::string& store) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(store + "/objects", ec); !ec && it != fs::end(it); it.increment(ec))
    if (it->is_regular_file()) out.push_back(it->path().string());
  return out;
}

std::size_t temp_files(const std::string& store) {
  std::size_t n = 0;
  std::error_code ec;
  for (auto it = fs::directory_iterator(store + "/tmp", ec); !ec && it != fs::end(it); it.increment(ec)) ++n;
  return n;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string sql(const std::string& q) { return pg_cluster::shared().superuser_psql(q); }

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string storage_name_of(std::int64_t id) {
  return trimmed(sql("SELECT storage_name FROM attachments WHERE id = " + std::to_string(id) + ";"));
}

std::string object_path(const std::string& name) { return env().keys.store + "/objects/" + name.substr(0, 2) + "/" + name; }

json::object send_with(ws_client& ws, std::int64_t room, const std::string& cid, std::string body,
                       json::array files) {
  ws.send(json::object{{"type", "send"}, {"room", room}, {"client_id", cid}, {"body", std::move(body)},
                       {"attachments", std::move(files)}});
  return ws.read_until([&](const json::object& f) {
               return (f.at("type") == "ack" || f.at("type") == "error") &&
                      (f.contains("client_id") ? f.at("client_id") == cid.c_str() : true);
             })
      .as_object();
}

std::pair<int, std::string> ctl_files(const std::string& what) {
  return run_program({REDOUBTCTL_BIN, "--config", server().config_path(), "files", what});
}

const std::string png_head = std::string("\x89PNG\r\n\x1a\n", 8);

// One counter from /metrics; -1 if absent.
double metric(const std::string& name) {
  auto text = server().metrics();
  auto at = text.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::stod(text.substr(at + name.size() + 2));
}

}  // namespace

TEST(Files, RoundTripOfSmallEmptyExactlyMaxAndMultiChunkFilesAndContentTypeFromMagicBytes) {
  auto a = make_user(server());
  auto room = make_room(a, "public");
  const std::vector<std::size_t> sizes{0, 1, 65535, 65536, 65537, 3 * 65536 + 5, small_max};
  for (auto n : sizes) {
    auto bytes = pattern(n, static_cast<unsigned>(n));
    auto res = upload(a, room, bytes, "data.bin");
    ASSERT_EQ(res.status, 201) << n << ": " << res.body;
    auto meta = res.json().at("attachment").as_object();
    EXPECT_EQ(meta.at("size").as_int64(), static_cast<std::int64_t>(n));
    EXPECT_EQ(meta.at("sha256").as_string(), crypto::sha256_hex(bytes)) << n;
    EXPECT_EQ(meta.at("state").as_string(), "ready");
    auto got = download(a, meta.at("id").as_int64());
    ASSERT_EQ(got.status, 200) << n;
    EXPECT_EQ(got.body.size(), n);
    EXPECT_TRUE(got.body == bytes) << "content differs for size " << n;
  }
  // One byte over the limit: refused before the body is read, nothing stored.
  auto before = stored_files(env().keys.store).size();
  auto over = upload(a, room, pattern(small_max + 1, 9));
  EXPECT_EQ(over.status, 413);
  EXPECT_EQ(error_code(over), "payload_too_large");
  EXPECT_EQ(stored_files(env().keys.store).size(), before);

  // The type comes from the bytes, never from the name.
  auto png = upload(a, room, png_head + pattern(100, 1), "photo.exe").json().at("attachment").as_object();
  EXPECT_EQ(png.at("content_type").as_string(), "image/png");
  EXPECT_TRUE(png.at("inline").as_bool());
  auto html = upload(a, room, "<html><script>alert(1)</script>", "page.png").json().at("attachment").as_object();
  EXPECT_EQ(html.at("content_type").as_string(), "text/plain; charset=utf-8");
  EXPECT_FALSE(html.at("inline").as_bool());
  auto html_get = download(a, html.at("id").as_int64());
  EXPECT_EQ(html_get.header("content-disposition").rfind("attachment;", 0), 0u) << html_get.header("content-disposition");
  EXPECT_EQ(html_get.header("x-content-type-options"), "nosniff");
  EXPECT_NE(html_get.header("content-security-policy").find("sandbox"), std::string::npos);
  auto png_get = download(a, png.at("id").as_int64());
  EXPECT_EQ(png_get.header("content-type"), "image/png");
  EXPECT_EQ(png_get.header("content-disposition").rfind("inline;", 0), 0u);
  auto forced = a.http.get("/api/v1/attachments/" + std::to_string(png.at("id").as_int64()) + "?download=1");
  EXPECT_EQ(forced.header("content-disposition").rfind("attachment;", 0), 0u);
  // Immutable, private caching with a strong ETag; a matching If-None-Match is 304.
  EXPECT_EQ(png_get.header("cache-control"), "private, max-age=31536000, immutable");
  EXPECT_EQ(png_get.header("etag"), "\"" + std::string(png.at("sha256").as_string()) + "\"");
  auto cached = download(a, png.at("id").as_int64(), {{"If-None-Match", png_get.header("etag")}});
  EXPECT_EQ(cached.status, 304);
  EXPECT_TRUE(cached.body.empty());
}

TEST(Files, RangeRequestsServeExactlyTheAskedBytesAcrossChunkBoundaries) {
  auto a = make_user(server());
  auto room = make_room(a, "private");
  const auto bytes = pattern(3 * 65536 + 100, 77);
  const auto id = upload_ok(a, room, bytes);
  struct probe {
    std::string range;
    std::size_t first, end;
  };
  const std::vector<probe> probes{{"bytes=0-9", 0, 10},
                                  {"bytes=65530-65545", 65530, 65546},
                                  {"bytes=131000-", 131000, bytes.size()},
                                  {"bytes=-50", bytes.size() - 50, bytes.size()},
                                  {"bytes=10-999999999", 10, bytes.size()}};
  for (const auto& p : probes) {
    auto res = download(a, id, {{"Range", p.range}});
    ASSERT_EQ(res.status, 206) << p.range;
    EXPECT_TRUE(res.body == bytes.substr(p.first, p.end - p.first)) << p.range;
    EXPECT_EQ(res.header("content-range"), "bytes " + std::to_string(p.first) + "-" + std::to_string(p.end - 1) + "/" +
                                               std::to_string(bytes.size()));
  }
  auto beyond = download(a, id, {{"Range", "bytes=" + std::to_string(bytes.size()) + "-"}});
  EXPECT_EQ(beyond.status, 416);
  EXPECT_EQ(beyond.header("content-range"), "bytes */" + std::to_string(bytes.size()));
  auto several = download(a, id, {{"Range", "bytes=0-1,5-6"}});  // not supported: the whole file
  EXPECT_EQ(several.status, 200);
  EXPECT_EQ(several.body.size(), bytes.size());
  EXPECT_EQ(download(a, id).header("accept-ranges"), "bytes");
}

TEST(Files, OnlyMembersDownloadAndDeletingTheMessageOrLeavingTakesAccessAway) {
  auto a = make_user(server());
  auto b = make_user(server());
  auto outsider = make_user(server());
  auto room = make_room(a, "private");
  ASSERT_EQ(a.http.post("/api/v1/rooms/" + std::to_string(room) + "/invite", json::object{{"username", b.username}})
                .status,
            204);
  const auto bytes = pattern(5000, 3);
  const auto id = upload_ok(a, room, bytes);
  // Not yet attached: only the uploader sees it.
  EXPECT_EQ(download(a, id).status, 200);
  EXPECT_EQ(download(b, id).status, 404);
  auto ws = connect_ws(server(), a);
  auto ack = send_with(ws, room, "att-1", "see file", json::array{id});
  ASSERT_EQ(ack.at("type"), "ack") << json::serialize(ack);
  const auto message = ack.at("message_id").as_int64();
  EXPECT_EQ(download(b, id).status, 200);
  EXPECT_TRUE(download(b, id).body == bytes);
  EXPECT_EQ(download(outsider, id).status, 404);
  EXPECT_EQ(outsider.http.get("/api/v1/attachments/" + std::to_string(id) + "/meta").status, 404);
  // Uploading into a room one is not in is refused too.
  EXPECT_EQ(upload(outsider, room, "x").status, 404);
  // The message shows its attachment in history.
  auto history = b.http.get("/api/v1/rooms/" + std::to_string(room) + "/messages");
  auto msgs = history.json().at("messages").as_array();
  ASSERT_FALSE(msgs.empty());
  auto files = msgs.back().at("attachments").as_array();
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].at("id").as_int64(), id);
  EXPECT_EQ(files[0].at("message_id").as_int64(), message);
  // Leaving the private room ends b's access.
  ASSERT_EQ(b.http.post("/api/v1/rooms/" + std::to_string(room) + "/leave", json::object{}).status, 204);
  EXPECT_EQ(download(b, id).status, 404);
  // Deleting the message ends everyone's.
  ASSERT_EQ(a.http.del("/api/v1/messages/" + std::to_string(message)).status, 204);
  EXPECT_EQ(download(a, id).status, 404);
  auto audit = sql("SELECT count(*) FROM audit_log WHERE action = 'attachment.download' AND target = 'attachment:" +
                   std::to_string(id) + "';");
  EXPECT_GE(std::stoi(trimmed(audit)), 2);
}

TEST(Files, MessagesCarryOnlyTheAuthorsOwnReadyUnattachedUploadsOfThatRoom) {
  auto a = make_user(server());
  auto b = make_user(server());
  auto room = make_room(a, "public");
  auto other_room = make_room(a, "public");
  ASSERT_EQ(b.http.post("/api/v1/rooms/" + std::to_string(room) + "/join", json::object{}).status, 200);
  auto mine = upload_ok(a, room, "one");
  auto elsewhere = upload_ok(a, other_room, "two");
  auto theirs = upload_ok(b, room, "three");
  auto ws = connect_ws(server(), a);
  auto wb = connect_ws(server(), b);
  EXPECT_EQ(send_with(ws, room, "m-1", "", json::array{theirs}).at("type"), "error");
  EXPECT_EQ(send_with(ws, room, "m-2", "", json::array{elsewhere}).at("type"), "error");
  EXPECT_EQ(send_with(ws, room, "m-3", "", json::array{}).at("type"), "error");  // empty body, no file
  json::array eleven;
  for (int i = 0; i < 11; ++i) eleven.push_back(mine + i * 1000);
  EXPECT_EQ(send_with(ws, room, "m-4", "x", eleven).at("type"), "error");
  auto ok = send_with(ws, room, "m-5", "", json::array{mine});  // a file alone is a message
  ASSERT_EQ(ok.at("type"), "ack") << json::serialize(ok);
  EXPECT_EQ(send_with(ws, room, "m-6", "again", json::array{mine}).at("type"), "error");  // already attached
  // The live event carries the attachment.
  auto event = wb.read_until([&](const json::object& f) {
    return f.at("type") == "event" && f.at("kind") == "message" && f.at("data").at("client_id") == "m-5";
  });
  auto files = event.at("data").at("attachments").as_array();
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].at("id").as_int64(), mine);
  EXPECT_EQ(files[0].at("message_id").as_int64(), ok.at("message_id").as_int64());
  // The REST send path takes attachments too, and a discarded upload cannot be attached.
  auto spare = upload_ok(a, room, "four");
  EXPECT_EQ(a.http.del("/api/v1/attachments/" + std::to_string(spare)).status, 204);
  EXPECT_EQ(download(a, spare).status, 404);
  auto rest = a.http.post("/api/v1/rooms/" + std::to_string(room) + "/messages",
                          json::object{{"client_id", "m-7"}, {"body", "x"}, {"attachments", json::array{spare}}});
  EXPECT_EQ(rest.status, 400) << rest.body;
  // An attached file cannot be discarded on its own, and never by someone else.
  EXPECT_EQ(a.http.del("/api/v1/attachments/" + std::to_string(mine)).status, 403);
  EXPECT_EQ(b.http.del("/api/v1/attachments/" + std::to_string(elsewhere)).status, 404);
}

TEST(Files, OddFilenamesAreHarmlessAndOnlyServerMadeNamesReachTheDisk) {
  auto a = make_user(server());
  auto room = make_room(a, "public");
  struct name_case {
    std::string raw;
    int status;
    std::string stored;
  };
  const std::vector<name_case> cases{
      {"../../etc/passwd", 201, "_.._etc_passwd"},
      {std::string("a\0b.txt", 7), 201, "a_b.txt"},
      {"r\xc3\xa9sum\xc3\xa9 \xe2\x9c\x93.pdf", 201, "r\xc3\xa9sum\xc3\xa9 \xe2\x9c\x93.pdf"},
      {"evil\xe2\x80\xaegnp.exe", 201, "evil_gnp.exe"},  // right-to-left override
      {"..", 400, ""},
      {"", 400, ""},
      {std::string(256, 'x'), 400, ""},
      {"\xff\xfe", 400, ""},
  };
  for (const auto& c : cases) {
    auto res = upload(a, room, "content", c.raw);
    ASSERT_EQ(res.status, c.status) << pct(c.raw) << ": " << res.body;
    if (c.status != 201) continue;
    auto meta = res.json().at("attachment").as_object();
    EXPECT_EQ(meta.at("filename").as_string(), c.stored);
    auto got = download(a, meta.at("id").as_int64());
    auto disposition = got.header("content-disposition");
    EXPECT_EQ(disposition.find('/'), std::string::npos) << disposition;
    EXPECT_EQ(disposition.find("\r"), std::string::npos);
  }
  // Every stored name is 32 hex digits under a 2-digit directory; files 0600, directories 0700.
  for (const auto& path : stored_files(env().keys.store)) {
    auto name = fs::path(path).filename().string();
    EXPECT_TRUE(name.size() == 32 && name.find_first_not_of("0123456789abcdef") == std::string::npos) << path;
    struct stat st{};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u) << path;
  }
  struct stat dir_st{};
  ASSERT_EQ(::stat(env().keys.store.c_str(), &dir_st), 0);
  EXPECT_EQ(dir_st.st_mode & 0777, 0700u);
  EXPECT_FALSE(fs::exists(env().keys.store + "/../etc/passwd"));
  // Paths aimed at the server's config or keys get nothing.
  for (const std::string target :
       {"/api/v1/attachments/..%2f..%2fconfig.toml", "/api/v1/attachments/%2e%2e/master.keys",
        "/api/v1/attachments/1%2f..%2f..%2fsigning.key", "/api/v1/attachments/../../config.toml",
        "/config.toml", "/api/v1/attachments/0"}) {
    auto res = a.http.get(target);
    EXPECT_EQ(res.status, 404) << target;
    EXPECT_EQ(res.body.find("signing"), std::string::npos);
  }
}

TEST(Files, BytesOnDiskAreCiphertextAndAFlippedByteIsCaughtOnDownloadAndByVerify) {
  auto a = make_user(server());
  auto room = make_room(a, "public");
  std::string marker;
  for (int i = 0; i < 20000; ++i) marker += "PLAINTEXT-MARKER-";  // 340 KB, six chunks
  const auto id = upload_ok(a, room, marker);
  const auto small_id = upload_ok(a, room, "PLAINTEXT-MARKER small file");
  for (const auto& path : stored_files(env().keys.store))
    EXPECT_EQ(read_file(path).find("PLAINTEXT-MARKER"), std::string::npos) << path << " holds plaintext";
  auto [rc_ok, out_ok] = ctl_files("verify");
  EXPECT_EQ(rc_ok, 0) << out_ok;

  // One flipped byte in the first chunk: refused before any byte is sent, and audited.
  {
    const auto path = object_path(storage_name_of(small_id));
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(40);
    char c = 0;
    f.read(&c, 1);
    f.seekp(40);
    c = static_cast<char>(c ^ 0x01);
    f.write(&c, 1);
  }
  auto res = download(a, small_id);
  EXPECT_EQ(res.status, 500);
  EXPECT_EQ(error_code(res), "internal");
  EXPECT_EQ(res.body.find("PLAINTEXT"), std::string::npos);
  // A flipped byte in a later chunk: the stream is cut before the damaged chunk is sent.
  {
    const auto path = object_path(storage_name_of(id));
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4 * 65553 + 100);
    char c = 0;
    f.read(&c, 1);
    f.seekp(4 * 65553 + 100);
    c = static_cast<char>(c ^ 0x80);
    f.write(&c, 1);
  }
  bool complete = false;
  try {
    auto cut = download(a, id);
    complete = cut.status == 200 && cut.body == marker;
  } catch (const std::exception&) {
    // the connection was cut mid-body: expected
  }
  EXPECT_FALSE(complete);
  auto audited = sql("SELECT count(*) FROM audit_log WHERE action = 'attachment.integrity_failed' AND target IN "
                     "('attachment:" + std::to_string(id) + "', 'attachment:" + std::to_string(small_id) + "');");
  EXPECT_EQ(trimmed(audited), "2");
  EXPECT_GE(metric("redoubt_attachment_integrity_failures_total"), 2);
  auto [rc, out] = ctl_files("verify");
  EXPECT_EQ(rc, 4) << out;
  EXPECT_NE(out.find("TAMPERED attachment " + std::to_string(id)), std::string::npos) << out;
  EXPECT_NE(out.find("TAMPERED attachment " + std::to_string(small_id)), std::string::npos) << out;
  // A missing file and a file without a row are reported too.
  fs::remove(object_path(storage_name_of(small_id)));
  const auto orphan = env().keys.store + "/objects/ab/ab" + std::string(30, '0');
  fs::create_directories(env().keys.store + "/objects/ab");
  std::ofstream(orphan) << "stray";
  auto [rc2, out2] = ctl_files("verify");
  EXPECT_EQ(rc2, 4);
  EXPECT_NE(out2.find("MISSING attachment " + std::to_string(small_id)), std::string::npos) << out2;
  EXPECT_NE(out2.find("ORPHANED file ab" + std::string(30, '0')), std::string::npos) << out2;
  // Leave the shared store sound for the other tests.
  fs::remove(orphan);
  fs::remove(object_path(storage_name_of(id)));
  sql("DELETE FROM attachments WHERE id IN (" + std::to_string(id) + ", " + std::to_string(small_id) + ");");
}

TEST(Files, QuotaOversizeSlowDripAndAbortedUploadsAreRefusedAndLeaveNothingBehind) {
  auto admin_user = make_user(server(), "admin");
  sql("UPDATE users SET is_admin = true WHERE id = " + std::to_string(admin_user.id) + ";");
  auto& admin = admin_user.http;
  auto a = make_user(server());
  auto room = make_room(a, "public");
  const auto objects_before = stored_files(env().keys.store).size();
  // Quotas are the admins' to set.
  EXPECT_EQ(a.http.put("/api/v1/admin/users/" + std::to_string(a.id) + "/quota", json::object{{"quota_bytes", 1}})
                .status,
            403);
  auto set = admin.put("/api/v1/admin/users/" + std::to_string(a.id) + "/quota", json::object{{"quota_bytes", 100000}});
  ASSERT_EQ(set.status, 200) << set.body;
  upload_ok(a, room, pattern(60000, 1));
  auto over = upload(a, room, pattern(60000, 2));
  EXPECT_EQ(over.status, 507);
  EXPECT_EQ(error_code(over), "quota_exceeded");
  auto mine = a.http.get("/api/v1/me/storage").json().as_object();
  EXPECT_EQ(mine.at("bytes").as_int64(), 60000);
  EXPECT_EQ(mine.at("files").as_int64(), 1);
  EXPECT_EQ(mine.at("quota_bytes").as_int64(), 100000);
  EXPECT_EQ(mine.at("max_file_bytes").as_int64(), static_cast<std::int64_t>(small_max));
  auto all = admin.get("/api/v1/admin/storage");
  ASSERT_EQ(all.status, 200);
  bool listed = false;
  const auto all_json = all.json();
  for (const auto& u : all_json.at("users").as_array())
    if (u.at("user_id").as_int64() == a.id) listed = u.at("bytes").as_int64() == 60000;
  EXPECT_TRUE(listed);
  EXPECT_EQ(a.http.get("/api/v1/admin/storage").status, 403);
  ASSERT_EQ(admin.put("/api/v1/admin/users/" + std::to_string(a.id) + "/quota", json::object{{"quota_bytes", nullptr}})
                .status,
            200);

  const std::string target = "/api/v1/rooms/" + std::to_string(room) + "/attachments?filename=x.bin";
  auto head = [&](std::uint64_t length) {
    return "POST " + target + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/octet-stream\r\nCookie: " +
           a.http.cookie_header() + "\r\nContent-Length: " + std::to_string(length);
  };
  // Slow drip: 1 KiB a second against a 64 KiB/s minimum after a 2 s grace.
  {
    streamed_request slow(a.http, head(1 << 20), std::chrono::seconds(10));
    int status = 0;
    for (int i = 0; i < 8 && slow.write(pattern(1024, i)); ++i) std::this_thread::sleep_for(std::chrono::seconds(1));
    status = slow.response(std::chrono::seconds(10)).status;
    EXPECT_TRUE(status == 408 || status == 0) << status;  // 0: the server closed while we wrote
  }
  // Stalled: half the body, then silence: the server hangs up after upload_stall_timeout_s.
  {
    streamed_request stalled(a.http, head(200000), std::chrono::seconds(10));
    ASSERT_TRUE(stalled.write(pattern(100000, 5)));
    const auto started = std::chrono::steady_clock::now();
    auto res = stalled.response(std::chrono::seconds(10));
    EXPECT_EQ(res.status, 0) << "a stalled upload gets no answer, the connection closes";
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(9)) << "closed by the server, not by us";
  }
  // Aborted: half the body, then the connection drops.
  {
    streamed_request aborted(a.http, head(200000), std::chrono::seconds(10));
    ASSERT_TRUE(aborted.write(pattern(100000, 6)));
    aborted.close();
  }
  // No Content-Length (chunked): refused.
  {
    streamed_request chunked(a.http,
                             "POST " + target + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/octet-stream"
                             "\r\nCookie: " + a.http.cookie_header() + "\r\nTransfer-Encoding: chunked",
                             std::chrono::seconds(10));
    chunked.write("5\r\nhello\r\n0\r\n\r\n");
    EXPECT_EQ(chunked.response(std::chrono::seconds(10)).status, 411);
  }
  // Nothing of any of them remains: no temp file, no stored file, no row.
  for (int i = 0; i < 50 && temp_files(env().keys.store) != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(temp_files(env().keys.store), 0u);
  EXPECT_EQ(stored_files(env().keys.store).size(), objects_before + 1);
  mine = a.http.get("/api/v1/me/storage").json().as_object();
  EXPECT_EQ(mine.at("files").as_int64(), 1);
  EXPECT_EQ(mine.at("bytes").as_int64(), 60000);
  // Operators see them: over quota, slow, stalled, aborted and chunked at least.
  EXPECT_GE(metric("redoubt_attachment_uploads_refused_total"), 5);
  EXPECT_GE(metric("redoubt_attachment_uploads_total"), 1);
}

TEST(Files, RotatingTheMasterKeyRewrapsDataKeysAndFilesStillOpen) {
  auto a = make_user(server());
  auto room = make_room(a, "public");
  const auto bytes = pattern(70000, 12);
  const auto id = upload_ok(a, room, bytes);
  auto [rc, out] = ctl_files("rotate-key");
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("re-wrapped"), std::string::npos) << out;
  const auto keys = read_file(env().keys.master_key_file);
  auto ring = files::key_ring::parse(keys);
  ASSERT_TRUE(ring);
  EXPECT_GE(ring->keys().size(), 2u);
  EXPECT_EQ(trimmed(sql("SELECT count(*) FROM attachments WHERE key_id <> '" + ring->current().id + "';")), "0");
  // The running server learns the new key from the file when it first meets it.
  auto got = download(a, id);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_TRUE(got.body == bytes);
  auto [rc2, out2] = ctl_files("verify");
  EXPECT_EQ(rc2, 0) << out2;
}

TEST(Files, MemoryStaysFlatWhileA256MiBFileStreamsThrough) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "RSS under AddressSanitizer says nothing about the release build";
#endif
  files_setup keys;
  server_options opts;
  opts.extra_toml = keys.toml(300ull << 20, "default_quota_bytes = 1073741824\n");
  server_process big(opts);
  big.start();
  auto a = make_user(big);
  auto room = make_room(a, "public");
  auto rss_peak_kib = [&] {
    std::ifstream status("/proc/" + std::to_string(big.pid()) + "/status");
    std::string line;
    while (std::getline(status, line))
      if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
    return 0L;
  };
  upload_ok(a, room, pattern(1 << 20, 1));  // warm up buffers and pools
  const auto before = rss_peak_kib();
  constexpr std::size_t total = 256u << 20;
  streamed_request up(a.http,
                      "POST /api/v1/rooms/" + std::to_string(room) +
                          "/attachments?filename=big.bin HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
                          "application/octet-stream\r\nCookie: " +
                          a.http.cookie_header() + "\r\nContent-Length: " + std::to_string(total),
                      std::chrono::seconds(60));
  files::sha256_stream hash;
  const auto piece = pattern(1 << 20, 2);
  for (std::size_t sent = 0; sent < total; sent += piece.size()) {
    ASSERT_TRUE(up.write(piece));
    hash.update(piece);
  }
  auto res = up.response(std::chrono::seconds(120));
  ASSERT_EQ(res.status, 201) << res.body;
  const auto after = rss_peak_kib();
  EXPECT_EQ(res.json().at("attachment").at("sha256").as_string(), hash.hex_final());
  // Buffering the body would add 256 MiB; streaming adds at most a few buffers.
  EXPECT_LT(after - before, 48 * 1024) << "peak RSS grew from " << before << " KiB to " << after << " KiB";
  auto tail = a.http.get("/api/v1/attachments/" + std::to_string(res.json().at("attachment").at("id").as_int64()),
                         {{"Range", "bytes=-1048576"}});
  ASSERT_EQ(tail.status, 206);
  EXPECT_TRUE(tail.body == piece);
}

}  // namespace redoubt::test
