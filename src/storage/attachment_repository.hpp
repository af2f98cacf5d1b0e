// SQL for attachments (server side): reserve ids, store rows within quota, load what a read
// and its authorization need, usage and quotas.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "base/errc.hpp"
#include "chat/model.hpp"
#include "db/pg.hpp"

namespace redoubt::storage {

template <class T>
using awaitable = boost::asio::awaitable<T>;

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

class attachment_repository {
 public:
  explicit attachment_repository(std::shared_ptr<db::pool> pool) : pool_(std::move(pool)) {}

  awaitable<result<std::int64_t>> reserve_id();
  // Bytes the user stores now, and their quota (default when unset).
  awaitable<result<std::pair<std::int64_t, std::int64_t>>> usage_and_quota(std::int64_t user, std::int64_t default_quota);
  // The row and the client JSON, or the reason it was not stored.
  awaitable<result<std::pair<insert_status, std::string>>> insert(const new_attachment& a);
  awaitable<result<std::optional<attachment_row>>> load(std::int64_t id, std::int64_t viewer, bool with_thumbnail);
  // Marks an unattached upload of `uploader` for erasure; false when there is none.
  awaitable<result<bool>> discard_unattached(std::int64_t id, std::int64_t uploader);
  awaitable<result<storage_usage>> usage_of(std::int64_t user);
  awaitable<result<std::vector<storage_usage>>> usage_all();
  // false when no such user.
  awaitable<result<bool>> set_quota(std::int64_t user, std::optional<std::int64_t> quota_bytes);

 private:
  std::shared_ptr<db::pool> pool_;
};

}  // namespace redoubt::storage
