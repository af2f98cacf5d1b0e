#include "queue/event_bus.hpp"

#include <nats/nats.h>

#include <charconv>
#include <string_view>

#include "base/log.hpp"
#include "crypto/crypto.hpp"

namespace redoubt::queue {

struct event_bus::impl {
  natsConnection* conn = nullptr;
  natsSubscription* sub = nullptr;
  jsCtx* js = nullptr;
  std::string node;
  remote_handler on_remote;

  ~impl() {
    if (sub) {
      natsSubscription_Unsubscribe(sub);
      natsSubscription_Destroy(sub);
    }
    if (js) jsCtx_Destroy(js);
    if (conn) {
      natsConnection_Close(conn);
      natsConnection_Destroy(conn);
    }
  }

  // Payload: "<node>\n<seq>\n<frame>". Events from this node were delivered locally already.
  static void on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
    auto* self = static_cast<impl*>(closure);
    std::string_view data(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
    std::string_view subject(natsMsg_GetSubject(msg));
    auto nl1 = data.find('\n');
    auto nl2 = nl1 == std::string_view::npos ? nl1 : data.find('\n', nl1 + 1);
    std::int64_t room = 0, seq = 0;
    bool ok = nl2 != std::string_view::npos && subject.rfind("room.", 0) == 0;
    if (ok) {
      auto r = subject.substr(5);
      ok = std::from_chars(r.data(), r.data() + r.size(), room).ec == std::errc{} &&
           std::from_chars(data.data() + nl1 + 1, data.data() + nl2, seq).ec == std::errc{} && room > 0 && seq > 0;
    }
    if (!ok) {
      log::warn("bus_message_malformed", {{"subject", subject.substr(0, 64)}});
    } else if (data.substr(0, nl1) != self->node) {
      self->on_remote(room, seq, std::string(data.substr(nl2 + 1)));
    }
    natsMsg_Destroy(msg);
  }

  static void on_disconnected(natsConnection*, void*) { log::warn("bus_disconnected"); }
  static void on_reconnected(natsConnection*, void*) { log::info("bus_reconnected"); }
};

event_bus::event_bus(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
event_bus::~event_bus() = default;

const std::string& event_bus::node_id() const noexcept { return impl_->node; }

result<std::unique_ptr<event_bus>> event_bus::connect(const bus_settings& s, remote_handler on_remote) {
  auto p = std::make_unique<impl>();
  p->node = crypto::random_hex(8);
  p->on_remote = std::move(on_remote);
  natsOptions* opts = nullptr;
  auto fail = [&](const char* what, natsStatus st) -> result<std::unique_ptr<event_bus>> {
    if (opts) natsOptions_Destroy(opts);
    return make_error(errc::unavailable, std::string("message bus: ") + what + ": " + natsStatus_GetText(st));
  };
  natsStatus st = natsOptions_Create(&opts);
  if (st != NATS_OK) return fail("options", st);
  if ((st = natsOptions_SetURL(opts, s.url.c_str())) != NATS_OK) return fail("url", st);
  if ((st = natsOptions_SetSecure(opts, true)) != NATS_OK) return fail("tls", st);
  if (!s.ca_file.empty() && (st = natsOptions_LoadCATrustedCertificates(opts, s.ca_file.c_str())) != NATS_OK)
    return fail("ca file", st);
  if ((st = natsOptions_SetUserInfo(opts, s.user.c_str(), s.password.reveal().c_str())) != NATS_OK)
    return fail("credentials", st);
  if ((st = natsOptions_SetCustomInboxPrefix(opts, s.inbox_prefix.c_str())) != NATS_OK) return fail("inbox", st);
  natsOptions_SetMaxReconnect(opts, -1);
  natsOptions_SetReconnectWait(opts, 500);
  natsOptions_SetDisconnectedCB(opts, &impl::on_disconnected, nullptr);
  natsOptions_SetReconnectedCB(opts, &impl::on_reconnected, nullptr);
  if ((st = natsConnection_Connect(&p->conn, opts)) != NATS_OK) return fail("connect", st);
  natsOptions_Destroy(opts);
  opts = nullptr;
  if ((st = natsConnection_Subscribe(&p->sub, p->conn, "room.>", &impl::on_message, p.get())) != NATS_OK)
    return fail("subscribe", st);
  if ((st = natsConnection_JetStream(&p->js, p->conn, nullptr)) != NATS_OK) return fail("jetstream", st);
  natsConnection_Flush(p->conn);
  log::info("bus_connected", {{"node", p->node}});
  return std::unique_ptr<event_bus>(new event_bus(std::move(p)));
}

void event_bus::publish(std::int64_t room, std::int64_t seq, const std::string& frame) {
  std::string subject = "room." + std::to_string(room);
  std::string payload;
  payload.reserve(impl_->node.size() + frame.size() + 24);
  payload += impl_->node;
  payload += '\n';
  payload += std::to_string(seq);
  payload += '\n';
  payload += frame;
  natsStatus st = natsConnection_Publish(impl_->conn, subject.c_str(), payload.data(), static_cast<int>(payload.size()));
  if (st != NATS_OK) log::warn("bus_publish_failed", {{"room", room}, {"error", natsStatus_GetText(st)}});
}

result<void> event_bus::publish_job(const job_message& job, std::chrono::milliseconds timeout) {
  natsMsg* msg = nullptr;
  natsStatus st = natsMsg_Create(&msg, job.subject.c_str(), nullptr, job.data.data(), static_cast<int>(job.data.size()));
  if (st == NATS_OK) st = natsMsgHeader_Set(msg, "Redoubt-Key-Id", job.key_id.c_str());
  if (st == NATS_OK) st = natsMsgHeader_Set(msg, "Redoubt-Signature", job.signature.c_str());
  if (st == NATS_OK) st = natsMsgHeader_Set(msg, "Redoubt-Correlation-Id", job.correlation_id.c_str());
  if (st != NATS_OK) {
    natsMsg_Destroy(msg);
    return make_error(errc::internal, std::string("job message: ") + natsStatus_GetText(st));
  }
  jsPubOptions opts;
  jsPubOptions_Init(&opts);
  opts.MsgId = job.msg_id.c_str();
  opts.MaxWait = static_cast<int64_t>(timeout.count());
  opts.ExpectStream = "JOBS";
  jsPubAck* ack = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  st = js_PublishMsg(&ack, impl_->js, msg, &opts, &jerr);
  natsMsg_Destroy(msg);
  if (st != NATS_OK) {
    return make_error(errc::unavailable, std::string("job publish: ") + natsStatus_GetText(st) +
                                             (jerr ? " (jetstream error " + std::to_string(jerr) + ")" : ""));
  }
  jsPubAck_Destroy(ack);
  return {};
}

}  // namespace redoubt::queue
