// The REST handlers, one group per resource file (api/<resource>_routes.cpp). They are
// declared here and routed only by the table in api/routes.cpp. A handler runs after the
// router's shared checks: its caller class holds (scope.session is set for session routes).
#pragma once

#include "api/router.hpp"

namespace redoubt::api::handlers {

using boost::asio::awaitable;

// auth_routes.cpp
awaitable<http_response> register_user(route_env&, request_scope&);
awaitable<http_response> login(route_env&, request_scope&);
awaitable<http_response> verify_email(route_env&, request_scope&);
awaitable<http_response> request_password_reset(route_env&, request_scope&);
awaitable<http_response> reset_password(route_env&, request_scope&);
awaitable<http_response> logout(route_env&, request_scope&);

// me_routes.cpp
awaitable<http_response> me(route_env&, request_scope&);
awaitable<http_response> update_me(route_env&, request_scope&);
awaitable<http_response> change_password(route_env&, request_scope&);
awaitable<http_response> list_sessions(route_env&, request_scope&);
awaitable<http_response> revoke_session(route_env&, request_scope&);

// room_routes.cpp
awaitable<http_response> my_rooms(route_env&, request_scope&);
awaitable<http_response> public_rooms(route_env&, request_scope&);
awaitable<http_response> create_room(route_env&, request_scope&);
awaitable<http_response> open_direct(route_env&, request_scope&);
awaitable<http_response> get_room(route_env&, request_scope&);
awaitable<http_response> update_room(route_env&, request_scope&);
awaitable<http_response> join_room(route_env&, request_scope&);
awaitable<http_response> leave_room(route_env&, request_scope&);

// member_routes.cpp
awaitable<http_response> invite(route_env&, request_scope&);
awaitable<http_response> list_members(route_env&, request_scope&);
awaitable<http_response> set_member_role(route_env&, request_scope&);
awaitable<http_response> remove_member(route_env&, request_scope&);
awaitable<http_response> mark_read(route_env&, request_scope&);

// message_routes.cpp
awaitable<http_response> history(route_env&, request_scope&);
awaitable<http_response> post_message(route_env&, request_scope&);
awaitable<http_response> edit_message(route_env&, request_scope&);
awaitable<http_response> delete_message(route_env&, request_scope&);
awaitable<http_response> add_reaction(route_env&, request_scope&);
awaitable<http_response> remove_reaction(route_env&, request_scope&);

// attachment_routes.cpp
awaitable<stream_outcome> upload_attachment(route_env&, request_scope&, body_source&);
awaitable<stream_outcome> download_attachment(route_env&, request_scope&, body_sink&);
awaitable<http_response> attachment_meta(route_env&, request_scope&);
awaitable<http_response> attachment_thumbnail(route_env&, request_scope&);
awaitable<http_response> discard_attachment(route_env&, request_scope&);
awaitable<http_response> my_storage(route_env&, request_scope&);
awaitable<http_response> all_storage(route_env&, request_scope&);
awaitable<http_response> set_quota(route_env&, request_scope&);

// admin_routes.cpp
awaitable<http_response> list_users(route_env&, request_scope&);
awaitable<http_response> update_user(route_env&, request_scope&);
awaitable<http_response> audit_log(route_env&, request_scope&);

// hook_routes.cpp
awaitable<http_response> email_webhook(route_env&, request_scope&);

// ops_routes.cpp
awaitable<http_response> healthz(route_env&, request_scope&);
awaitable<http_response> readyz(route_env&, request_scope&);
awaitable<http_response> metrics(route_env&, request_scope&);

}  // namespace redoubt::api::handlers
