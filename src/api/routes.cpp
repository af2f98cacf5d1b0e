// Every endpoint of the server, and the only place one is declared (docs/protocol.md is the
// contract). Order matters only where two patterns could match the same path: the literal
// row comes first (/rooms/public before /rooms/{room}).
#include "api/handlers.hpp"

namespace redoubt::api {

namespace {
namespace h = handlers;
using enum caller;
using enum rate_class;

constexpr route table[] = {
    // method, pattern, caller, rate class, body limit, handler
    {"GET", "/healthz", anyone, unlimited, 0, h::healthz},
    {"GET", "/readyz", anyone, unlimited, 0, h::readyz},
    // Prometheus: a bearer token (server.metrics_token_file), not exposed without one.
    {"GET", "/metrics", scraper, per_ip, 0, h::metrics},

    {"POST", "/api/v1/auth/register", anyone, per_ip, 0, h::register_user},
    {"POST", "/api/v1/auth/login", anyone, per_ip, 0, h::login},
    {"POST", "/api/v1/auth/verify-email", anyone, per_ip, 0, h::verify_email},
    {"POST", "/api/v1/auth/password-reset", anyone, per_ip, 0, h::request_password_reset},
    {"POST", "/api/v1/auth/password-reset/confirm", anyone, per_ip, 0, h::reset_password},
    {"POST", "/api/v1/auth/logout", session, per_ip, 0, h::logout},
    // The provider signs its calls; the handler checks the signature (no session).
    {"POST", "/api/v1/hooks/email", anyone, per_ip, 0, h::email_webhook},

    {"GET", "/api/v1/me", session, per_ip, 0, h::me},
    {"PATCH", "/api/v1/me", session, per_ip, 0, h::update_me},
    {"POST", "/api/v1/me/password", session, per_ip, 0, h::change_password},
    {"GET", "/api/v1/me/storage", session, per_ip, 0, h::my_storage},
    {"GET", "/api/v1/sessions", session, per_ip, 0, h::list_sessions},
    {"DELETE", "/api/v1/sessions/{session}", session, per_ip, 0, h::revoke_session},

    {"GET", "/api/v1/rooms", session, per_ip, 0, h::my_rooms},
    {"GET", "/api/v1/rooms/public", session, per_ip, 0, h::public_rooms},
    {"POST", "/api/v1/rooms", session, per_ip, 0, h::create_room},
    {"POST", "/api/v1/dms", session, per_ip, 0, h::open_direct},
    {"GET", "/api/v1/rooms/{room}", session, per_ip, 0, h::get_room},
    {"PATCH", "/api/v1/rooms/{room}", session, per_ip, 0, h::update_room},
    {"POST", "/api/v1/rooms/{room}/join", session, per_ip, 0, h::join_room},
    {"POST", "/api/v1/rooms/{room}/leave", session, per_ip, 0, h::leave_room},
    {"POST", "/api/v1/rooms/{room}/invite", session, per_ip, 0, h::invite},
    {"GET", "/api/v1/rooms/{room}/members", session, per_ip, 0, h::list_members},
    {"PUT", "/api/v1/rooms/{room}/members/{member}", session, per_ip, 0, h::set_member_role},
    {"DELETE", "/api/v1/rooms/{room}/members/{member}", session, per_ip, 0, h::remove_member},
    {"POST", "/api/v1/rooms/{room}/read", session, per_ip, 0, h::mark_read},

    {"GET", "/api/v1/rooms/{room}/messages", session, history_per_user, 0, h::history},
    {"POST", "/api/v1/rooms/{room}/messages", session, messages_per_user, 0, h::post_message},
    {"PATCH", "/api/v1/messages/{message}", session, per_ip, 0, h::edit_message},
    {"DELETE", "/api/v1/messages/{message}", session, per_ip, 0, h::delete_message},
    {"PUT", "/api/v1/messages/{message}/reactions/{emoji:text}", session, per_ip, 0, h::add_reaction},
    {"DELETE", "/api/v1/messages/{message}/reactions/{emoji:text}", session, per_ip, 0, h::remove_reaction},

    // Streamed: the body goes to the store as it arrives / the file is sent as it is read.
    {"POST", "/api/v1/rooms/{room}/attachments", session, per_ip, 0, nullptr, h::upload_attachment},
    {"GET", "/api/v1/attachments/{attachment}", session, per_ip, 0, nullptr, nullptr, h::download_attachment},
    {"HEAD", "/api/v1/attachments/{attachment}", session, per_ip, 0, nullptr, nullptr, h::download_attachment},
    {"GET", "/api/v1/attachments/{attachment}/meta", session, per_ip, 0, h::attachment_meta},
    {"GET", "/api/v1/attachments/{attachment}/thumbnail", session, per_ip, 0, h::attachment_thumbnail},
    {"DELETE", "/api/v1/attachments/{attachment}", session, per_ip, 0, h::discard_attachment},

    {"GET", "/api/v1/admin/users", admin, per_ip, 0, h::list_users},
    {"PATCH", "/api/v1/admin/users/{user}", admin, per_ip, 0, h::update_user},
    {"PUT", "/api/v1/admin/users/{user}/quota", admin, per_ip, 0, h::set_quota},
    {"GET", "/api/v1/admin/storage", admin, per_ip, 0, h::all_storage},
    {"GET", "/api/v1/admin/audit", admin, per_ip, 0, h::audit_log},
};

}  // namespace

std::span<const route> route_table() { return table; }

}  // namespace redoubt::api
