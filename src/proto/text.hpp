// Validation of user-supplied text: UTF-8, lengths in code points, names, mentions.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace redoubt::proto {

// Number of Unicode scalar values, or nullopt when s is not valid UTF-8 (overlongs,
// surrogates and values above U+10FFFF are invalid).
std::optional<std::size_t> utf8_length(std::string_view s) noexcept;

// s unchanged when it is valid UTF-8; otherwise every byte that does not start a valid
// sequence becomes U+FFFD, so that what is written into JSON is always valid UTF-8.
std::string utf8_or_replacement(std::string_view s);

// A request header value made fit to store: invalid bytes become U+FFFD (as above), controls
// other than tab are dropped, and the result is cut to at most max_bytes on a character
// boundary (never in the middle of a UTF-8 sequence).
std::string header_text(std::string_view s, std::size_t max_bytes);

// True when s contains a C0 control other than \n and \t, DEL, or a C1 control.
bool has_control_chars(std::string_view s, bool allow_newlines) noexcept;

// True when s contains a bidirectional formatting character (U+061C, U+200E, U+200F,
// U+202A..U+202E, U+2066..U+2069): in a name or topic they reorder what is shown around them
// ("admin\u202Egnp.exe" shows as "adminexe.png"), so names refuse them.
bool has_bidi_controls(std::string_view s) noexcept;

// Lowercase ASCII letters, digits, '_', '.', '-'; 2..32 chars; starts with a letter or digit.
bool valid_username(std::string_view s) noexcept;
// Pragmatic address check (one '@', no spaces or controls, dotted domain), 3..254 bytes.
bool valid_email(std::string_view s) noexcept;
// Client message ids: 1..64 of [A-Za-z0-9_-].
bool valid_client_id(std::string_view s) noexcept;

std::string ascii_lower(std::string_view s);
std::string trim(std::string_view s);

// "@name" tokens in a message body (deduplicated, lowercase, in order of appearance).
std::vector<std::string> parse_mentions(std::string_view body);

}  // namespace redoubt::proto
