#include "queue/event_bus.hpp"

#include <nats/nats.h>

#include <array>
#include <atomic>
#include <charconv>
#include <mutex>
#include <vector>
#include <optional>
#include <string_view>

#include "base/log.hpp"
#include "crypto/crypto.hpp"
#include "queue/bus_seal.hpp"
#include "queue/nats_connection.hpp"

namespace redoubt::queue {

namespace {

// One broker connection with its room.> subscription and JetStream context.
struct link {
  nats_connection_ptr conn;  // closed last, after the subscription and the JetStream context
  natsSubscription* sub = nullptr;
  natsSubscription* cluster_sub = nullptr;
  jsCtx* js = nullptr;
  ~link() {
    for (auto* s : {sub, cluster_sub}) {
      if (!s) continue;
      natsSubscription_Unsubscribe(s);
      natsSubscription_Destroy(s);
    }
    if (js) jsCtx_Destroy(js);
  }
};

}  // namespace

struct event_bus::impl {
  bus_settings settings;
  std::string node;
  remote_handlers on_remote;
  std::unique_ptr<bus_sealer> sealer;
  std::array<std::atomic<std::uint64_t>, 5> refused{};  // by bus_refusal
  // The links opened so far, the last one in use. nats.c reconnects a link by itself; one it
  // closed for good is replaced (reopen_if_closed) and kept until the bus goes, because a
  // publisher on another thread may still hold it.
  std::mutex mu;
  std::vector<std::unique_ptr<link>> links;
  std::atomic<link*> current{nullptr};
  std::atomic<std::uint64_t> reopened{0};

  ~impl() {
    // Newest first; each link unsubscribes before its connection closes.
    while (!links.empty()) links.pop_back();
  }

  // Subjects and the bodies sealed in their frames (fields end with '\n'; the sender's node is
  // in the seal; events from this node were delivered locally):
  //   room.<id>           "<seq>\n<frame>"
  //   room.<id>.member    "<user>\n<seq>\n<joined|left>"
  //   room.<id>.eph       "<except user>\n<frame>"
  //   cluster.session_end "<user>\n<session or 0>\n<kept session or 0>"
  static void on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
    auto* self = static_cast<impl*>(closure);
    std::string_view data(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
    std::string_view subject(natsMsg_GetSubject(msg));
    self->receive(subject, data);
    natsMsg_Destroy(msg);
  }

  void receive(std::string_view subject, std::string_view data) {
    auto opened = sealer->open(subject, data);
    if (!opened) {
      // Counted always, logged now and then: a flood of forgeries must not flood the log.
      auto n = refused[static_cast<std::size_t>(opened.error())].fetch_add(1) + 1;
      if ((n & (n - 1)) == 0)
        log::warn("bus_frame_refused", {{"reason", to_string(opened.error())}, {"subject", subject.substr(0, 64)},
                                        {"count", n}});
      return;
    }
    if (opened->node == node) return;
    if (!dispatch(subject, opened->body)) log::warn("bus_message_malformed", {{"subject", subject.substr(0, 64)}});
  }

  // Takes the next '\n'-terminated field off `data`.
  static std::optional<std::string_view> field(std::string_view& data) {
    auto nl = data.find('\n');
    if (nl == std::string_view::npos) return std::nullopt;
    auto f = data.substr(0, nl);
    data.remove_prefix(nl + 1);
    return f;
  }

  static std::optional<std::int64_t> positive(std::string_view text) {
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size() || v <= 0) return std::nullopt;
    return v;
  }

  static std::optional<std::int64_t> optional_id(std::string_view text) {
    if (text == "0") return std::nullopt;
    return positive(text);
  }

  bool dispatch_session_end(std::string_view data) const {
    auto user_text = field(data);
    auto session_text = field(data);
    if (!user_text || !session_text) return false;
    auto user = positive(*user_text);
    auto session = optional_id(*session_text);
    auto keep = optional_id(data);
    if (!user || (*session_text != "0" && !session) || (data != "0" && !keep)) return false;
    on_remote.session_end(*user, session, keep);
    return true;
  }

  bool dispatch(std::string_view subject, std::string_view data) const {
    if (subject == "cluster.session_end") return dispatch_session_end(data);
    if (subject.rfind("room.", 0) != 0) return false;
    subject.remove_prefix(5);
    auto dot = subject.find('.');
    auto room = positive(subject.substr(0, dot));
    auto kind = dot == std::string_view::npos ? std::string_view{} : subject.substr(dot + 1);
    if (!room) return false;
    if (kind.empty()) {
      auto seq_text = field(data);
      auto seq = seq_text ? positive(*seq_text) : std::nullopt;
      if (!seq) return false;
      on_remote.event(*room, *seq, std::string(data));
      return true;
    }
    if (kind == "member") {
      auto user_text = field(data);
      auto seq_text = field(data);
      auto user = user_text ? positive(*user_text) : std::nullopt;
      auto seq = seq_text ? positive(*seq_text) : std::nullopt;
      if (!user || !seq || (data != "joined" && data != "left")) return false;
      on_remote.membership(*room, *user, *seq, data == "joined");
      return true;
    }
    if (kind == "eph") {
      auto except_text = field(data);
      auto except_user = except_text ? positive(*except_text) : std::nullopt;
      if (!except_user) return false;
      on_remote.ephemeral(*room, *except_user, std::string(data));
      return true;
    }
    return false;
  }

  void send(const std::string& subject, std::string_view body);

  static void on_disconnected(natsConnection*, void*) { log::warn("bus_disconnected"); }
  static void on_reconnected(natsConnection*, void*) { log::info("bus_reconnected"); }
};

event_bus::event_bus(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
event_bus::~event_bus() = default;

const std::string& event_bus::node_id() const noexcept { return impl_->node; }

namespace {

result<std::unique_ptr<link>> open_link(const bus_settings& s, event_bus::impl* owner,
                                        natsMsgHandler on_message) {
  auto o = account_options(s);
  o.on_disconnected = &event_bus::impl::on_disconnected;
  o.on_reconnected = &event_bus::impl::on_reconnected;
  auto conn = connect_nats(o, "message bus");
  if (!conn) return conn.error();
  auto l = std::make_unique<link>();
  l->conn = std::move(*conn);
  natsStatus st = natsConnection_Subscribe(&l->sub, l->conn.get(), "room.>", on_message, owner);
  if (st != NATS_OK) return nats_error("message bus: subscribe", st);
  st = natsConnection_Subscribe(&l->cluster_sub, l->conn.get(), "cluster.>", on_message, owner);
  if (st != NATS_OK) return nats_error("message bus: subscribe", st);
  if ((st = natsConnection_JetStream(&l->js, l->conn.get(), nullptr)) != NATS_OK)
    return nats_error("message bus: jetstream", st);
  natsConnection_Flush(l->conn.get());
  return l;
}

}  // namespace

result<std::unique_ptr<event_bus>> event_bus::connect(const bus_settings& s, remote_handlers on_remote) {
  auto p = std::make_unique<impl>();
  p->settings = s;
  p->node = crypto::random_hex(8);
  p->on_remote = std::move(on_remote);
  auto keys = parse_cluster_keys(s.cluster_keys.reveal());
  if (!keys) return keys.error();
  p->sealer = std::make_unique<bus_sealer>(std::move(*keys), p->node);
  auto l = open_link(s, p.get(), &impl::on_message);
  if (!l) return l.error();
  p->current.store(l->get());
  p->links.push_back(std::move(*l));
  log::info("bus_connected", {{"node", p->node}});
  return std::unique_ptr<event_bus>(new event_bus(std::move(p)));
}

bool event_bus::reopen_if_closed() {
  if (!natsConnection_IsClosed(impl_->current.load()->conn.get())) return true;
  log::error("bus_closed", {{"reopened_before", impl_->reopened.load()}});
  auto l = open_link(impl_->settings, impl_.get(), &impl::on_message);
  if (!l) {
    log::warn("bus_reopen_failed", {{"error", l.error().message}});
    return false;
  }
  link* fresh = l->get();
  {
    std::lock_guard lock(impl_->mu);
    impl_->links.push_back(std::move(*l));
  }
  impl_->current.store(fresh);
  impl_->reopened.fetch_add(1);
  log::warn("bus_reopened", {{"times", impl_->reopened.load()}});
  return true;
}

std::uint64_t event_bus::reopened() const noexcept { return impl_->reopened.load(); }

void event_bus::impl::send(const std::string& subject, std::string_view body) {
  auto sealed = sealer->seal(subject, body);
  natsStatus st = natsConnection_Publish(current.load()->conn.get(), subject.c_str(), sealed.data(),
                                         static_cast<int>(sealed.size()));
  if (st != NATS_OK) log::warn("bus_publish_failed", {{"subject", subject.substr(0, 64)}, {"error", natsStatus_GetText(st)}});
}

void event_bus::publish(std::int64_t room, std::int64_t seq, const std::string& frame) {
  std::string body = std::to_string(seq);
  body += '\n';
  body += frame;
  impl_->send("room." + std::to_string(room), body);
}

void event_bus::publish_membership(std::int64_t room, std::int64_t user, std::int64_t seq, bool joined) {
  impl_->send("room." + std::to_string(room) + ".member",
              std::to_string(user) + '\n' + std::to_string(seq) + '\n' + (joined ? "joined" : "left"));
}

void event_bus::publish_ephemeral(std::int64_t room, std::int64_t except_user, const std::string& frame) {
  impl_->send("room." + std::to_string(room) + ".eph", std::to_string(except_user) + '\n' + frame);
}

void event_bus::publish_session_end(std::int64_t user, std::optional<std::int64_t> session,
                                    std::optional<std::int64_t> keep) {
  impl_->send("cluster.session_end", std::to_string(user) + '\n' + std::to_string(session.value_or(0)) + '\n' +
                                         std::to_string(keep.value_or(0)));
}

event_bus::refused_counts event_bus::refused() const noexcept {
  const auto& r = impl_->refused;
  return {r[0].load(), r[1].load(), r[2].load(), r[3].load(), r[4].load()};
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
  st = js_PublishMsg(&ack, impl_->current.load()->js, msg, &opts, &jerr);
  natsMsg_Destroy(msg);
  if (st != NATS_OK) {
    return make_error(errc::unavailable, std::string("job publish: ") + natsStatus_GetText(st) +
                                             (jerr ? " (jetstream error " + std::to_string(jerr) + ")" : ""));
  }
  jsPubAck_Destroy(ack);
  return {};
}


}  // namespace redoubt::queue
