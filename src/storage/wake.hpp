#pragma once

#include <optional>
#include <string>
#include <vector>

#include "src/common/time.hpp"
#include "src/storage/database.hpp"

/// Which deals to evaluate when: the minute timer's wake-ups and the nightly list of deals.
/// Throws SQLite::Exception on database errors.
namespace fg::storage {

/// When the minute timer should next evaluate a deal (nullopt: only on events).
void SetWakeAt(Db& db, const std::string& tenant, const std::string& deal_id,
               std::optional<Timestamp> wake_at);
struct DealRef {
    std::string tenant{};
    std::string deal_id{};
};
/// Deals whose wake_at <= now, earliest first (deleting a deal clears its wake_at).
std::vector<DealRef> DealsToWake(Db& db, Timestamp now, int limit);
/// Every non-deleted deal (of one tenant, or all when empty), for the nightly re-evaluation.
std::vector<DealRef> AllDeals(Db& db, const std::string& tenant);

}  // namespace fg::storage
