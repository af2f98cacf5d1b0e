// Project-wide error taxonomy (Abseil canonical names) and result<T>.
// Expected failures travel as values; one table in api/ maps them to HTTP and WS codes.
#pragma once

#include <string>
#include <string_view>
#include <type_traits>

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

namespace redoubt {

enum class errc : int {
  ok = 0,
  invalid_argument,
  unauthenticated,
  permission_denied,
  not_found,
  already_exists,
  resource_exhausted,  // rate limits, quotas, full queues
  payload_too_large,
  failed_precondition,
  conflict,  // retryable serialization failure or concurrent change
  deadline_exceeded,
  unavailable,  // dependency down: retry later
  internal,
  quota_exceeded,  // storage quota or free-disk watermark
};

const boost::system::error_category& redoubt_category() noexcept;
boost::system::error_code make_error_code(errc e) noexcept;
std::string_view errc_name(errc e) noexcept;

// An error value: a code from the taxonomy and a message safe to show the caller.
struct error {
  errc code = errc::internal;
  std::string message;
};

inline error make_error(errc code, std::string message) { return error{code, std::move(message)}; }

[[noreturn]] void throw_exception_from_error(const error& e, const boost::source_location& loc);

template <class T>
using result = boost::system::result<T, error>;

}  // namespace redoubt

template <>
struct boost::system::is_error_code_enum<redoubt::errc> : std::true_type {};
