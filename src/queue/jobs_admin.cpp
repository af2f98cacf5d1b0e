#include "queue/jobs_admin.hpp"

#include <nats/nats.h>

#include <memory>

namespace redoubt::queue {
namespace {

constexpr std::int64_t ns_per_s = 1'000'000'000;

error nats_error(const char* what, natsStatus s, jsErrCode jerr = static_cast<jsErrCode>(0)) {
  const char* detail = nats_GetLastError(nullptr);
  return make_error(errc::unavailable, std::string(what) + ": " + natsStatus_GetText(s) +
                                           (jerr ? " (jetstream error " + std::to_string(jerr) + ")" : "") +
                                           (detail ? std::string(" ") + detail : ""));
}

}  // namespace

result<stream_setup> setup_jobs_stream(const admin_connection& c, int max_deliver, int ack_wait_seconds) {
  natsOptions* raw_opts = nullptr;
  if (auto s = natsOptions_Create(&raw_opts); s != NATS_OK) return nats_error("options", s);
  std::unique_ptr<natsOptions, decltype(&natsOptions_Destroy)> opts(raw_opts, natsOptions_Destroy);
  natsStatus s = natsOptions_SetURL(opts.get(), c.url.c_str());
  if (s == NATS_OK) s = natsOptions_SetSecure(opts.get(), true);
  if (s == NATS_OK && !c.ca_file.empty()) s = natsOptions_LoadCATrustedCertificates(opts.get(), c.ca_file.c_str());
  if (s == NATS_OK && !c.expected_hostname.empty())
    s = natsOptions_SetExpectedHostname(opts.get(), c.expected_hostname.c_str());
  if (s == NATS_OK) s = natsOptions_SetUserInfo(opts.get(), c.user.c_str(), c.password.reveal().c_str());
  if (s == NATS_OK) s = natsOptions_SetCustomInboxPrefix(opts.get(), "_INBOX.admin");
  if (s == NATS_OK) s = natsOptions_SetTimeout(opts.get(), 5000);
  if (s != NATS_OK) return nats_error("options", s);
  natsConnection* raw_nc = nullptr;
  if (s = natsConnection_Connect(&raw_nc, opts.get()); s != NATS_OK) return nats_error("connect", s);
  std::unique_ptr<natsConnection, decltype(&natsConnection_Destroy)> nc(raw_nc, natsConnection_Destroy);
  jsCtx* raw_js = nullptr;
  if (s = natsConnection_JetStream(&raw_js, nc.get(), nullptr); s != NATS_OK) return nats_error("jetstream", s);
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
