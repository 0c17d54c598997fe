#pragma once

#include <cstdint>
#include <map>
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
    kWaiting,  // for the fetch stage: elements to fetch from the CRM's API, or the tenant's CRM
               // directory to load (reason fetch / directory); tried again with backoff
    kFetched,  // completed by the fetch stage; the writer applies it next
    kApplied,  // its events reached the mirror
    kIgnored,  // nothing in it the rules judge (contacts, companies, unsorted...), or what it
               // named is gone from the CRM
    kFailed,   // it, or some of its elements, could not be understood or fetched (the rest was
               // applied); kept with the reason
};
std::string_view InboxStateName(InboxState state);
std::optional<InboxState> ParseInboxState(std::string_view name);
/// Every state, in the order above (the API's counts).
inline constexpr InboxState kInboxStates[] = {InboxState::kStored,  InboxState::kWaiting,
                                              InboxState::kFetched, InboxState::kApplied,
                                              InboxState::kIgnored, InboxState::kFailed};

/// Reason codes (`InboxOutcome::reason`, the metrics' label). Waiting, fetched and applied items
/// that went through the fetch stage say what for (kFetch, kDirectory); failed ones why; an
/// ignored one kGone when the CRM no longer had what it named. Empty: nothing to say (applied
/// or ignored straight away).
namespace inbox_reason {
inline constexpr std::string_view kFetch = "fetch";          // elements from the CRM's API
inline constexpr std::string_view kDirectory = "directory";  // waits for, or lacks after a load
inline constexpr std::string_view kGone = "gone";            // the CRM no longer has what it named
inline constexpr std::string_view kBadElement = "bad_element";  // an element was not understood
inline constexpr std::string_view kDirectoryTimeout = "directory_timeout";  // waited too long
inline constexpr std::string_view kDecoder = "decoder";  // the decoder refused or failed the body
inline constexpr std::string_view kTenantRemoved = "tenant_removed";  // no longer configured
inline constexpr std::string_view kFetchFailed = "fetch_failed";      // the CRM refused an element
inline constexpr std::string_view kFetchTimeout = "fetch_timeout";    // kept failing, or too long
inline constexpr std::string_view kNoFetcher = "no_fetcher";          // the tenant's CRM has no API
}  // namespace inbox_reason

struct InboxItem {
    std::int64_t seq = 0;
    std::string tenant{};
    std::string crm{};         // "generic", "amocrm", ...
    std::string dedupe_key{};  // per (tenant, crm); a second insert with it is a no-op
    std::string body{};        // as received (already redacted by the adapter if it holds secrets)
    Timestamp received_at{};
    std::optional<Timestamp> waiting_since{};  // first parked for the fetch stage
    /// PendingInbox: kStored, or kFetched (then `reason` says what it was fetched for).
    InboxState state = InboxState::kStored;
    std::string reason{};
};

/// Inserts unless (tenant, crm, dedupe_key) exists. Returns true when inserted (the item's seq is
/// then db.sql().getLastInsertRowid()).
bool InsertInbox(Db& db, const InboxItem& item);
/// Stored and fetched items (those the writer applies next) in arrival order, without their
/// bodies (InboxItem::body stays empty: a body is read by InboxBody when it is needed, one at a
/// time).
std::vector<InboxItem> PendingInbox(Db& db, int limit);
/// The body of an inbox item (empty when there is no such item).
std::string InboxBody(Db& db, std::int64_t seq);
/// What the fetch stage stored with a fetched item (EncodeFetched's document); nullopt when it
/// stored nothing (decode the body again: the directory it waited for has loaded).
std::optional<std::string> InboxFetched(Db& db, std::int64_t seq);

/// How processing settled an item.
struct InboxOutcome {
    InboxState state = InboxState::kApplied;
    std::string reason{};  // a code of inbox_reason, for failed and waiting items
    std::string error{};   // the reason in words
};
/// Records how an item was processed at `at` (kStored and kFetched are not outcomes). kWaiting
/// keeps the item's first waiting_since and, while it waits for the same reason as before, its
/// attempts and next try (else it is due at `at`, as new); every other state clears them.
void SettleInbox(Db& db, std::int64_t seq, Timestamp at, const InboxOutcome& outcome);
/// Hands a tenant's items waiting for the directory back to the writer (state fetched, nothing
/// fetched: their bodies are decoded again) after a directory load; returns how many. They keep
/// waiting_since, so that processing can tell a load that still lacks the id, and one that waits
/// again is next tried at `retry_at` (at once when nullopt).
int RequeueWaitingInbox(Db& db, const std::string& tenant,
                        std::optional<Timestamp> retry_at = std::nullopt);
/// Fails the items that have waited for the directory since before `before` (reason
/// directory_timeout, `error` prefixed to the reason they waited for); returns how many.
int FailWaitingSince(Db& db, Timestamp before, Timestamp now, const std::string& error);
/// The same for the items waiting for `waiting_reason`, failed with `failed_reason`.
int FailWaitingSince(Db& db, std::string_view waiting_reason, std::string_view failed_reason,
                     Timestamp before, Timestamp now, const std::string& error);
/// Puts failed and waiting items back to stored, as new (`funnelguard inbox retry`); all tenants
/// when `tenant` is empty. Returns how many.
int RetryInbox(Db& db, const std::string& tenant);

/// A waiting item as the fetch stage sees it (no body).
struct WaitingItem {
    std::int64_t seq = 0;
    std::string tenant{};
    std::string crm{};
    std::string reason{};  // inbox_reason::kFetch or kDirectory
    Timestamp received_at{};
    Timestamp waiting_since{};
    int attempts = 0;  // tries of the fetch stage so far
};
/// Waiting items due at `now`, the longest due first (then in arrival order).
std::vector<WaitingItem> DueWaitingInbox(Db& db, Timestamp now, int limit);
/// When the next waiting item falls due (nullopt: none waits).
std::optional<Timestamp> NextWaitingAttempt(Db& db);
/// The fetch stage is about to read what a waiting item names: the item gives up its dedupe key,
/// so the same bytes arriving from now on are stored as a change of their own (the read may
/// precede it). False when the item no longer waits or gave its key up already.
bool ReleaseInboxDedupe(Db& db, std::int64_t seq);
/// The fetch stage completed a waiting item at `at`: state fetched, pending for the writer, with
/// `fetched` (EncodeFetched's document; nullopt: decode the body again). `reason` says what it
/// was fetched for. False (nothing changed) when the item no longer waits.
bool MarkInboxFetched(Db& db, std::int64_t seq, Timestamp at, std::string_view reason,
                      const std::optional<std::string>& fetched);
/// A try of the fetch stage that did not complete a waiting item: it is tried again at `next`,
/// `error` says why (empty: no error, e.g. a try put off), and `counted` adds one to its
/// attempts. False when the item no longer waits.
bool DeferWaitingInbox(Db& db, std::int64_t seq, Timestamp next, const std::string& error,
                       bool counted);
/// SettleInbox for the fetch stage: only while the item waits (false otherwise).
bool SettleWaitingInbox(Db& db, std::int64_t seq, Timestamp at, const InboxOutcome& outcome);

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
    int attempts = 0;                            // tries of the fetch stage
    std::optional<Timestamp> next_attempt_at{};  // waiting: its next try
    std::string fetch_error{};                   // waiting: why the last try failed
    std::optional<Timestamp> fetched_at{};
};
struct InboxFilter {
    std::string tenant{};  // empty: all
    InboxState state = InboxState::kFailed;
    int limit = 100;
};
/// Newest first. Stored and fetched items are found through the pending index, waiting, fetched
/// and failed ones through their own; applied and ignored ones are read newest first until
/// `limit` are found.
std::vector<InboxEntry> ListInbox(Db& db, const InboxFilter& filter);
/// How many items are in each state (every state, zeros included), of one tenant or of all
/// (empty). Applied and ignored items are counted by inbox_settled, the others by index.
std::map<InboxState, std::int64_t> InboxStateCounts(Db& db, const std::string& tenant);

struct InboxStats {
    std::int64_t pending = 0;
    std::optional<Timestamp> oldest_pending{};
};
InboxStats GetInboxStats(Db& db);
/// Waiting, fetched and failed items by (tenant, state, reason).
std::vector<std::tuple<std::string, InboxState, std::string, std::int64_t>> UnsettledInboxCounts(
    Db& db);
/// Every state's items by (tenant, state, reason), for /metrics: the unsettled ones, stored ones
/// (reason empty) and the applied and ignored counts of inbox_settled.
std::vector<std::tuple<std::string, InboxState, std::string, std::int64_t>> InboxCountsByReason(
    Db& db);

}  // namespace fg::storage
