// The attachment endpoints (see docs/protocol.md "Attachments"). Uploads and downloads are
// streamed through body_source / body_sink so that memory does not grow with file size.
// The router authenticates the caller and hands over; authorization is the policy module's.
#pragma once

#include <memory>

#include <boost/asio/awaitable.hpp>

#include "api/http_types.hpp"
#include "api/metrics.hpp"
#include "audit/recorder.hpp"
#include "auth/policy.hpp"
#include "auth/rate_limit.hpp"
#include "base/config.hpp"
#include "chat/attachment_catalog.hpp"

namespace redoubt::files {
class attachment_store;
}
namespace redoubt::chat {
class service;
}

namespace redoubt::api {

class attachment_endpoints {
 public:
  // `store` is null when attachments are disabled: every endpoint answers 404 then.
  attachment_endpoints(const settings& config, files::attachment_store* store, chat::attachment_catalog& rows,
                       audit::recorder& audit, chat::service& chat, metrics& stats);

  bool enabled() const { return store_ != nullptr; }

  boost::asio::awaitable<stream_outcome> upload(const http_request& req, const auth::actor& who,
                                                std::int64_t room, body_source& body);
  boost::asio::awaitable<stream_outcome> download(const http_request& req, const auth::actor& who,
                                                  std::int64_t id, body_sink& sink);
  boost::asio::awaitable<http_response> meta(const http_request& req, const auth::actor& who, std::int64_t id);
  boost::asio::awaitable<http_response> thumbnail(const http_request& req, const auth::actor& who, std::int64_t id);
  boost::asio::awaitable<http_response> discard(const http_request& req, const auth::actor& who, std::int64_t id);
  boost::asio::awaitable<http_response> my_storage(const auth::actor& who);
  boost::asio::awaitable<http_response> all_storage(const auth::actor& who);
  boost::asio::awaitable<http_response> set_quota(const http_request& req, const auth::actor& who,
                                                  std::int64_t user);

 private:
  // The row as `who` may see it; not_found also when attachments are disabled.
  boost::asio::awaitable<result<chat::attachment_row>> find_row(std::int64_t id,
                                                                const auth::actor& who,
                                                                bool with_thumbnail);
  boost::asio::awaitable<stream_outcome> store_upload(const http_request& req, const auth::actor& who,
                                                      std::int64_t room, body_source& body);

  const settings& config_;
  files::attachment_store* store_;
  chat::attachment_catalog& rows_;
  audit::recorder& audit_;
  chat::service& chat_;
  metrics& stats_;
  auth::rate_limiter upload_bytes_;    // per user, bytes per second
  auth::rate_limiter download_bytes_;  // per user, bytes per second
};

}  // namespace redoubt::api
