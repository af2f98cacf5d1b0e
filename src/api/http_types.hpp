// Transport-neutral HTTP request/response values: net/ fills and sends them, api/ handles
// them; neither side sees the other's types.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "base/errc.hpp"

namespace redoubt::api {

using header_list = std::vector<std::pair<std::string, std::string>>;

struct http_request {
  std::string method;   // "GET", "POST", ...
  std::string target;   // as received: path and query
  std::string path;     // decoded path, no query
  std::string query;    // raw query string without '?'
  header_list headers;  // names lowercase
  std::string body;
  std::string remote_ip;
  std::string request_id;
  std::int64_t user_id = 0;  // set once the session is known, for the request log

  std::string_view header(std::string_view name) const {
    for (const auto& [k, v] : headers)
      if (k == name) return v;
    return {};
  }
};

struct http_response {
  int status = 200;
  std::string content_type = "application/json";
  header_list headers;
  std::string body;
};

// A request body that is streamed instead of buffered (uploads); implemented by net/.
class body_source {
 public:
  virtual ~body_source() = default;
  // Reads the next piece into buf (0 = the body is complete). Errors: deadline_exceeded when
  // nothing arrived within `timeout`, unavailable when the connection failed.
  virtual boost::asio::awaitable<result<std::size_t>> read_some(char* buf, std::size_t len,
                                                                std::chrono::seconds timeout) = 0;
  virtual std::optional<std::uint64_t> content_length() const = 0;
};

// A response sent piece by piece (downloads); implemented by net/. start() adds the headers
// every response carries (a handler's Content-Security-Policy and Cache-Control win).
class body_sink {
 public:
  virtual ~body_sink() = default;
  virtual boost::asio::awaitable<result<void>> start(const http_response& head, std::uint64_t content_length) = 0;
  virtual boost::asio::awaitable<result<void>> write(std::string_view data) = 0;
};

// What a streamed handler did: answered normally (`response`), or streamed the response
// itself; `close` asks for the connection to be closed (an unread body, a cut stream).
struct stream_outcome {
  std::optional<http_response> response;
  bool close = false;
};

// The WebSocket side of one connection as api/ sees it; implemented by net::ws_session.
class ws_link {
 public:
  virtual ~ws_link() = default;
  // Thread-safe. Queues a text frame; false when the bounded send queue is full, in which
  // case the link closes the connection (slow consumer) by itself.
  virtual bool send(std::shared_ptr<const std::string> frame) = 0;
  // Thread-safe. Closes with a WebSocket close code.
  virtual void close(int code, std::string reason) = 0;
};

}  // namespace redoubt::api
