#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "src/common/time.hpp"

/// The inbox: webhook bodies as received, each with its processing state. Functions throw
/// SQLite::Exception on database errors; the caller owns the transaction (see database.hpp).
namespace fg::storage {

class Db;

/// Where an inbox item stands. Every item but a stored one has been processed once at least.
enum class InboxState {
    kStored,   // committed, not processed yet
    kWaiting,  // parked until the tenant's CRM directory knows what it names
    kApplied,  // its events reached the mirror
    kIgnored,  // nothing in it the rules judge (contacts, companies, unsorted...)
    kFailed,   // it, or some of its elements, could not be understood (the rest was applied);
               // kept with the reason
};
std::string_view InboxStateName(InboxState state);
std::optional<InboxState> ParseInboxState(std::string_view name);

/// Reason codes of failed and waiting items (`InboxOutcome::reason`, the metrics' label).
namespace inbox_reason {
inline constexpr std::string_view kBadElement = "bad_element";  // an element was not understood
inline constexpr std::string_view kDirectory = "directory";  // waits for, or lacks after a refresh
inline constexpr std::string_view kDirectoryTimeout = "directory_timeout";  // waited too long
inline constexpr std::string_view kDecoder = "decoder";  // the decoder refused or failed the body
inline constexpr std::string_view kTenantRemoved = "tenant_removed";  // no longer configured
}  // namespace inbox_reason

struct InboxItem {
    std::int64_t seq = 0;
    std::string tenant{};
    std::string crm{};         // "generic", "amocrm", ...
    std::string dedupe_key{};  // per (tenant, crm); a second insert with it is a no-op
    std::string body{};        // as received (already redacted by the adapter if it holds secrets)
    Timestamp received_at{};
    std::optional<Timestamp> waiting_since{};  // first parked for the directory (requeued since)
};

/// Inserts unless (tenant, crm, dedupe_key) exists. Returns true when inserted (the item's seq is
/// then db.sql().getLastInsertRowid()).
bool InsertInbox(Db& db, const InboxItem& item);
/// Stored (unprocessed) items in arrival order, without their bodies (InboxItem::body stays
/// empty: a body is read by InboxBody when it is needed, one at a time).
std::vector<InboxItem> PendingInbox(Db& db, int limit);
/// The body of an inbox item (empty when there is no such item).
std::string InboxBody(Db& db, std::int64_t seq);

/// How processing settled an item.
struct InboxOutcome {
    InboxState state = InboxState::kApplied;
    std::string reason{};  // a code of inbox_reason, for failed and waiting items
    std::string error{};   // the reason in words
};
/// Records how an item was processed at `at`. kWaiting keeps the item's first waiting_since;
/// every other state clears it. kStored is not an outcome.
void SettleInbox(Db& db, std::int64_t seq, Timestamp at, const InboxOutcome& outcome);
/// Puts a tenant's waiting items back to stored (after a directory refresh); returns how many.
/// They keep waiting_since, so that processing can tell a refresh that still lacks the id.
int RequeueWaitingInbox(Db& db, const std::string& tenant);
/// Fails the items that have waited since before `before` (reason directory_timeout, `error`
/// prefixed to the reason they waited for); returns how many.
int FailWaitingSince(Db& db, Timestamp before, Timestamp now, const std::string& error);
/// Puts failed and waiting items back to stored, as new (`funnelguard inbox retry`); all tenants
/// when `tenant` is empty. Returns how many.
int RetryInbox(Db& db, const std::string& tenant);

/// An item as the API lists it (no body).
struct InboxEntry {
    std::int64_t seq = 0;
    std::string tenant{};
    std::string crm{};
    InboxState state = InboxState::kStored;
    std::string reason{};
    std::string error{};
    Timestamp received_at{};
    std::optional<Timestamp> processed_at{};
    std::optional<Timestamp> waiting_since{};
};
struct InboxFilter {
    std::string tenant{};                    // empty: all
    InboxState state = InboxState::kFailed;  // kFailed or kWaiting (the indexed states)
    int limit = 100;
};
/// Newest first.
std::vector<InboxEntry> ListInbox(Db& db, const InboxFilter& filter);

struct InboxStats {
    std::int64_t pending = 0;
    std::optional<Timestamp> oldest_pending{};
};
InboxStats GetInboxStats(Db& db);
/// Failed and waiting items by (tenant, state, reason).
std::vector<std::tuple<std::string, InboxState, std::string, std::int64_t>> UnsettledInboxCounts(
    Db& db);

}  // namespace fg::storage
