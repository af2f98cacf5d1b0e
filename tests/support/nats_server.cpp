#include "support/nats_server.hpp"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>

#include "crypto/crypto.hpp"
#include "queue/jobs_admin.hpp"
#include "support/process_util.hpp"

namespace redoubt::test {
namespace {

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

nats_server::nats_server() : dir_("redoubt-nats-"), process_("nats-server") {
  port_ = free_local_port();
  ca_file_ = dir_.file("tls/ca.crt");
  write_config();
  start();
  create_jobs_stream();
}

nats_server::~nats_server() = default;

// scripts/nats-config.sh: dev TLS, one password per role (kept if present), nats.conf with
// bcrypt hashes and subject permissions. The passwords never appear on a command line.
void nats_server::write_config() const {
  auto r = run_command({std::string(REDOUBT_SOURCE_DIR) + "/scripts/nats-config.sh", dir_.path(),
                        std::to_string(port_)});
  if (r.status != 0) throw std::runtime_error("nats-config.sh failed: " + r.output);
}

void nats_server::stop() {
  process_.stop(std::chrono::seconds(10));
}

// Ready once the admin user completes a TLS connection (certificate checked against the CA).
void nats_server::start() {
  if (process_.running()) return;
  process_.start({"nats-server", "-c", dir_.file("nats.conf")}, dir_.file("nats.log"));
  process_.wait_ready(
      [this](std::string& why_not) {
        std::unique_ptr<natsOptions, decltype(&natsOptions_Destroy)> opts(options(nats_role::admin),
                                                                          natsOptions_Destroy);
        natsConnection* nc = nullptr;
        natsStatus s = natsConnection_Connect(&nc, opts.get());
        if (nc != nullptr) natsConnection_Destroy(nc);
        why_not = natsStatus_GetText(s);
        return s == NATS_OK;
      },
      std::chrono::seconds(15), std::chrono::milliseconds(100));
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
  std::string path = dir_.path() + "/secrets/" + role_name(role) + ".pass";
  std::ifstream in(path);
  std::string s;
  if (!in || !std::getline(in, s)) throw std::runtime_error("cannot read " + path);
  return s;
}

std::string nats_server::cluster_key_file() const {
  const std::string path = dir_.path() + "/cluster.key";
  if (!std::filesystem::exists(path)) {
    std::ofstream(path) << crypto::random_hex(32) << "\n";
    std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  }
  return path;
}

void nats_server::set_password(nats_role role, const std::string& password) {
  std::string path = dir_.path() + "/secrets/" + role_name(role) + ".pass";
  {
    std::ofstream out(path, std::ios::trunc);
    out << password << "\n";
    if (!out) throw std::runtime_error("cannot write " + path);
  }
  write_config();
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
  std::unique_ptr<natsOptions, decltype(&natsOptions_Destroy)> opts(options(nats_role::admin),
                                                                    natsOptions_Destroy);
  natsConnection* raw_nc = nullptr;
  check(natsConnection_Connect(&raw_nc, opts.get()), "connect as admin");
  std::unique_ptr<natsConnection, decltype(&natsConnection_Destroy)> nc(raw_nc,
                                                                        natsConnection_Destroy);
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
