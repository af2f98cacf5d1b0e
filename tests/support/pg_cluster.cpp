#include "support/process_util.hpp"
#include "support/pg_cluster.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace redoubt::test {
namespace {

struct command_result {
  int status = -1;
  std::string out;
};

// Runs argv (no shell) with `input` on stdin; stdout is captured, stderr passes through.
command_result run(const std::vector<std::string>& argv, const std::string& input = {}) {
  int in_pipe[2], out_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_pipe[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(in_pipe[0]);
  close(out_pipe[1]);
  if (rc != 0) {
    close(in_pipe[1]);
    close(out_pipe[0]);
    throw std::runtime_error("cannot run " + argv[0] + ": " + std::strerror(rc));
  }
  // Inputs are small SQL scripts: writing them first cannot fill the output pipe.
  std::thread writer([fd = in_pipe[1], &input] {
    std::size_t off = 0;
    while (off < input.size()) {
      ssize_t n = ::write(fd, input.data() + off, input.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
    close(fd);
  });
  command_result res;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(out_pipe[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    res.out.append(buf, static_cast<std::size_t>(n));
  }
  close(out_pipe[0]);
  writer.join();
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  res.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return res;
}


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

pg_cluster::pg_cluster() {
  dir_ = make_temp_dir("redoubt-pg-");
  port_ = free_local_port();
  ca_file_ = dir_ + "/tls/ca.crt";
  try {
    script({"init", dir_, std::to_string(port_)});
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    throw;
  }
}

pg_cluster::~pg_cluster() {
  try {
    script({"stop", dir_});
  } catch (...) {
    // Best effort at exit.
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void pg_cluster::script(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{script_path()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = run(argv);
  if (r.status != 0) {
    throw std::runtime_error("pg-cluster.sh " + args.at(0) +
                             " failed: " + std::to_string(r.status));
  }
}

void pg_cluster::stop() {
  script({"stop", dir_});
}
void pg_cluster::start() {
  script({"start", dir_});
}

database_settings pg_cluster::settings(pg_role role) const {
  database_settings s;
  std::string name = role_name(role);
  s.conninfo = "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=redoubt user=redoubt_" +
               name + " sslmode=verify-full sslrootcert=" + ca_file_;
  s.password = secret_string(read_secret(dir_ + "/secrets/" + name + ".pass"));
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
                                dir_ + "/run",
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
  auto r = run(argv, sql);
  if (r.status != 0) throw std::runtime_error("psql failed (" + std::to_string(r.status) + ")");
  return r.out;
}

}  // namespace redoubt::test
