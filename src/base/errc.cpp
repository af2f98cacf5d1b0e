#include "base/errc.hpp"

#include <stdexcept>

namespace redoubt {
namespace {

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "redoubt"; }
  std::string message(int ev) const override { return std::string(errc_name(static_cast<errc>(ev))); }
};

}  // namespace

const boost::system::error_category& redoubt_category() noexcept {
  static const category instance;
  return instance;
}

boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), redoubt_category()};
}

std::string_view errc_name(errc e) noexcept {
  switch (e) {
    case errc::ok: return "ok";
    case errc::invalid_argument: return "invalid_argument";
    case errc::unauthenticated: return "unauthenticated";
    case errc::permission_denied: return "permission_denied";
    case errc::not_found: return "not_found";
    case errc::already_exists: return "already_exists";
    case errc::resource_exhausted: return "resource_exhausted";
    case errc::payload_too_large: return "payload_too_large";
    case errc::failed_precondition: return "failed_precondition";
    case errc::conflict: return "conflict";
    case errc::deadline_exceeded: return "deadline_exceeded";
    case errc::unavailable: return "unavailable";
    case errc::internal: return "internal";
    case errc::quota_exceeded: return "quota_exceeded";
  }
  return "internal";
}

void throw_exception_from_error(const error& e, const boost::source_location&) {
  throw std::runtime_error(std::string(errc_name(e.code)) + ": " + e.message);
}

}  // namespace redoubt
