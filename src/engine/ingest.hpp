#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "src/common/result.hpp"
#include "src/config/config.hpp"
#include "src/crm/adapter.hpp"
#include "src/engine/judge.hpp"
#include "src/storage/store.hpp"

namespace fg::engine {

using Decoders = std::map<std::string, std::unique_ptr<crm::WebhookDecoder>, std::less<>>;

struct IngestOutcome {
    int items = 0;   // inbox items processed
    int events = 0;  // events applied (duplicates excluded)
    int failed = 0;  // items kept failed in the inbox with the reason (whole, or some elements)
    /// Tenants with items that now wait for the fetch stage: elements to fetch from the CRM's
    /// API, or a fresher CRM directory (a stage or pipeline the adapter's catalog does not know
    /// yet).
    std::set<std::string> waiting{};
    std::vector<std::pair<std::string, JudgeOutcome>> judged{};  // by tenant
    /// Items settled, by (crm, state name), and elements, by (crm, what): "failed" for elements
    /// that could not be understood, else the entity an ignored element was about.
    std::map<std::pair<std::string, std::string>, int> settled{};
    std::map<std::pair<std::string, std::string>, int> elements{};
};

/// An inbox item's stored body, as DecodeStoredBody needs it.
struct StoredBody {
    std::int64_t seq = 0;
    std::string tenant{};
    std::string crm{};
    Timestamp received_at{};  // the request's time, so that event ids agree with the intake's
};
/// Decodes an inbox item's stored body, element by element (ingest and the fetch stage). A
/// decoder that throws is an error (kInternal) for this item alone.
Result<crm::Decoded> DecodeStoredBody(storage::Db& db, const StoredBody& item,
                                      const crm::WebhookDecoder& decoder);

/// Where a tenant's actions can go: its channels that have a sink (empty: nowhere).
using ChannelLookup = std::function<std::vector<std::string>(const std::string& tenant)>;

/// Bodies decoded before they were stored (the HTTP intake and replay decode to validate), by
/// inbox seq: processing takes them out instead of reading and decoding the body again. The
/// body stays the reference: an item without an entry is decoded from it. Bounded, so that a
/// backlog does not hold its events in memory. Not thread-safe (the writer thread's).
class DecodedEvents {
public:
    explicit DecodedEvents(std::size_t max_events) : max_events_(max_events) {}

    /// Keeps the decoded body of a stored item unless that would exceed the bound.
    void Keep(std::int64_t seq, crm::Decoded&& decoded);
    /// The item's decoded body, removed; nullopt when not kept.
    std::optional<crm::Decoded> Take(std::int64_t seq);
    std::size_t events() const { return events_; }

private:
    std::size_t max_events_;
    std::size_t events_ = 0;
    std::unordered_map<std::int64_t, crm::Decoded> by_seq_;
};

/// When the tenant's CRM directory last loaded (the time the load started), or nullopt.
using DirectoryLoaded = std::function<std::optional<Timestamp>(const std::string& tenant)>;

struct IngestOptions {
    int limit = 64;                    // inbox items at most
    DecodedEvents* decoded = nullptr;  // optional
    // Asked between items (at least one is processed): true = stop, commit what is done.
    std::function<bool()> yield{};
    DirectoryLoaded directory_loaded{};  // optional: without it, a waiting item waits on
};

/// Processes pending inbox items in one write transaction: decode (or, for an item the fetch
/// stage completed, read what it fetched), dedupe events, apply them to the mirror in CRM time,
/// judge every affected deal as of `now`, and settle each item (storage::SettleInbox):
/// - applied, or ignored when it held only what the rules do not judge (or what it named is
///   gone from the CRM);
/// - failed, with the reason, when the decoder refuses or fails the body, or some of its
///   elements could not be understood or fetched (the others are applied); failed items are not
///   retried unless someone asks (storage::RetryInbox);
/// - waiting for the fetch stage, its tenant listed in `waiting`: reason fetch when the decoder
///   returns references to fetch (crm::Decoded::fetch), reason directory when it answers
///   kUnavailable (the CRM directory lacks what it names); once a directory that started
///   loading after the item was parked still lacks it, the item fails (reason directory)
///   instead of waiting again.
/// A storage error rolls the batch back and retries item by item: the items before the failing
/// one are committed, the failing one stays stored (retried on the next run) and, while it
/// fails, holds up the items after it.
IngestOutcome IngestBatch(storage::Db& db, const config::AppConfig& config,
                          const Decoders& decoders, const ChannelLookup& channels, Timestamp now,
                          const IngestOptions& options);

/// Re-judges the given deals of one tenant in one transaction (timer and nightly sweeps).
JudgeOutcome JudgeDeals(storage::Db& db, const JudgeContext& context,
                        const std::vector<std::string>& deal_ids);

}  // namespace fg::engine
