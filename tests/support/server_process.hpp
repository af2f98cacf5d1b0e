// A real redoubt-server process for integration tests: own temp dir, dev TLS certificates,
// config file pointing at the shared test PostgreSQL cluster (app role), log file.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "support/child_process.hpp"
#include "support/pg_cluster.hpp"
#include "support/tls_client.hpp"

namespace redoubt::test {

struct server_options {
  unsigned short port = 0;  // 0 = pick a free one
  int threads = 2;
  std::string extra_toml;  // appended verbatim, e.g. "[limits]\nmax_body_bytes = 1024\n"
  std::string auth_toml;   // keys added to the harness's own [auth] table, e.g. "login_failures_per_minute = 3\n"
  // Added after "https://localhost:<port>" (always allowed).
  std::vector<std::string> allowed_origins = {"https://localhost"};
  std::string web_root;  // server.web_root when non-empty
  // Writes <dir>/metrics.token (0600) and sets server.metrics_token_file (false: /metrics is
  // not exposed).
  bool metrics_token = true;
  // Rewrites the app role's conninfo (e.g. into a multi-host list) before it is written.
  std::function<std::string(const std::string&)> conninfo_rewrite;
};

class server_process {
 public:
  // Creates the temp dir (0700) with tls/ (scripts/dev-tls.sh), config.toml and db.pass (0600).
  // Does not run the server until start(). Set REDOUBT_KEEP_TEST_DIRS=1 to keep the dir.
  explicit server_process(server_options opts = {});
  ~server_process();  // SIGTERM, wait, then SIGKILL; removes the temp dir
  server_process(const server_process&) = delete;
  server_process& operator=(const server_process&) = delete;

  // Runs REDOUBT_SERVER_BIN --config <dir>/config.toml (stdout+stderr appended to
  // <dir>/server.log) and waits until GET /healthz answers 200 (up to 20 s). Throws with the log
  // tail if the process exits or does not get healthy. May be called again after stop()/kill9().
  void start();
  void kill9();  // SIGKILL + reap
  void stop();   // SIGTERM + wait (10 s, then SIGKILL)
  bool running() const;
  pid_t pid() const;  // -1 when not started / reaped
  // Decoded status of the last reaped process: exit code, or -signal number if killed.
  std::optional<int> exit_status() const;
  // Waits up to timeout for the process to exit by itself; returns exit_status() if it did.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);

  unsigned short port() const;
  const std::string& ca_file() const;
  const std::string& dir() const;
  const std::string& config_path() const;
  std::string origin() const;  // "https://localhost:<port>"
  std::string log() const;     // contents of server.log

  https_client client() const;  // a new client for this server (host "localhost")
  // The bearer token of GET /metrics ("" when server_options::metrics_token is false), the
  // header that carries it, and the metrics text fetched with it (throws unless 200).
  const std::string& metrics_token() const;
  header_list metrics_auth() const;
  std::string metrics() const;
  ws_client ws(const std::string& cookie_header,
               std::optional<std::string> origin = std::nullopt) const;

 private:
  server_options opts_;
  temp_dir dir_;
  std::string ca_file_;
  std::string config_path_;
  std::string log_path_;
  std::string metrics_token_;
  child_process process_;  // declared after dir_: stopped before the directory goes
};

// Runs `REDOUBTCTL_BIN --config <owner config> migrate` once per process (std::call_once)
// against pg_cluster::shared(); throws with the output on failure (and retries next call).
void ensure_migrated();

// Runs redoubtctl with args and a config for the given role; returns {exit code, stdout+stderr}.
// Exit code is -signal if it was killed by a signal.
std::pair<int, std::string> run_ctl(const std::vector<std::string>& args,
                                    pg_role role = pg_role::owner);
// The config file run_ctl passes for that role (to run redoubtctl some other way).
std::string ctl_config(pg_role role = pg_role::owner);
// GET /metrics with the server's bearer token, through `client` (another source address, say).
http_response get_metrics(https_client& client, const std::string& token);

// Helpers shared with other harness code.
void write_secret_file(const std::string& path, std::string_view content);  // 0600
std::string quote_toml(std::string_view s);                                 // TOML basic string
struct db_settings_text {
  std::string conninfo;
  std::string password;
};
db_settings_text database_for(pg_role role);  // the shared test cluster, as that role
unsigned short pick_free_port();
// Runs argv without a shell (run_command); returns {exit code or -signal, stdout+stderr}.
std::pair<int, std::string> run_program(
    const std::vector<std::string>& argv,
    std::chrono::milliseconds timeout = std::chrono::seconds(120));

}  // namespace redoubt::test
