// Transport-neutral HTTP request/response values: net/ fills and sends them, api/ handles
// them; neither side sees the other's types.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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
