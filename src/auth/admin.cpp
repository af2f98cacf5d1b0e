#include "auth/admin.hpp"

#include <boost/json.hpp>

#include "base/log.hpp"

namespace redoubt::auth {
namespace json = boost::json;

awaitable<result<std::vector<chat::user>>> admin::users(const actor& who) {
  if (auto ok = authorize_admin(who); !ok) co_return ok.error();
  co_return co_await accounts_.list_users(1000);
}

awaitable<result<chat::user>> admin::update_user(const actor& who, chat::user_id target, const account_change& change,
                                                 const audit::origin& from) {
  if (!change.disabled && !change.is_admin) co_return make_error(errc::invalid_argument, "send disabled and/or is_admin");
  if (auto ok = authorize_account_change(who, target, change.disabled.value_or(false),
                                         change.is_admin.has_value() && !*change.is_admin);
      !ok)
    co_return ok.error();
  auto user = co_await accounts_.update_account(target, change);
  if (!user) co_return user.error();
  if (!*user) co_return make_error(errc::not_found, "user not found");
  if (change.disabled.value_or(false) && on_sessions_ended_)
    on_sessions_ended_(chat::session_end{target, std::nullopt, std::nullopt});
  json::object details;
  if (change.disabled) details["disabled"] = *change.disabled;
  if (change.is_admin) details["is_admin"] = *change.is_admin;
  co_await audit_.record(who.id, "admin.update_user", audit::target("user", target), from, json::serialize(details));
  co_return std::move(**user);
}

awaitable<result<audit_page>> admin::audit_log(const actor& who, std::int64_t before, int limit) {
  if (auto ok = authorize_admin(who); !ok) co_return ok.error();
  audit_page out;
  auto& store = audit_.store();
  auto entries = co_await store.page(before, limit);
  if (!entries) co_return entries.error();
  out.entries = std::move(*entries);
  if (!out.entries.empty() && out.entries.size() == static_cast<std::size_t>(limit))
    out.next_before = out.entries.back().id;
  auto chain = co_await store.chain();
  if (!chain) co_return chain.error();
  out.chain = *chain;
  // The newest signed checkpoint, checked with this server's key: catches a chain rewritten
  // with recomputed hashes, which the chain check cannot see.
  auto checkpoint = co_await store.newest_checkpoint();
  if (!checkpoint) co_return checkpoint.error();
  out.checkpoint = std::move(*checkpoint);
  if (out.checkpoint) out.checkpoint_status = audit::check_checkpoint(*out.checkpoint, trusted_keys_);
  co_return out;
}

awaitable<result<bool>> admin::apply_email_event(const email_event& event, const audit::origin& from) {
  auto fresh = co_await accounts_.record_webhook_event(event.id);
  if (!fresh) co_return fresh.error();
  if (!*fresh) {
    // A correctly signed event seen before: the provider retrying, or someone replaying a
    // captured call inside the timestamp window. Nothing is applied; the attempt is on record.
    const json::object details{{"event_id", event.id}, {"type", event.type}};
    const audit::entry e{std::nullopt, "email_webhook.replayed", "-", from.ip, from.request_id, "duplicate",
                         json::serialize(details)};
    co_await audit_.record(e);
    co_return false;
  }
  auto applied = co_await accounts_.apply_email_event(event.type, event.recipient, event.message_id);
  if (!applied) co_return applied.error();
  const json::object details{{"event_id", event.id}, {"type", event.type}};
  co_await audit_.record(std::nullopt, "email_webhook." + event.type, "-", from, json::serialize(details));
  co_return true;
}

awaitable<void> admin::reject_email_event(const std::string& reason, std::size_t bytes, const audit::origin& from) {
  const json::object details{{"reason", reason}, {"bytes", bytes}};
  const audit::entry e{std::nullopt, "email_webhook.rejected", "-", from.ip, from.request_id, "rejected",
                       json::serialize(details)};
  co_await audit_.record(e);
  log::warn("email_webhook_rejected", {{"reason", reason}, {"ip", from.ip}, {"request_id", from.request_id}});
}

}  // namespace redoubt::auth
