// Jobs/s through the whole background path: outbox rows -> relay (signed envelopes, JetStream
// publish acks) -> redoubt-worker (verify, dedup, record) -> HTTPS email provider (a local sink,
// TLS 1.3). Starts its own PostgreSQL, nats-server, redoubt-server, redoubt-worker and sink.
//
// usage: jobs_throughput [jobs=2000] [worker_concurrency=8]
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "support/email_sink.hpp"
#include "support/nats_server.hpp"
#include "support/process_util.hpp"
#include "support/server_process.hpp"
#include "support/worker_process.hpp"

using namespace redoubt::test;

namespace {
std::string psql(const std::string& sql) { return pg_cluster::shared().superuser_psql(sql); }
long long count(const std::string& sql) { return std::stoll(psql(sql)); }
}  // namespace

int main(int argc, char** argv) {
  const int jobs = argc > 1 ? std::stoi(argv[1]) : 2000;
  const int concurrency = argc > 2 ? std::stoi(argv[2]) : 8;
  ensure_migrated();
  auto& nats = nats_server::shared();
  auto dir = make_temp_dir("redoubt-jobsbench-");
  auto [rc, out] = run_program({REDOUBTCTL_BIN, "keygen-signing", dir + "/signing.key", dir + "/signing.pub"});
  if (rc != 0) {
    std::fprintf(stderr, "keygen failed: %s\n", out.c_str());
    return 1;
  }
  const std::string api_key = "bench-api-key-0123456789abcdef0123456789";
  write_secret_file(dir + "/nats.pass", nats.password(nats_role::server));
  write_secret_file(dir + "/sink.key", api_key);
  email_sink sink(api_key);

  server_options so;
  so.extra_toml = "[nats]\nurl = " + quote_toml(nats.url()) + "\nuser = \"redoubt_server\"\npassword_file = " +
                  quote_toml(dir + "/nats.pass") + "\nca_file = " + quote_toml(nats.ca_file()) +
                  "\ncluster_key_file = " + quote_toml(nats.cluster_key_file()) + "\n[jobs]\nsigning_key_file = " + quote_toml(dir + "/signing.key") + "\nrelay_batch = 500\n";
  server_process server(so);
  server.start();
  worker_options wo;
  wo.nats_url = nats.url();
  wo.nats_password = nats.password(nats_role::worker);
  wo.nats_ca_file = nats.ca_file();
  wo.verify_key_files = {dir + "/signing.pub"};
  wo.extra_worker_toml = "concurrency = " + std::to_string(concurrency) + "\nfetch_batch = 64\n";
  wo.log_level = "warn";
  wo.email_toml = "[email]\nprovider = \"https\"\nhttps_url = " + quote_toml(sink.url()) + "\napi_key_file = " +
                  quote_toml(dir + "/sink.key") + "\nca_file = " + quote_toml(sink.ca_file()) +
                  "\nfrom_address = \"bench@example.test\"\nper_recipient_per_hour = 100000\nglobal_per_second = 100000\n";
  worker_process worker(wo);
  worker.start();

  // 100 unverified users; the jobs go to them round robin (each job is its own email).
  psql("INSERT INTO users (username, email, password_hash) SELECT 'jb' || g, 'jb' || g || '@example.test', 'x' "
       "FROM generate_series(1, 100) g ON CONFLICT DO NOTHING");
  auto first_user = count("SELECT min(id) FROM users WHERE username LIKE 'jb%'");
  auto done_before = count("SELECT count(*) FROM processed_jobs");
  auto start = std::chrono::steady_clock::now();
  psql("INSERT INTO outbox (kind, payload, correlation_id) SELECT 'verify_email', jsonb_build_object('user_id', " +
       std::to_string(first_user) + " + g % 100), 'bench-' || g FROM generate_series(1, " + std::to_string(jobs) +
       ") g");
  long long done = 0;
  while (done < jobs) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    done = count("SELECT count(*) FROM processed_jobs") - done_before;
    if (std::chrono::steady_clock::now() - start > std::chrono::minutes(5)) break;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("jobs_throughput: %lld of %d jobs done in %.2f s = %.0f jobs/s (worker concurrency %d); sink accepted %zu, "
              "repeats %d\n",
              done, jobs, secs, done / secs, concurrency, sink.emails().size(), sink.repeats());
  return done == jobs ? 0 : 1;
}
