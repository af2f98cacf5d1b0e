#include "db/pg.hpp"

#include "db/pg_internal.hpp"

namespace redoubt::db {

// ---------------------------------------------------------------------------------------------
// rows

rows::rows(std::shared_ptr<pg_result> res) : res_(std::move(res)) {}

int rows::size() const noexcept {
  return res_ ? PQntuples(res_.get()) : 0;
}

int rows::columns() const noexcept {
  return res_ ? PQnfields(res_.get()) : 0;
}

int rows::column(std::string_view name) const noexcept {
  // Exact match: PQfnumber would case-fold and parse quotes.
  for (int i = 0; i < columns(); ++i) {
    if (const char* n = PQfname(res_.get(), i); n && name == n) return i;
  }
  return -1;
}

bool rows::is_null(int row, int col) const noexcept {
  return !res_ || PQgetisnull(res_.get(), row, col) != 0;
}

std::string_view rows::text(int row, int col) const noexcept {
  if (!res_) return {};
  const char* v = PQgetvalue(res_.get(), row, col);
  if (!v) return {};
  return {v, static_cast<std::size_t>(PQgetlength(res_.get(), row, col))};
}

std::int64_t rows::int64(int row, int col) const {
  auto t = text(row, col);
  std::int64_t v = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc{} || ptr != t.data() + t.size() || t.empty()) {
    throw std::runtime_error("db: column is not an int64");
  }
  return v;
}

bool rows::boolean(int row, int col) const noexcept {
  return text(row, col) == "t";
}

std::int64_t rows::affected() const noexcept {
  if (!res_) return 0;
  std::string_view t = PQcmdTuples(res_.get());
  std::int64_t v = 0;
  std::from_chars(t.data(), t.data() + t.size(), v);
  return v;
}

// ---------------------------------------------------------------------------------------------
// connection


connection::connection(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
connection::~connection() = default;

bool connection::healthy() const noexcept {
  return impl_ && impl_->healthy;
}

awaitable<result<std::unique_ptr<connection>>> connection::connect(
    boost::asio::any_io_executor ex, const database_settings& settings) {
  char* parse_error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(settings.conninfo.c_str(), &parse_error);
  if (!parsed) {
    if (parse_error) PQfreemem(parse_error);
    co_return make_error(errc::invalid_argument, "invalid database conninfo");
  }
  std::vector<std::pair<std::string, std::string>> kv;
  for (auto* o = parsed; o->keyword; ++o) {
    if (o->val) kv.emplace_back(o->keyword, o->val);
  }
  PQconninfoFree(parsed);

  auto find = [&](std::string_view key) -> std::string* {
    for (auto& [k, v] : kv) {
      if (k == key) return &v;
    }
    return nullptr;
  };
  auto set = [&](std::string_view key, std::string value) {
    if (auto* v = find(key)) {
      wipe(*v);
      *v = std::move(value);
    } else {
      kv.emplace_back(std::string(key), std::move(value));
    }
  };
  if (!settings.password.empty()) set("password", settings.password.reveal());
  if (!find("ssl_min_protocol_version")) set("ssl_min_protocol_version", "TLSv1.3");
  if (!find("application_name")) set("application_name", "redoubt");
  auto secs = std::max<long long>(
      2, std::chrono::ceil<std::chrono::seconds>(settings.connect_timeout).count());
  set("connect_timeout", std::to_string(secs));
  std::string options =
      "-c statement_timeout=" + std::to_string(settings.statement_timeout.count()) +
      " -c idle_in_transaction_session_timeout=" +
      std::to_string(settings.idle_in_transaction_timeout.count());
  if (auto* o = find("options")) options = *o + " " + options;
  set("options", std::move(options));

  std::vector<const char*> keys, values;
  for (auto& [k, v] : kv) {
    keys.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* raw = PQconnectStartParams(keys.data(), values.data(), 0);
  for (auto& [k, v] : kv) wipe(v);
  if (!raw) co_return make_error(errc::resource_exhausted, "out of memory");

  auto guard = std::chrono::duration_cast<clock::duration>(settings.statement_timeout +
                                                           settings.connect_timeout);
  auto p = std::make_unique<impl>(ex, guard);
  p->conn = raw;
  auto fail = [&](std::string_view why) {
    log::warn("db_connect_failed", {{"reason", why}, {"error", trimmed(PQerrorMessage(raw))}});
    return unavailable("database unavailable");
  };
  if (PQstatus(raw) == CONNECTION_BAD) co_return fail("start");

  auto deadline = clock::now() + settings.connect_timeout;
  // Before the first poll, behave as if libpq asked for writability.
  PostgresPollingStatusType st = PGRES_POLLING_WRITING;
  while (st != PGRES_POLLING_OK) {
    if (st == PGRES_POLLING_FAILED) co_return fail("poll");
    // The socket may change between polls (next address, SSL/GSS retry): register it anew.
    if (!p->attach()) co_return fail("socket");
    auto w = co_await p->wait(st == PGRES_POLLING_READING, st != PGRES_POLLING_READING, deadline);
    if (w == readiness::timeout) {
      log::warn("db_connect_failed", {{"reason", "timeout"}});
      co_return unavailable("database unavailable: connect timed out");
    }
    if (w == readiness::failed) co_return fail("wait");
    st = PQconnectPoll(raw);
  }
  if (PQsetnonblocking(raw, 1) != 0 || !p->attach()) co_return fail("nonblocking");
  co_return std::unique_ptr<connection>(new connection(std::move(p)));
}

namespace {

std::vector<const char*> c_params(const params& args) {
  std::vector<const char*> out;
  out.reserve(args.size());
  for (auto& a : args) out.push_back(a ? a->c_str() : nullptr);
  return out;
}

}  // namespace

awaitable<result<rows>> connection::query(std::string_view sql, const params& args) {
  auto& c = *impl_;
  if (!c.healthy) co_return unavailable("database connection lost");
  std::string text(sql);
  auto values = c_params(args);
  if (!PQsendQueryParams(c.conn, text.c_str(), static_cast<int>(values.size()), nullptr,
                         values.data(), nullptr, nullptr, 0)) {
    co_return c.lost("send");
  }
  auto deadline = c.deadline();
  if (auto f = co_await c.flush(deadline); !f) co_return f.error();
  co_return co_await c.collect(deadline);
}

awaitable<result<void>> connection::execute(std::string_view sql) {
  auto& c = *impl_;
  if (!c.healthy) co_return unavailable("database connection lost");
  std::string text(sql);
  if (!PQsendQuery(c.conn, text.c_str())) co_return c.lost("send");
  auto deadline = c.deadline();
  if (auto f = co_await c.flush(deadline); !f) co_return f.error();
  auto r = co_await c.collect(deadline);
  if (!r) co_return r.error();
  co_return result<void>{};
}

awaitable<result<std::vector<rows>>> connection::pipeline(std::span<const statement> statements) {
  auto& c = *impl_;
  if (!c.healthy) co_return unavailable("database connection lost");
  std::vector<rows> out(statements.size());
  if (statements.empty()) co_return out;
  if (!PQenterPipelineMode(c.conn)) co_return make_error(errc::internal, "pipeline mode refused");
  for (auto& st : statements) {
    std::string text(st.sql);
    auto values = c_params(st.args);
    if (!PQsendQueryParams(c.conn, text.c_str(), static_cast<int>(values.size()), nullptr,
                           values.data(), nullptr, nullptr, 0)) {
      co_return c.lost("pipeline send");
    }
  }
  if (!PQpipelineSync(c.conn)) co_return c.lost("pipeline sync");
  auto deadline = c.deadline();
  if (auto f = co_await c.flush(deadline); !f) co_return f.error();

  std::optional<error> failure;
  for (std::size_t i = 0; i < statements.size(); ++i) {
    if (auto read = co_await c.read_results(deadline, out[i], failure); !read)
      co_return read.error();
  }
  auto sync = co_await c.next_result(deadline);
  if (!sync) co_return sync.error();
  if (!*sync) {
    c.healthy = false;
    co_return make_error(errc::internal, "pipeline sync missing");
  }
  auto sync_res = own(*sync);
  if (PQresultStatus(sync_res.get()) != PGRES_PIPELINE_SYNC) {
    c.healthy = false;
    co_return make_error(errc::internal, "pipeline sync missing");
  }
  if (!PQexitPipelineMode(c.conn)) {
    c.healthy = false;
    co_return make_error(errc::internal, "pipeline exit refused");
  }
  if (PQstatus(c.conn) == CONNECTION_BAD) co_return c.lost("pipeline");
  if (failure) {
    auto ts = PQtransactionStatus(c.conn);
    if (ts == PQTRANS_INERROR || ts == PQTRANS_INTRANS) {
      if (auto rb = co_await execute("ROLLBACK"); !rb) c.healthy = false;
    }
    co_return std::move(*failure);
  }
  co_return out;
}

// ---------------------------------------------------------------------------------------------

errc errc_from_sqlstate(std::string_view s) noexcept {
  auto cls = s.substr(0, 2);
  if (s == "23505") return errc::already_exists;
  if (s == "23503" || s == "23502" || s == "23514" || cls == "22") return errc::invalid_argument;
  if (s == "57014") return errc::deadline_exceeded;
  if (s == "25P03") return errc::deadline_exceeded;  // idle_in_transaction_session_timeout
  if (cls == "08" || cls == "53" || s == "57P01" || s == "57P02" || s == "57P03") {
    return errc::unavailable;
  }
  if (s == "40001" || s == "40P01") return errc::conflict;
  if (s == "42501") return errc::permission_denied;
  if (cls == "28") return errc::unauthenticated;
  return errc::internal;
}

result<void> check_conninfo_security(const std::string& conninfo) {
  char* parse_error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(conninfo.c_str(), &parse_error);
  if (!parsed) {
    if (parse_error) PQfreemem(parse_error);
    return make_error(errc::invalid_argument, "database.conninfo does not parse");
  }
  std::string host, hostaddr, sslmode, min_tls;
  bool has_password = false;
  for (auto* o = parsed; o->keyword; ++o) {
    if (!o->val) continue;
    std::string_view k = o->keyword;
    if (k == "host") host = o->val;
    if (k == "hostaddr") hostaddr = o->val;
    if (k == "sslmode") sslmode = o->val;
    if (k == "ssl_min_protocol_version") min_tls = o->val;
    if (k == "password" && *o->val) has_password = true;
  }
  PQconninfoFree(parsed);
  if (has_password)
    return make_error(errc::invalid_argument, "database.conninfo must not contain a password; use database.password_file");
  // No host and no hostaddr: libpq's default Unix socket. Otherwise any entry of the
  // comma-separated list that is not a path is a TCP host.
  bool tcp = !hostaddr.empty();
  std::string_view rest = host;
  while (!tcp && !rest.empty()) {
    auto comma = rest.find(',');
    auto entry = rest.substr(0, comma);
    if (entry.empty() || entry.front() != '/') tcp = true;
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  if (tcp && sslmode != "verify-full")
    return make_error(errc::invalid_argument,
                      "database.conninfo must set sslmode=verify-full for a TCP host (TLS with the server's "
                      "certificate and host name checked)");
  if (!min_tls.empty() && min_tls != "TLSv1.3")
    return make_error(errc::invalid_argument, "database.conninfo: ssl_min_protocol_version may only be TLSv1.3");
  return {};
}

}  // namespace redoubt::db
