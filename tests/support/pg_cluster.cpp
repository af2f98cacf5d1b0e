#include "support/pg_cluster.hpp"

#include <pwd.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "support/child_process.hpp"
#include "support/process_util.hpp"

namespace redoubt::test {
namespace {

std::string read_secret(const std::string& path) {
  std::ifstream in(path);
  std::string s;
  if (!in || !std::getline(in, s)) throw std::runtime_error("cannot read " + path);
  return s;
}

const char* role_name(pg_role r) {
  switch (r) {
    case pg_role::owner:
      return "owner";
    case pg_role::app:
      return "app";
    case pg_role::worker:
      return "worker";
  }
  return "app";
}

std::string script_path() {
  return std::string(REDOUBT_SOURCE_DIR) + "/scripts/pg-cluster.sh";
}

}  // namespace

pg_cluster& pg_cluster::shared() {
  // Destroyed at exit: the cluster is stopped and its directory removed.
  static pg_cluster instance;
  return instance;
}

pg_cluster::pg_cluster() : dir_(std::make_unique<temp_dir>("redoubt-pg-")) {
  port_ = free_local_port();
  ca_file_ = dir_->file("tls/ca.crt");
  script({"init", dir_->path(), std::to_string(port_)});
}

pg_cluster::~pg_cluster() {
  try {
    script({"stop", dir_->path()});
  } catch (...) {
    // Best effort at exit.
  }
}

const std::string& pg_cluster::dir() const {
  return dir_->path();
}

// The postmaster is pg_ctl's child, not ours: it must run as the cluster owner (postgres when we
// are root) and is shut down with pg_ctl's fast mode, so the script starts and stops it.
void pg_cluster::script(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{script_path()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = run_command(argv);
  if (r.status != 0) {
    throw std::runtime_error("pg-cluster.sh " + args.at(0) + " failed (" +
                             describe_exit_status(r.status) + "): " + tail_of(r.output));
  }
}

void pg_cluster::stop() {
  script({"stop", dir_->path()});
}

void pg_cluster::start() {
  script({"start", dir_->path()});
}

database_settings pg_cluster::settings(pg_role role) const {
  database_settings s;
  std::string name = role_name(role);
  s.conninfo = "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=redoubt user=redoubt_" +
               name + " sslmode=verify-full sslrootcert=" + ca_file_;
  s.password = secret_string(read_secret(dir_->file("secrets/") + name + ".pass"));
  s.pool_size = 4;
  return s;
}

std::string pg_cluster::superuser_psql(const std::string& sql, const std::string& dbname) const {
  std::vector<std::string> argv;
  std::string user;
  if (geteuid() == 0) {
    // Peer authentication: the superuser is the OS account that owns the cluster.
    user = "postgres";
    argv = {"setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"};
  } else {
    passwd* pw = getpwuid(geteuid());
    if (!pw) throw std::runtime_error("unknown current user");
    user = pw->pw_name;
  }
  std::vector<std::string> psql{"/usr/lib/postgresql/15/bin/psql",
                                "-X",
                                "-q",
                                "-A",
                                "-t",
                                "-v",
                                "ON_ERROR_STOP=1",
                                "-h",
                                dir_->file("run"),
                                "-p",
                                std::to_string(port_),
                                "-U",
                                user,
                                "-d",
                                dbname,
                                "-f",
                                "-"};
  if (!std::filesystem::exists(psql[0])) psql[0] = "psql";
  argv.insert(argv.end(), psql.begin(), psql.end());
  command_options opts;
  opts.input = sql;
  opts.capture_stderr = false;  // notices and errors go to the test log, not into the result
  auto r = run_command(argv, opts);
  if (r.status != 0)
    throw std::runtime_error("psql failed (" + describe_exit_status(r.status) + ")");
  return r.output;
}

}  // namespace redoubt::test
