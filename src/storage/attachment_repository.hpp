// chat::attachment_catalog over PostgreSQL: attachment rows, quotas, usage (the bytes are in
// files/). Thread-safe (stateless apart from the shared pool).
#pragma once

#include <memory>

#include "chat/attachment_catalog.hpp"
#include "db/pg.hpp"

namespace redoubt::storage {

class attachment_repository final : public chat::attachment_catalog {
 public:
  explicit attachment_repository(std::shared_ptr<db::pool> pool) : pool_(std::move(pool)) {}

  boost::asio::awaitable<result<std::int64_t>> reserve_id() override;
  boost::asio::awaitable<result<std::pair<std::int64_t, std::int64_t>>> usage_and_quota(
      std::int64_t user, std::int64_t default_quota) override;
  boost::asio::awaitable<result<std::pair<chat::insert_status, std::string>>> insert(
      const chat::new_attachment& a) override;
  boost::asio::awaitable<result<std::optional<chat::attachment_row>>> load(std::int64_t id, std::int64_t viewer,
                                                                          bool with_thumbnail) override;
  boost::asio::awaitable<result<bool>> discard_unattached(std::int64_t id, std::int64_t uploader) override;
  boost::asio::awaitable<result<chat::storage_usage>> usage_of(std::int64_t user) override;
  boost::asio::awaitable<result<std::vector<chat::storage_usage>>> usage_all() override;
  boost::asio::awaitable<result<bool>> set_quota(std::int64_t user, std::optional<std::int64_t> quota_bytes) override;

 private:
  std::shared_ptr<db::pool> pool_;
};

}  // namespace redoubt::storage
