#include "audit/recorder.hpp"

#include "base/log.hpp"

namespace redoubt::audit {

std::string target(std::string_view kind, std::int64_t id) { return std::string(kind) + ":" + std::to_string(id); }

std::string member_target(std::int64_t room, std::int64_t user) {
  return target("room", room) + " " + target("user", user);
}

awaitable<result<void>> recorder::record(const entry& e) {
  auto ok = co_await store_.append(e);
  if (!ok) {
    failures_.fetch_add(1, std::memory_order_relaxed);
    log::error("audit_write_failed", {{"action", e.action}, {"target", e.target}, {"request_id", e.request_id},
                                      {"error", ok.error().message}});
  }
  co_return ok;
}

awaitable<result<void>> recorder::record(std::optional<std::int64_t> actor, std::string action, std::string target,
                                         const origin& from, std::string details_json) {
  const entry e{actor, std::move(action), std::move(target), from.ip, from.request_id, "ok", std::move(details_json)};
  co_return co_await record(e);
}

}  // namespace redoubt::audit
