// The attachment records (not the bytes: files/ keeps those): the port the attachment use
// cases depend on. Implemented in storage/ (attachment_repository).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "base/errc.hpp"
#include "model/model.hpp"

namespace redoubt::chat {

struct new_attachment {
  std::int64_t id = 0;
  std::int64_t room = 0;
  std::int64_t uploader = 0;
  std::string storage_name;
  std::string filename;
  std::string content_type;
  std::int64_t size = 0;
  std::string sha256;
  std::int64_t created_us = 0;
  std::string key_id;
  std::string wrapped_key;  // raw bytes
  std::string signature;    // raw bytes
  bool scan = false;        // state 'scanning' and a scan job
  bool thumbnail = false;   // queue a thumbnail job
  std::int64_t default_quota = 0;
  std::string correlation_id;
};

enum class insert_status { ok, not_member, over_quota };

struct attachment_row {
  std::int64_t id = 0;
  std::int64_t room = 0;
  std::int64_t uploader = 0;
  std::optional<std::int64_t> message_id;
  bool message_deleted = false;
  std::string storage_name;
  std::string filename;
  std::string content_type;
  std::string sha256;
  std::string key_id;
  std::string wrapped_key;  // raw
  std::string signature;    // raw
  std::string state;
  std::string sealed_thumbnail;  // raw; empty when none (or not asked for)
  std::int64_t size = 0;
  std::int64_t created_us = 0;
  chat::room_kind room_kind = chat::room_kind::public_room;
  chat::room_role viewer_role = chat::room_role::none;
  std::string json;  // Attachment as clients see it
};

struct storage_usage {
  std::int64_t user_id = 0;
  std::string username;
  std::int64_t bytes = 0;
  std::int64_t files = 0;
  std::optional<std::int64_t> quota_bytes;  // nullopt = server default
};

class attachment_catalog {
 public:
  virtual ~attachment_catalog() = default;

  virtual boost::asio::awaitable<result<std::int64_t>> reserve_id() = 0;
  // Bytes the user stores now, and their quota (default when unset).
  virtual boost::asio::awaitable<result<std::pair<std::int64_t, std::int64_t>>> usage_and_quota(
      std::int64_t user, std::int64_t default_quota) = 0;
  // The row and the client JSON, or the reason it was not stored.
  virtual boost::asio::awaitable<result<std::pair<insert_status, std::string>>> insert(const new_attachment& a) = 0;
  virtual boost::asio::awaitable<result<std::optional<attachment_row>>> load(std::int64_t id, std::int64_t viewer,
                                                                            bool with_thumbnail) = 0;
  // Marks an unattached upload of `uploader` for erasure; false when there is none.
  virtual boost::asio::awaitable<result<bool>> discard_unattached(std::int64_t id, std::int64_t uploader) = 0;
  virtual boost::asio::awaitable<result<storage_usage>> usage_of(std::int64_t user) = 0;
  virtual boost::asio::awaitable<result<std::vector<storage_usage>>> usage_all() = 0;
  // false when no such user.
  virtual boost::asio::awaitable<result<bool>> set_quota(std::int64_t user, std::optional<std::int64_t> quota_bytes) = 0;
};

}  // namespace redoubt::chat
