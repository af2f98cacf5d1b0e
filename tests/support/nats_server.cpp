#include "support/process_util.hpp"
#include "support/nats_server.hpp"

#include "queue/jobs_admin.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>

extern char** environ;

namespace redoubt::test {
namespace {

// Runs argv (no shell, stdin from /dev/null, output passes through) and returns its status.
int run(const std::vector<std::string>& argv) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error("cannot run " + argv[0] + ": " + std::strerror(rc));
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}


const char* role_name(nats_role r) {
  switch (r) {
    case nats_role::server:
      return "server";
    case nats_role::worker:
      return "worker";
    case nats_role::admin:
      return "admin";
  }
  return "server";
}

void check(natsStatus s, const char* what) {
  if (s != NATS_OK) {
    const char* detail = nats_GetLastError(nullptr);
    throw std::runtime_error(std::string(what) + ": " + natsStatus_GetText(s) + " (" +
                             (detail ? detail : "") + ")");
  }
}

}  // namespace

int nats_server::ack_wait_seconds = 30;

nats_server& nats_server::shared() {
  // Destroyed at exit: the broker is stopped and its directory removed.
  static nats_server instance;
  return instance;
}

nats_server::nats_server() {
  dir_ = make_temp_dir("redoubt-nats-");
  port_ = free_local_port();
  ca_file_ = dir_ + "/tls/ca.crt";
  try {
    script("nats-config.sh", {dir_, std::to_string(port_)});
    script("nats-server.sh", {"start", dir_});
    create_jobs_stream();
  } catch (...) {
    try {
      script("nats-server.sh", {"stop", dir_});
    } catch (...) {
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    throw;
  }
}

nats_server::~nats_server() {
  try {
    script("nats-server.sh", {"stop", dir_});
  } catch (...) {
    // Best effort at exit.
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void nats_server::script(const std::string& name, const std::vector<std::string>& args) const {
  std::vector<std::string> argv{std::string(REDOUBT_SOURCE_DIR) + "/scripts/" + name};
  argv.insert(argv.end(), args.begin(), args.end());
  int status = run(argv);
  if (status != 0) {
    throw std::runtime_error(name + " " + args.at(0) + " failed: " + std::to_string(status));
  }
}

void nats_server::stop() {
  script("nats-server.sh", {"stop", dir_});
}
void nats_server::start() {
  script("nats-server.sh", {"start", dir_});
}

const char* nats_server::user(nats_role role) {
  switch (role) {
    case nats_role::server:
      return "redoubt_server";
    case nats_role::worker:
      return "redoubt_worker";
    case nats_role::admin:
      return "redoubt_admin";
  }
  return "redoubt_server";
}

const char* nats_server::inbox_prefix(nats_role role) {
  switch (role) {
    case nats_role::server:
      return "_INBOX.server";
    case nats_role::worker:
      return "_INBOX.worker";
    case nats_role::admin:
      return "_INBOX.admin";
  }
  return "_INBOX.server";
}

std::string nats_server::password(nats_role role) const {
  std::string path = dir_ + "/secrets/" + role_name(role) + ".pass";
  std::ifstream in(path);
  std::string s;
  if (!in || !std::getline(in, s)) throw std::runtime_error("cannot read " + path);
  return s;
}

void nats_server::set_password(nats_role role, const std::string& password) {
  std::string path = dir_ + "/secrets/" + role_name(role) + ".pass";
  {
    std::ofstream out(path, std::ios::trunc);
    out << password << "\n";
    if (!out) throw std::runtime_error("cannot write " + path);
  }
  script("nats-config.sh", {dir_, std::to_string(port_)});
}

natsOptions* nats_server::options(nats_role role) const {
  natsOptions* opts = nullptr;
  check(natsOptions_Create(&opts), "natsOptions_Create");
  std::unique_ptr<natsOptions, decltype(&natsOptions_Destroy)> guard(opts, natsOptions_Destroy);
  std::string u = url();
  std::string pw = password(role);
  check(natsOptions_SetURL(opts, u.c_str()), "natsOptions_SetURL");
  check(natsOptions_SetSecure(opts, true), "natsOptions_SetSecure");
  check(natsOptions_LoadCATrustedCertificates(opts, ca_file_.c_str()),
        "natsOptions_LoadCATrustedCertificates");
  check(natsOptions_SetExpectedHostname(opts, "localhost"), "natsOptions_SetExpectedHostname");
  check(natsOptions_SetUserInfo(opts, user(role), pw.c_str()), "natsOptions_SetUserInfo");
  check(natsOptions_SetCustomInboxPrefix(opts, inbox_prefix(role)),
        "natsOptions_SetCustomInboxPrefix");
  check(natsOptions_SetTimeout(opts, 2000), "natsOptions_SetTimeout");
  check(natsOptions_SetAllowReconnect(opts, false), "natsOptions_SetAllowReconnect");
  return guard.release();
}

std::uint64_t nats_server::set_jobs_stream_max_msgs(std::int64_t max_msgs) const {
  std::unique_ptr<natsOptions, decltype(&natsOptions_Destroy)> opts(options(nats_role::admin), natsOptions_Destroy);
  natsConnection* raw_nc = nullptr;
  check(natsConnection_Connect(&raw_nc, opts.get()), "connect as admin");
  std::unique_ptr<natsConnection, decltype(&natsConnection_Destroy)> nc(raw_nc, natsConnection_Destroy);
  jsCtx* raw_js = nullptr;
  check(natsConnection_JetStream(&raw_js, nc.get(), nullptr), "jetstream");
  std::unique_ptr<jsCtx, decltype(&jsCtx_Destroy)> js(raw_js, jsCtx_Destroy);
  jsStreamInfo* si = nullptr;
  check(js_GetStreamInfo(&si, js.get(), "JOBS", nullptr, nullptr), "stream info JOBS");
  std::unique_ptr<jsStreamInfo, decltype(&jsStreamInfo_Destroy)> info(si, jsStreamInfo_Destroy);
  jsStreamConfig changed = *info->Config;  // shallow: the strings stay owned by `info`
  changed.MaxMsgs = max_msgs;
  jsStreamInfo* updated = nullptr;
  check(js_UpdateStream(&updated, js.get(), &changed, nullptr, nullptr), "update stream JOBS");
  std::uint64_t msgs = updated->State.Msgs;
  jsStreamInfo_Destroy(updated);
  return msgs;
}

void nats_server::create_jobs_stream() const {
  queue::admin_connection c;
  c.url = url();
  c.password = secret_string(password(nats_role::admin));
  c.ca_file = ca_file_;
  c.expected_hostname = "localhost";
  auto ok = queue::setup_jobs_stream(c, 5, ack_wait_seconds);
  if (!ok) throw std::runtime_error("create stream JOBS: " + ok.error().message);
}

}  // namespace redoubt::test
