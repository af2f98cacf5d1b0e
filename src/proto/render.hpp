// Server -> client JSON: the one place that turns domain values into wire objects.
#pragma once

#include <string>

#include <boost/json/fwd.hpp>

#include "model/model.hpp"

namespace redoubt::proto {

boost::json::object user_json(const chat::user& u, bool include_private);
boost::json::object room_json(const chat::room& r);
boost::json::object member_json(const chat::member& m);
boost::json::object message_json(const chat::message& m);
boost::json::object session_json(const chat::session_info& s, std::int64_t current_session);

// {"type":"event","room":R,"seq":S,"kind":"message","actor":A,"at":T,"data":{message}}
std::string message_event_frame(const chat::message& m);
// Same envelope for other kinds; payload_json is the event's data object as JSON text.
std::string room_event_frame(const chat::room_event& e);

}  // namespace redoubt::proto
