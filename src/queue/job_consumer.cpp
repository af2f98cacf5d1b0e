#include "queue/job_consumer.hpp"

#include <nats/nats.h>

#include <atomic>
#include <mutex>

#include "base/log.hpp"
#include "queue/nats_connection.hpp"

namespace redoubt::queue {

struct delivery::impl {
  natsMsg* msg = nullptr;
  ~impl() {
    if (msg) natsMsg_Destroy(msg);
  }
};

delivery::delivery(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
delivery::~delivery() = default;

std::string_view delivery::subject() const { return natsMsg_GetSubject(impl_->msg); }

std::string_view delivery::data() const {
  const char* d = natsMsg_GetData(impl_->msg);
  int n = natsMsg_GetDataLength(impl_->msg);
  return d && n > 0 ? std::string_view(d, static_cast<std::size_t>(n)) : std::string_view();
}

std::string delivery::header(const char* name) const {
  const char* v = nullptr;
  if (natsMsgHeader_Get(impl_->msg, name, &v) != NATS_OK || !v) return {};
  return v;
}

std::uint64_t delivery::delivery_count() const {
  jsMsgMetaData* meta = nullptr;
  if (natsMsg_GetMetaData(&meta, impl_->msg) != NATS_OK || !meta) return 1;
  std::uint64_t n = meta->NumDelivered;
  jsMsgMetaData_Destroy(meta);
  return n == 0 ? 1 : n;
}

void delivery::ack() {
  // AckSync: the broker confirmed, so a crash right after does not redeliver a finished job.
  if (natsStatus st = natsMsg_AckSync(impl_->msg, nullptr, nullptr); st != NATS_OK)
    log::warn("job_ack_failed", {{"error", natsStatus_GetText(st)}});
}

void delivery::nak(std::chrono::milliseconds delay) {
  if (natsStatus st = natsMsg_NakWithDelay(impl_->msg, delay.count(), nullptr); st != NATS_OK)
    log::warn("job_nak_failed", {{"error", natsStatus_GetText(st)}});
}

void delivery::term() {
  if (natsStatus st = natsMsg_Term(impl_->msg, nullptr); st != NATS_OK)
    log::warn("job_term_failed", {{"error", natsStatus_GetText(st)}});
}

struct job_consumer::impl {
  nats_connection_ptr conn;  // closed last
  jsCtx* js = nullptr;
  natsSubscription* sub = nullptr;
  static void on_disconnected(natsConnection*, void*) { log::warn("job_queue_disconnected"); }
  static void on_reconnected(natsConnection*, void*) { log::info("job_queue_reconnected"); }
  ~impl() {
    if (sub) natsSubscription_Destroy(sub);
    if (js) jsCtx_Destroy(js);
  }
};

struct job_consumer::state {
  consumer_settings settings;
  // Deliveries of a replaced connection may still be in a handler (their acks then fail and the
  // broker redelivers them), so every connection opened lives as long as the consumer.
  std::mutex mu;
  std::vector<std::unique_ptr<impl>> opened;
  std::atomic<impl*> current{nullptr};
  std::atomic<std::uint64_t> reopened{0};
};

namespace {

result<std::unique_ptr<job_consumer::impl>> open_connection(const consumer_settings& s) {
  auto o = account_options(s);
  o.on_disconnected = &job_consumer::impl::on_disconnected;
  o.on_reconnected = &job_consumer::impl::on_reconnected;
  auto conn = connect_nats(o, "job queue");
  if (!conn) return conn.error();
  auto p = std::make_unique<job_consumer::impl>();
  p->conn = std::move(*conn);
  natsStatus st = natsConnection_JetStream(&p->js, p->conn.get(), nullptr);
  if (st != NATS_OK) return nats_error("job queue: jetstream", st);
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = s.stream.c_str();
  so.Consumer = s.durable.c_str();  // bind to the consumer the admin created; never create one
  jsErrCode jerr = static_cast<jsErrCode>(0);
  if ((st = js_PullSubscribe(&p->sub, p->js, "jobs.>", s.durable.c_str(), nullptr, &so, &jerr)) != NATS_OK)
    return nats_error("job queue: bind consumer", st);
  log::info("job_consumer_connected", {{"stream", s.stream}, {"consumer", s.durable}});
  return p;
}

}  // namespace

job_consumer::job_consumer(consumer_settings s, std::unique_ptr<impl> p) : state_(std::make_unique<state>()) {
  state_->settings = std::move(s);
  state_->current.store(p.get());
  state_->opened.push_back(std::move(p));
}

job_consumer::~job_consumer() = default;

result<std::unique_ptr<job_consumer>> job_consumer::connect(const consumer_settings& s) {
  auto p = open_connection(s);
  if (!p) return p.error();
  return std::unique_ptr<job_consumer>(new job_consumer(s, std::move(*p)));
}

std::uint64_t job_consumer::reopened() const noexcept { return state_->reopened.load(); }

result<std::vector<std::unique_ptr<delivery>>> job_consumer::fetch(int batch, std::chrono::milliseconds wait) {
  impl* c = state_->current.load();
  if (natsConnection_IsClosed(c->conn.get())) {
    // The library stopped reconnecting; start over (the caller paces the attempts).
    log::error("job_queue_closed", {{"reopened_before", state_->reopened.load()}});
    auto fresh = open_connection(state_->settings);
    if (!fresh) return fresh.error();
    c = fresh->get();
    {
      std::lock_guard lock(state_->mu);
      state_->opened.push_back(std::move(*fresh));
    }
    state_->current.store(c);
    state_->reopened.fetch_add(1);
    log::warn("job_queue_reopened", {{"times", state_->reopened.load()}});
  }
  natsMsgList list{};
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus st = natsSubscription_Fetch(&list, c->sub, batch, wait.count(), &jerr);
  std::vector<std::unique_ptr<delivery>> out;
  if (st == NATS_TIMEOUT) return out;
  if (st != NATS_OK) return make_error(errc::unavailable, std::string("fetch: ") + natsStatus_GetText(st));
  for (int i = 0; i < list.Count; ++i) {
    auto d = std::make_unique<delivery::impl>();
    d->msg = list.Msgs[i];
    list.Msgs[i] = nullptr;
    out.push_back(std::make_unique<delivery>(std::move(d)));
  }
  natsMsgList_Destroy(&list);
  return out;
}

void job_consumer::dead_letter(std::string_view reason, std::string_view data, std::string_view job_id) {
  std::string subject = "dlq." + std::string(reason);
  natsMsg* msg = nullptr;
  // Bounded copy: the payload may be what broke the job.
  auto body = data.substr(0, 4096);
  if (natsMsg_Create(&msg, subject.c_str(), nullptr, body.data(), static_cast<int>(body.size())) != NATS_OK) return;
  std::string id(job_id.substr(0, 64));
  natsMsgHeader_Set(msg, "Redoubt-Job-Id", id.c_str());
  natsConnection_PublishMsg(state_->current.load()->conn.get(), msg);
  natsMsg_Destroy(msg);
}

}  // namespace redoubt::queue
