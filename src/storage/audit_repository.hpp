// audit::log_store over PostgreSQL (migrations: audit_log, audit_page(), audit_chain_status(),
// audit_head(), audit checkpoints). Thread-safe (stateless apart from the shared pool).
#pragma once

#include <memory>

#include "audit/log_store.hpp"
#include "db/pg.hpp"

namespace redoubt::storage {

class audit_repository final : public audit::log_store {
 public:
  explicit audit_repository(std::shared_ptr<db::pool> pool) : pool_(std::move(pool)) {}

  awaitable<result<void>> append(const audit::entry& e) override;
  awaitable<result<std::vector<audit::row>>> page(std::int64_t before, int limit) override;
  awaitable<result<audit::chain_state>> chain() override;
  awaitable<result<std::optional<audit::head>>> newest_head() override;
  awaitable<result<std::optional<audit::stored_checkpoint>>> newest_checkpoint() override;
  awaitable<result<bool>> add_checkpoint(const audit::head& h, const std::string& key_id,
                                         const std::string& signature_hex) override;

 private:
  std::shared_ptr<db::pool> pool_;
};

// Records written by the worker and the CLI use the same type.
using audit_entry = audit::entry;

}  // namespace redoubt::storage
