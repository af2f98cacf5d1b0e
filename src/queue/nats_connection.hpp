// The one way queue/ opens a broker connection (nats.c lives only in queue/): TLS always,
// user and password, the account's inbox prefix, optional CA file and expected host name,
// reconnecting forever for the long-lived clients. Used by event_bus, job_consumer and
// jobs_admin; queue-internal (it includes nats.c's header).
#pragma once

#include <nats/nats.h>

#include <memory>
#include <string>
#include <string_view>

#include "base/errc.hpp"
#include "base/secret.hpp"
#include "queue/broker_settings.hpp"

namespace redoubt::queue {

struct nats_connection_options {
  std::string url;  // tls://host:port
  std::string user;
  secret_string password;
  std::string ca_file;            // empty = system trust store
  std::string expected_hostname;  // empty = the URL's host
  std::string inbox_prefix;       // the replies this account may read
  bool reconnect_forever = true;  // false: give up when the connection drops (one-shot tools)
  int timeout_ms = 0;             // connect timeout; 0 = nats.c's default
  natsConnectionHandler on_disconnected = nullptr;
  natsConnectionHandler on_reconnected = nullptr;
};

struct nats_connection_deleter {
  void operator()(natsConnection* c) const {
    natsConnection_Close(c);
    natsConnection_Destroy(c);
  }
};
using nats_connection_ptr = std::unique_ptr<natsConnection, nats_connection_deleter>;

// "<what>: <status>" plus the JetStream error and nats.c's last error text when there are.
error nats_error(std::string_view what, natsStatus s, jsErrCode jerr = static_cast<jsErrCode>(0));

// The account part of a client's settings (bus_settings, consumer_settings, admin_connection).
template <class Settings>
nats_connection_options account_options(const Settings& s) {
  nats_connection_options o;
  copy_account(s, o);
  o.inbox_prefix = s.inbox_prefix;
  return o;
}

// Connects; errors read "<what>: <step>: <status> (...)".
result<nats_connection_ptr> connect_nats(const nats_connection_options& o, std::string_view what);

}  // namespace redoubt::queue
