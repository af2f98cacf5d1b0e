#include "support/email_sink.hpp"

#include <condition_variable>
#include <map>
#include <mutex>
#include <stdexcept>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "support/tls_test_listener.hpp"

namespace redoubt::test {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;

struct email_sink::impl {
  std::string api_key;

  mutable std::mutex mutex;
  mutable std::condition_variable changed;
  sink_mode mode = sink_mode::ok;
  std::chrono::milliseconds slow_delay{0};
  std::vector<received_email> accepted;
  std::map<std::string, std::string> answers;  // idempotency key -> provider id
  int requests = 0;
  int repeats = 0;
  int unauthorized = 0;
  int next_id = 1;

  // Last: destroyed (thread stopped) before the state its connections use.
  std::unique_ptr<tls_test_listener> listener;
};

namespace {

constexpr auto token = asio::as_tuple(asio::use_awaitable);

http::response<http::string_body> answer(email_sink::impl& s,
                                         const http::request<http::string_body>& req,
                                         sink_mode& mode_out,
                                         std::chrono::milliseconds& delay_out) {
  http::response<http::string_body> res{http::status::ok, req.version()};
  res.set(http::field::content_type, "application/json");
  std::lock_guard lock(s.mutex);
  ++s.requests;
  mode_out = s.mode;
  delay_out = s.slow_delay;
  if (req.method() != http::verb::post || req.target() != "/v1/send") {
    res.result(http::status::not_found);
    res.body() = R"({"error":"not found"})";
  } else if (req[http::field::authorization] != "Bearer " + s.api_key) {
    ++s.unauthorized;
    res.result(http::status::unauthorized);
    res.body() = R"({"error":"unauthorized"})";
  } else if (s.mode == sink_mode::fail_500) {
    res.result(http::status::internal_server_error);
    res.body() = R"({"error":"induced failure"})";
  } else {
    std::string key(req["Idempotency-Key"]);
    if (auto it = s.answers.find(key); !key.empty() && it != s.answers.end()) {
      ++s.repeats;
      res.body() = json::serialize(json::object{{"id", it->second}, {"repeat", true}});
    } else {
      boost::system::error_code ec;
      auto v = json::parse(req.body(), ec);
      if (ec || !v.is_object()) {
        res.result(http::status::bad_request);
        res.body() = R"({"error":"bad json"})";
      } else {
        auto& o = v.get_object();
        auto str = [&](const char* k) {
          auto* f = o.if_contains(k);
          return f && f->is_string() ? std::string(f->get_string()) : std::string();
        };
        received_email e{key,
                         std::string(req["X-Correlation-Id"]),
                         str("from"),
                         str("to"),
                         str("subject"),
                         str("text"),
                         str("tag")};
        std::string id = "sink-" + std::to_string(s.next_id++);
        if (!key.empty()) s.answers[key] = id;
        s.accepted.push_back(std::move(e));
        res.body() = json::serialize(json::object{{"id", id}});
        s.changed.notify_all();
      }
    }
  }
  res.prepare_payload();
  return res;
}

asio::awaitable<void> serve(email_sink::impl* s, tls_test_listener::stream& stream) {
  beast::flat_buffer buf;
  for (;;) {
    http::request<http::string_body> req;
    stream.next_layer().expires_after(std::chrono::seconds(30));
    auto [rec, n] = co_await http::async_read(stream, buf, req, token);
    if (rec) co_return;
    sink_mode mode;
    std::chrono::milliseconds delay;
    auto res = answer(*s, req, mode, delay);
    if (mode == sink_mode::hang || (mode == sink_mode::slow && delay.count() > 0)) {
      asio::steady_timer t(stream.get_executor());
      t.expires_after(mode == sink_mode::hang ? std::chrono::seconds(20) : delay);
      co_await t.async_wait(token);
      if (mode == sink_mode::hang) co_return;  // never answers
    }
    stream.next_layer().expires_after(std::chrono::seconds(10));
    auto [wec, wn] = co_await http::async_write(stream, res, token);
    if (wec || !req.keep_alive()) co_return;
  }
}

}  // namespace

email_sink::email_sink(std::string api_key) : impl_(std::make_shared<impl>()) {
  impl_->api_key = std::move(api_key);
  impl_->listener = std::make_unique<tls_test_listener>(
      "redoubt-sink-",
      [s = impl_.get()](tls_test_listener::stream& stream) { return serve(s, stream); });
}

email_sink::~email_sink() = default;

std::string email_sink::url() const {
  return "https://localhost:" + std::to_string(impl_->listener->port()) + "/v1/send";
}
const std::string& email_sink::ca_file() const {
  return impl_->listener->ca_file();
}
const std::string& email_sink::dir() const {
  return impl_->listener->dir();
}

void email_sink::set_mode(sink_mode m, std::chrono::milliseconds slow_delay) {
  std::lock_guard lock(impl_->mutex);
  impl_->mode = m;
  impl_->slow_delay = slow_delay;
}

std::vector<received_email> email_sink::emails() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->accepted;
}
int email_sink::requests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->requests;
}
int email_sink::repeats() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->repeats;
}
int email_sink::unauthorized() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->unauthorized;
}

bool email_sink::wait_for(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mutex);
  return impl_->changed.wait_for(lock, timeout, [&] { return impl_->accepted.size() >= n; });
}

std::string token_from_email(const std::string& text) {
  auto at = text.find("#token=");
  if (at == std::string::npos) return {};
  auto start = at + 7;
  auto end = start;
  while (end < text.size() && (std::isalnum(static_cast<unsigned char>(text[end])) ||
                               text[end] == '-' || text[end] == '_'))
    ++end;
  return text.substr(start, end - start);
}

}  // namespace redoubt::test
