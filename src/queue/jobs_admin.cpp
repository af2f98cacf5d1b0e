#include "queue/jobs_admin.hpp"

#include <nats/nats.h>

#include <memory>

#include "queue/nats_connection.hpp"

namespace redoubt::queue {
namespace {

constexpr std::int64_t ns_per_s = 1'000'000'000;

}  // namespace

result<stream_setup> setup_jobs_stream(const admin_connection& c, int max_deliver, int ack_wait_seconds) {
  auto o = account_options(c);
  o.expected_hostname = c.expected_hostname;
  o.reconnect_forever = false;  // one command: a dropped connection is an error
  o.timeout_ms = 5000;
  auto nc = connect_nats(o, "broker");
  if (!nc) return nc.error();
  natsStatus s = NATS_OK;
  jsCtx* raw_js = nullptr;
  if (s = natsConnection_JetStream(&raw_js, nc->get(), nullptr); s != NATS_OK) return nats_error("jetstream", s);
  std::unique_ptr<jsCtx, decltype(&jsCtx_Destroy)> js(raw_js, jsCtx_Destroy);

  jsStreamConfig sc;
  jsStreamConfig_Init(&sc);
  const char* subjects[] = {"jobs.>"};
  sc.Name = "JOBS";
  sc.Subjects = subjects;
  sc.SubjectsLen = 1;
  sc.Storage = js_FileStorage;
  sc.Retention = js_WorkQueuePolicy;
  sc.MaxMsgs = 100000;
  sc.MaxBytes = 256LL * 1024 * 1024;
  sc.MaxAge = 7LL * 24 * 3600 * ns_per_s;
  sc.MaxMsgSize = 65536;
  sc.Discard = js_DiscardNew;
  sc.Duplicates = 120 * ns_per_s;
  stream_setup done;
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  s = js_GetStreamInfo(&si, js.get(), "JOBS", nullptr, &jerr);
  if (s == NATS_OK) {
    const bool other_retention = si->Config->Retention != sc.Retention;
    jsStreamInfo_Destroy(si);
    si = nullptr;
    if (other_retention) {
      if (s = js_DeleteStream(js.get(), "JOBS", nullptr, &jerr); s != NATS_OK)
        return nats_error("delete stream JOBS", s, jerr);
      done.recreated = true;
      s = js_AddStream(&si, js.get(), &sc, nullptr, &jerr);
    } else {
      s = js_UpdateStream(&si, js.get(), &sc, nullptr, &jerr);
    }
  } else if (s == NATS_NOT_FOUND) {
    s = js_AddStream(&si, js.get(), &sc, nullptr, &jerr);
  }
  if (s != NATS_OK) return nats_error("set up stream JOBS", s, jerr);
  jsStreamInfo_Destroy(si);

  jsConsumerConfig cc;
  jsConsumerConfig_Init(&cc);
  cc.Durable = "worker";
  cc.AckPolicy = js_AckExplicit;
  cc.DeliverPolicy = js_DeliverAll;
  cc.AckWait = ack_wait_seconds * ns_per_s;
  cc.MaxDeliver = max_deliver;
  cc.MaxAckPending = 1000;
  jsConsumerInfo* ci = nullptr;
  if (s = js_AddConsumer(&ci, js.get(), "JOBS", &cc, nullptr, &jerr); s != NATS_OK)
    return nats_error("add consumer JOBS/worker", s, jerr);
  jsConsumerInfo_Destroy(ci);
  return done;
}

}  // namespace redoubt::queue
