#include "queue/nats_connection.hpp"

namespace redoubt::queue {

error nats_error(std::string_view what, natsStatus s, jsErrCode jerr) {
  const char* detail = nats_GetLastError(nullptr);
  return make_error(errc::unavailable,
                    std::string(what) + ": " + natsStatus_GetText(s) +
                        (jerr ? " (jetstream error " + std::to_string(jerr) + ")" : "") +
                        (detail ? std::string(" (") + detail + ")" : ""));
}

namespace {

natsStatus apply(natsOptions* opts, const nats_connection_options& o, const char*& step) {
  natsStatus s = NATS_OK;
  auto set = [&](const char* name, auto&& call) {
    if (s != NATS_OK) return;
    step = name;
    s = call();
  };
  set("url", [&] { return natsOptions_SetURL(opts, o.url.c_str()); });
  set("tls", [&] { return natsOptions_SetSecure(opts, true); });
  if (!o.ca_file.empty())
    set("ca file", [&] { return natsOptions_LoadCATrustedCertificates(opts, o.ca_file.c_str()); });
  if (!o.expected_hostname.empty())
    set("hostname",
        [&] { return natsOptions_SetExpectedHostname(opts, o.expected_hostname.c_str()); });
  set("credentials",
      [&] { return natsOptions_SetUserInfo(opts, o.user.c_str(), o.password.reveal().c_str()); });
  set("inbox", [&] { return natsOptions_SetCustomInboxPrefix(opts, o.inbox_prefix.c_str()); });
  if (o.timeout_ms > 0) set("timeout", [&] { return natsOptions_SetTimeout(opts, o.timeout_ms); });
  if (o.reconnect_forever) {
    set("reconnect", [&] { return natsOptions_SetMaxReconnect(opts, -1); });
    set("reconnect", [&] { return natsOptions_SetReconnectWait(opts, 500); });
  }
  if (o.on_disconnected)
    set("callbacks",
        [&] { return natsOptions_SetDisconnectedCB(opts, o.on_disconnected, nullptr); });
  if (o.on_reconnected)
    set("callbacks", [&] { return natsOptions_SetReconnectedCB(opts, o.on_reconnected, nullptr); });
  return s;
}

}  // namespace

result<nats_connection_ptr> connect_nats(const nats_connection_options& o, std::string_view what) {
  natsOptions* raw_opts = nullptr;
  if (auto s = natsOptions_Create(&raw_opts); s != NATS_OK)
    return nats_error(std::string(what) + ": options", s);
  std::unique_ptr<natsOptions, decltype(&natsOptions_Destroy)> opts(raw_opts, natsOptions_Destroy);
  const char* step = "options";
  if (auto s = apply(opts.get(), o, step); s != NATS_OK)
    return nats_error(std::string(what) + ": " + step, s);
  natsConnection* conn = nullptr;
  if (auto s = natsConnection_Connect(&conn, opts.get()); s != NATS_OK)
    return nats_error(std::string(what) + ": connect", s);
  return nats_connection_ptr(conn);
}

}  // namespace redoubt::queue
