// Synchronous TLS 1.3 HTTP and WebSocket clients for the integration tests.
// They verify the server certificate against a given CA file (host name checked, SNI set).
// Beast stays out of this header (pimpl) so that test files compile fast.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace redoubt::test {

using header_list = std::vector<std::pair<std::string, std::string>>;

struct http_response {
  int status = 0;
  header_list headers;  // names lowercased, in arrival order
  std::string body;

  // First header with that name (case-insensitive), "" if none.
  std::string header(std::string_view name) const;
  // All values of that header (e.g. several Set-Cookie).
  std::vector<std::string> headers_named(std::string_view name) const;
  // The body parsed as JSON; throws if it is not JSON.
  boost::json::value json() const;
};

class https_client {
 public:
  https_client(std::string host, unsigned short port, std::string ca_file);
  ~https_client();
  https_client(https_client&&) noexcept;
  https_client& operator=(https_client&&) noexcept;

  // One request on a kept-alive connection (reconnects if the server closed it). Sends the
  // cookie jar as Cookie, stores Set-Cookie (name=value; Max-Age<=0 or an empty value removes
  // the cookie). Default headers: Host, User-Agent, Content-Type: application/json when the
  // body is non-empty; extra_headers replace defaults of the same name.
  // Throws std::runtime_error on connection, TLS or timeout failures.
  http_response request(std::string_view method, std::string_view target,
                        std::string_view body = {}, const header_list& extra_headers = {});
  http_response get(std::string_view target, const header_list& extra_headers = {});
  http_response post(std::string_view target, const boost::json::value& body,
                     const header_list& extra_headers = {});
  http_response put(std::string_view target, const boost::json::value& body,
                    const header_list& extra_headers = {});
  http_response patch(std::string_view target, const boost::json::value& body,
                      const header_list& extra_headers = {});
  http_response del(std::string_view target, const header_list& extra_headers = {});

  std::string cookie_header() const;  // "a=b; c=d" as it would be sent
  std::optional<std::string> cookie(std::string_view name) const;
  void set_cookie(std::string name, std::string value);
  void clear_cookies();

  // Drops the kept-alive connection; the next request opens a new one.
  void disconnect();
  // Connects from this local address from now on (e.g. "127.0.0.2": the server sees another
  // client IP). Drops the kept-alive connection.
  void set_source_address(std::string ip);
  // Per-operation timeout of request() (connect, write, read). Default 15 s.
  void set_timeout(std::chrono::milliseconds timeout);

  // Writes exactly these bytes on a fresh TLS connection, reads until the server closes or the
  // timeout expires, returns what came back (possibly empty). Throws if the TLS handshake fails.
  std::string raw_exchange(std::string_view bytes, std::chrono::milliseconds timeout);

  const std::string& host() const;
  unsigned short port() const;
  const std::string& ca_file() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// One request written piece by piece on its own connection (uploads of any size, slow or
// aborted bodies). The header goes out with the first write(); write() returns false once the
// server closed or stopped reading (within the timeout); response() reads the answer.
class streamed_request {
 public:
  // `head` is the full request head without the final empty line, e.g.
  // "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5".
  streamed_request(const https_client& client, std::string head, std::chrono::milliseconds timeout);
  ~streamed_request();
  streamed_request(const streamed_request&) = delete;
  streamed_request& operator=(const streamed_request&) = delete;

  bool write(std::string_view bytes);
  // The response, or status 0 if the connection closed without one. body_limit caps what is kept.
  http_response response(std::chrono::milliseconds timeout, std::size_t body_limit = 64 << 20);
  void close();  // drops the connection (an aborted upload)

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

struct ws_upgrade_refused : std::runtime_error {
  ws_upgrade_refused(int status_code, std::string response_body);
  int status;
  std::string body;
};

class ws_client {
 public:
  // Connects to wss://host:port<target> with the given Cookie header (omitted if empty) and
  // Origin (omitted if nullopt). Throws ws_upgrade_refused{status, body} when the server answers
  // the upgrade with an HTTP response, std::runtime_error on other failures.
  ws_client(std::string host, unsigned short port, std::string ca_file, std::string cookie_header,
            std::optional<std::string> origin = std::nullopt, std::string target = "/api/v1/ws");
  ~ws_client();  // closes politely (short timeout), errors ignored
  ws_client(ws_client&&) noexcept;
  ws_client& operator=(ws_client&&) noexcept;

  // Sends one text frame. Throws if the connection is already closed; a write failure caused by
  // the server closing meanwhile is not thrown (see wait_closed()).
  void send(const boost::json::value& frame);
  void send_text(std::string_view raw);
  void send_binary(std::string_view raw);

  // Next text frame parsed as JSON; throws std::runtime_error on timeout, close, binary frame
  // or invalid JSON. Pings are answered while reading.
  boost::json::value read(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Like read() but nullopt on timeout (the connection stays usable).
  std::optional<boost::json::value> try_read(std::chrono::milliseconds timeout);
  // Next text frame unparsed.
  std::string read_raw(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Reads frames until pred(frame) holds and returns that frame; frames read before it are
  // appended to skipped(). Non-object frames are skipped too.
  boost::json::value read_until(const std::function<bool(const boost::json::object&)>& pred,
                                std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Convenience: read_until(frame["type"] == type).
  boost::json::value read_type(std::string_view type,
                               std::chrono::milliseconds timeout = std::chrono::seconds(5));
  std::vector<boost::json::value>& skipped();

  // Waits for the server to close (frames arriving meanwhile go to skipped()); returns the close
  // code (e.g. 1009), 1005 if the close frame had no code, or -1 if the connection dropped
  // without a close frame. Throws std::runtime_error on timeout.
  int wait_closed(std::chrono::milliseconds timeout);
  // Close reason text sent by the server, once closed.
  std::string close_reason() const;

  // Sends a normal close and waits (up to 2 s) for the server's answer.
  void close();
  bool is_open() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace redoubt::test
