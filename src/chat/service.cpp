#include "chat/service.hpp"

#include <boost/asio/use_awaitable.hpp>

#include "proto/frames.hpp"
#include "proto/render.hpp"
#include "proto/text.hpp"

namespace redoubt::chat {

awaitable<result<auth::room_facts>> service::facts(room_id room, user_id who) {
  auto r = co_await rooms_.get_room(room, who);
  if (!r) co_return r.error();
  if (!*r) co_return make_error(errc::not_found, "room not found");
  co_return auth::room_facts{(*r)->kind, (*r)->my_role};
}

awaitable<void> service::publish_event(room_id room, seq_t seq) {
  auto e = co_await messages_.event_at(room, seq);
  if (e && *e)
    hub_.publish(room, seq, std::make_shared<const std::string>(proto::room_event_frame(**e)));
}

awaitable<result<post_outcome>> service::post(const auth::actor& who, const std::string& username,
                                              room_id room, std::string client_id, std::string body,
                                              std::optional<message_id> reply_to,
                                              std::vector<std::int64_t> attachments,
                                              const std::optional<auth::room_facts>& known_facts) {
  auth::room_facts f;
  if (known_facts) {
    f = *known_facts;
  } else {
    auto loaded = co_await facts(room, who.id);
    if (!loaded) co_return loaded.error();
    f = *loaded;
  }
  if (auto ok = auth::authorize(who, auth::action::post, f); !ok) co_return ok.error();
  if (attachments.size() > limits_.max_attachments_per_message)
    co_return make_error(errc::invalid_argument, "too many attachments");
  auto valid = proto::validate_body(body, limits_.max_message_body_chars, !attachments.empty());
  if (!valid) co_return valid.error();
  if (!proto::valid_client_id(client_id))
    co_return make_error(errc::invalid_argument, "client_id must be 1-64 of [A-Za-z0-9_-]");

  post_request req;
  req.room = room;
  req.author = who.id;
  req.author_username = username;
  req.client_id = std::move(client_id);
  req.body = std::move(*valid);
  req.reply_to = reply_to;
  req.mentions = proto::parse_mentions(req.body);
  req.attachments = std::move(attachments);
  auto out = co_await writer_.post(std::move(req));
  if (!out) co_return out.error();
  switch (out->status) {
    case post_status::ok:
    case post_status::duplicate:
      co_return std::move(*out);
    case post_status::not_member:  // left the room meanwhile
      co_return make_error(f.kind == room_kind::public_room ? errc::permission_denied : errc::not_found,
                           f.kind == room_kind::public_room ? "join the room first" : "room not found");
    case post_status::bad_reply:
      co_return make_error(errc::invalid_argument, "reply_to is not a message of this room");
    case post_status::bad_attachment:
      co_return make_error(errc::invalid_argument,
                           "attachments must be your own uploads to this room, ready and not yet attached");
    case post_status::client_id_reused:
      co_return make_error(errc::already_exists, "client_id already used in another room");
  }
  co_return make_error(errc::internal, "unexpected post status");
}

namespace {
result<std::string> valid_name(std::string_view name, std::size_t max_chars) {
  auto t = proto::trim(name);
  auto len = proto::utf8_length(t);
  if (!len) return make_error(errc::invalid_argument, "name is not valid UTF-8");
  if (*len == 0) return make_error(errc::invalid_argument, "name must not be empty");
  if (*len > max_chars) return make_error(errc::invalid_argument, "name is too long");
  if (proto::has_control_chars(t, false))
    return make_error(errc::invalid_argument, "name contains control characters");
  if (proto::has_bidi_controls(t))
    return make_error(errc::invalid_argument, "name contains bidirectional formatting characters");
  return t;
}

result<std::string> valid_topic(std::string_view topic, std::size_t max_chars) {
  auto len = proto::utf8_length(topic);
  if (!len) return make_error(errc::invalid_argument, "topic is not valid UTF-8");
  if (*len > max_chars) return make_error(errc::invalid_argument, "topic is too long");
  if (proto::has_control_chars(topic, false))
    return make_error(errc::invalid_argument, "topic contains control characters");
  if (proto::has_bidi_controls(topic))
    return make_error(errc::invalid_argument, "topic contains bidirectional formatting characters");
  return proto::trim(topic);
}
}  // namespace

awaitable<result<room>> service::create_room(const auth::actor& who, room_kind kind, std::string name,
                                             std::string topic) {
  if (kind == room_kind::direct)
    co_return make_error(errc::invalid_argument, "use /api/v1/dms for direct conversations");
  auto n = valid_name(name, limits_.max_room_name_chars);
  if (!n) co_return n.error();
  auto t = valid_topic(topic, limits_.max_topic_chars);
  if (!t) co_return t.error();
  auto r = co_await rooms_.create_room(kind, *n, *t, who.id);
  if (!r && r.error().code == errc::already_exists)
    co_return make_error(errc::already_exists, "a room with this name exists");
  if (r) hub_.member_added(r->id, who.id, 1);
  co_return r;
}

awaitable<result<room>> service::open_direct(const auth::actor& who, const std::string& other_username) {
  const auto other_name = proto::ascii_lower(other_username);
  auto other = co_await rooms_.find_user(other_name);
  if (!other) co_return other.error();
  if (!*other || (*other)->disabled) co_return make_error(errc::not_found, "user not found");
  if ((*other)->id == who.id) co_return make_error(errc::invalid_argument, "cannot message yourself");
  auto r = co_await rooms_.open_direct(who.id, (*other)->id);
  if (!r) co_return r.error();
  // Both members follow the conversation live from its first event on.
  hub_.member_added(r->id, who.id, r->last_seq + 1);
  hub_.member_added(r->id, (*other)->id, r->last_seq + 1);
  co_return r;
}

awaitable<result<room>> service::get_room(const auth::actor& who, room_id id) {
  auto r = co_await rooms_.get_room(id, who.id);
  if (!r) co_return r.error();
  if (!*r) co_return make_error(errc::not_found, "room not found");
  if (auto ok = auth::authorize(who, auth::action::view_room, {(*r)->kind, (*r)->my_role}); !ok)
    co_return ok.error();
  co_return std::move(**r);
}

awaitable<result<std::vector<room>>> service::my_rooms(const auth::actor& who) {
  co_return co_await rooms_.rooms_of(who.id);
}

awaitable<result<std::vector<room>>> service::public_rooms(const auth::actor& who) {
  co_return co_await rooms_.public_rooms(who.id);
}

awaitable<result<std::vector<member>>> service::members(const auth::actor& who, room_id id) {
  auto f = co_await facts(id, who.id);
  if (!f) co_return f.error();
  if (auto ok = auth::authorize(who, auth::action::read_history, *f); !ok) co_return ok.error();
  co_return co_await rooms_.members(id);
}

awaitable<result<room>> service::join(const auth::actor& who, room_id id) {
  auto f = co_await facts(id, who.id);
  if (!f) co_return f.error();
  if (auto ok = auth::authorize(who, auth::action::join, *f); !ok) co_return ok.error();
  auto seq = co_await rooms_.add_member(id, who.id, room_role::member, who.id);
  if (!seq) co_return seq.error();
  if (*seq) {
    hub_.member_added(id, who.id, **seq);
    co_await publish_event(id, **seq);
  }
  co_return co_await get_room(who, id);
}

awaitable<result<void>> service::leave(const auth::actor& who, room_id id) {
  auto f = co_await facts(id, who.id);
  if (!f) co_return f.error();
  if (auto ok = auth::authorize(who, auth::action::leave, *f); !ok) co_return ok.error();
  auto seq = co_await rooms_.remove_member(id, who.id, who.id);
  if (!seq) co_return seq.error();
  if (*seq) {
    co_await publish_event(id, **seq);
    hub_.member_removed(id, who.id, **seq);
  }
  co_return result<void>{};
}

awaitable<result<void>> service::invite(const auth::actor& who, room_id id, const std::string& username) {
  auto f = co_await facts(id, who.id);
  if (!f) co_return f.error();
  if (auto ok = auth::authorize(who, auth::action::invite, *f); !ok) co_return ok.error();
  const auto other_name = proto::ascii_lower(username);
  auto other = co_await rooms_.find_user(other_name);
  if (!other) co_return other.error();
  if (!*other || (*other)->disabled) co_return make_error(errc::not_found, "user not found");
  auto seq = co_await rooms_.add_member(id, (*other)->id, room_role::member, who.id);
  if (!seq) co_return seq.error();
  if (!*seq) co_return make_error(errc::already_exists, "already a member");
  hub_.member_added(id, (*other)->id, **seq);
  co_await publish_event(id, **seq);
  co_return result<void>{};
}

awaitable<result<void>> service::set_topic(const auth::actor& who, room_id id, std::string topic) {
  auto f = co_await facts(id, who.id);
  if (!f) co_return f.error();
  if (auto ok = auth::authorize(who, auth::action::set_topic, *f); !ok) co_return ok.error();
  auto t = valid_topic(topic, limits_.max_topic_chars);
  if (!t) co_return t.error();
  auto seq = co_await rooms_.set_topic(id, *t, who.id);
  if (!seq) co_return seq.error();
  co_await publish_event(id, *seq);
  co_return result<void>{};
}

awaitable<result<void>> service::set_retention(const auth::actor& who, room_id id, std::int64_t days) {
  auto f = co_await facts(id, who.id);
  if (!f) co_return f.error();
  if (auto ok = auth::authorize(who, auth::action::set_retention, *f); !ok) co_return ok.error();
  if (days < 0 || days > 36500)
    co_return make_error(errc::invalid_argument, "retention_days must be 1-36500, or null to keep messages");
  co_return co_await rooms_.set_retention(id, static_cast<int>(days), who.id);
}

awaitable<result<void>> service::set_member_role(const auth::actor& who, room_id id, user_id member,
                                                 room_role role, const audit::origin& from) {
  auto f = co_await facts(id, who.id);
  if (!f) co_return f.error();
  if (auto ok = auth::authorize(who, auth::action::set_member_role, *f); !ok) co_return ok.error();
  auto current = co_await rooms_.role_of(id, member);
  if (!current) co_return current.error();
  if (*current == room_role::none) co_return make_error(errc::not_found, "member not found");
  if (auto ok = auth::authorize_role_change(who, *f, *current, role); !ok) co_return ok.error();
  if (*current == role) co_return result<void>{};
  if (*current == room_role::owner) {
    auto owners = co_await rooms_.owner_count(id);
    if (!owners) co_return owners.error();
    if (*owners <= 1) co_return make_error(errc::failed_precondition, "a room needs at least one owner");
  }
  auto seq = co_await rooms_.set_role(id, member, role, who.id);
  if (!seq) co_return seq.error();
  if (!*seq) co_return make_error(errc::not_found, "member not found");
  co_await publish_event(id, **seq);
  co_await audit_.record(who.id, "room.set_role",
                         audit::member_target(id, member) + " role:" + std::string(to_string(role)), from);
  co_return result<void>{};
}

awaitable<result<void>> service::remove_member(const auth::actor& who, room_id id, user_id member,
                                               const audit::origin& from) {
  auto f = co_await facts(id, who.id);
  if (!f) co_return f.error();
  if (member == who.id) co_return make_error(errc::invalid_argument, "use leave to leave a room");
  auto current = co_await rooms_.role_of(id, member);
  if (!current) co_return current.error();
  if (auto ok = auth::authorize_member_removal(who, *f, *current); !ok) co_return ok.error();
  if (*current == room_role::none) co_return make_error(errc::not_found, "member not found");
  auto seq = co_await rooms_.remove_member(id, member, who.id);
  if (!seq) co_return seq.error();
  if (!*seq) co_return make_error(errc::not_found, "member not found");
  co_await publish_event(id, **seq);
  hub_.member_removed(id, member, **seq);
  co_await audit_.record(who.id, "room.remove_member", audit::member_target(id, member), from);
  co_return result<void>{};
}

awaitable<result<history_page>> service::history(const auth::actor& who, room_id id, seq_t before,
                                                 int limit) {
  auto f = co_await facts(id, who.id);
  if (!f) co_return f.error();
  if (auto ok = auth::authorize(who, auth::action::read_history, *f); !ok) co_return ok.error();
  if (limit <= 0 || limit > limits_.history_page_max)
    co_return make_error(errc::invalid_argument,
                         "limit must be 1.." + std::to_string(limits_.history_page_max));
  if (before < 0) co_return make_error(errc::invalid_argument, "before must be >= 0");
  auto rows = co_await messages_.history(id, before, limit);
  if (!rows) co_return rows.error();
  history_page page;
  if (static_cast<int>(rows->size()) == limit && !rows->empty()) page.next_before = rows->back().seq;
  page.messages.assign(rows->rbegin(), rows->rend());
  co_return page;
}

awaitable<result<void>> service::mark_read(const auth::actor& who, room_id id, seq_t seq) {
  auto f = co_await facts(id, who.id);
  if (!f) co_return f.error();
  if (auto ok = auth::authorize(who, auth::action::post, *f); !ok) co_return ok.error();
  co_return co_await rooms_.set_read(id, who.id, seq);
}

// Loads a message and decides `what` on it. Whoever may not see the room learns nothing about
// the message either: every refusal for a non-member is not_found.
awaitable<result<message>> service::authorized_message(const auth::actor& who, message_id id,
                                                       auth::action what) {
  auto m = co_await messages_.get_message(id);
  if (!m) co_return m.error();
  if (!*m) co_return make_error(errc::not_found, "message not found");
  auto f = co_await facts((*m)->room, who.id);
  if (!f) co_return f.error();
  auth::message_facts mf{(*m)->author, (*m)->deleted};
  if (auto ok = auth::authorize(who, what, *f, mf); !ok) {
    if (ok.error().code == errc::not_found || f->actor_role == room_role::none)
      co_return make_error(errc::not_found, "message not found");
    co_return ok.error();
  }
  co_return std::move(**m);
}

awaitable<result<edit_outcome>> service::edit(const auth::actor& who, message_id id, std::string body) {
  auto m = co_await authorized_message(who, id, auth::action::edit_message);
  if (!m) co_return m.error();
  auto valid = proto::validate_body(body, limits_.max_message_body_chars);
  if (!valid) co_return valid.error();
  auto r = co_await messages_.edit_message(id, *valid, who.id);
  if (!r) co_return r.error();
  if (!*r) co_return make_error(errc::not_found, "message not found");
  edit_outcome out = std::move(**r);
  co_await publish_event(out.room, out.seq);
  co_return out;
}

awaitable<result<edit_outcome>> service::remove(const auth::actor& who, message_id id, const audit::origin& from) {
  auto m = co_await authorized_message(who, id, auth::action::delete_message);
  if (!m) co_return m.error();
  auto r = co_await messages_.delete_message(id, who.id);
  if (!r) co_return r.error();
  if (!*r) co_return make_error(errc::not_found, "message not found");
  edit_outcome out = std::move(**r);
  co_await publish_event(out.room, out.seq);
  co_await audit_.record(who.id, "message.delete", audit::target("message", id), from);
  co_return out;
}

awaitable<result<edit_outcome>> service::react(const auth::actor& who, message_id id, std::string emoji,
                                               bool add) {
  auto len = proto::utf8_length(emoji);
  if (!len || *len == 0 || *len > 8 || emoji.size() > 32 || proto::has_control_chars(emoji, false) ||
      emoji.find(' ') != std::string::npos)
    co_return make_error(errc::invalid_argument, "emoji must be 1-8 characters without spaces");
  auto m = co_await authorized_message(who, id, auth::action::post);
  if (!m) co_return m.error();
  if (m->deleted) co_return make_error(errc::not_found, "message not found");
  auto r = co_await messages_.set_reaction(id, who.id, emoji, add);
  if (!r) co_return r.error();
  if (!*r) co_return edit_outcome{m->room, 0, {}};  // nothing changed: idempotent
  edit_outcome out = std::move(**r);
  co_await publish_event(out.room, out.seq);
  co_return out;
}

awaitable<result<std::vector<replay_item>>> service::replay(room_id room, seq_t after, int limit) {
  co_return co_await messages_.replay(room, after, limit);
}

}  // namespace redoubt::chat
