#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "src/config/config.hpp"
#include "src/domain/model.hpp"
#include "src/rules/rule.hpp"
#include "src/storage/store.hpp"

namespace fg::engine {

/// The JSON shapes of the API and of `check --format json`. Times are ISO 8601 in the tenant's
/// time zone (`time_zone` empty: UTC).
nlohmann::json ViolationToJson(const storage::Violation& violation, const std::string& time_zone);
nlohmann::json SnapshotToJson(const domain::DealSnapshot& snapshot, const std::string& time_zone);
/// An inbox item of GET /api/v1/inbox: {seq, tenant, crm, state, reason, error, received_at,
/// processed_at, attempts (the fetch stage's), and when they apply waiting_since,
/// next_attempt_at and last_attempt_error (waiting), fetched_at (fetched by the fetch stage)}.
nlohmann::json InboxEntryToJson(const storage::InboxEntry& entry, const std::string& time_zone);
/// {"stored": N, "waiting": N, "fetched": N, "applied": N, "ignored": N, "failed": N}.
nlohmann::json InboxCountsToJson(const std::map<storage::InboxState, std::int64_t>& counts);

/// Rewrites the times of a finding's details (ISO 8601 strings under the keys the rules write:
/// at, due, left_at, entered_at, without_task_since) in `time_zone`, so that people see every
/// time in one form, with the tenant's offset.
void LocalizeDetailTimes(nlohmann::json& details, const std::string& time_zone);

/// One violation found by `check`, as its --format json item shows it.
struct CheckItem {
    const std::string& tenant;
    const domain::Deal& deal;
    const rules::Finding& finding;
    Timestamp opened_at{};
    const std::string& message;
    const std::string& time_zone;
    /// The responsible user's name from the CRM directory; null when it has none.
    const std::string* responsible_name = nullptr;
    bool acknowledged = false;  // the head of sales acknowledged it (shown by check --all)
};

/// Appends one violation found by `check` as its --format json item: the object {acknowledged,
/// tenant, deal, deal_title, rule, responsible, responsible_name, opened_at (in the item's time
/// zone), details, message} as nlohmann::json::dump() writes it (keys sorted, compact), but
/// written directly: `check` prints hundreds of thousands of them.
void AppendCheckItem(std::string& out, const CheckItem& item);

}  // namespace fg::engine
