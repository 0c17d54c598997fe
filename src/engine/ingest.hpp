#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "src/config/config.hpp"
#include "src/crm/adapter.hpp"
#include "src/engine/judge.hpp"
#include "src/storage/store.hpp"

namespace fg::engine {

using Decoders = std::map<std::string, std::unique_ptr<crm::WebhookDecoder>, std::less<>>;

struct IngestOutcome {
    int items = 0;   // inbox items processed
    int events = 0;  // events applied (duplicates excluded)
    int failed = 0;  // items that could not be decoded (kept in the inbox with the reason)
    /// Tenants with items that wait for a fresher CRM directory (a stage or pipeline the
    /// adapter's catalog does not know yet): refresh it, then RequeueWaitingInbox.
    std::set<std::string> waiting{};
    std::vector<std::pair<std::string, JudgeOutcome>> judged{};  // by tenant
};

/// Which tenants may enqueue actions (they have somewhere to send them).
using SinkCheck = std::function<bool(const std::string& tenant)>;

/// Events decoded before their body was stored (the HTTP intake and replay decode to validate),
/// by inbox seq: processing takes them out instead of reading and decoding the body again. The
/// body stays the reference: an item without an entry is decoded from it. Bounded, so that a
/// backlog does not hold its events in memory. Not thread-safe (the writer thread's).
class DecodedEvents {
public:
    explicit DecodedEvents(std::size_t max_events) : max_events_(max_events) {}

    /// Keeps the events of a stored item unless that would exceed the bound.
    void Keep(std::int64_t seq, std::vector<domain::Event>&& events);
    /// The item's events, removed; nullopt when not kept.
    std::optional<std::vector<domain::Event>> Take(std::int64_t seq);
    std::size_t events() const { return events_; }

private:
    std::size_t max_events_;
    std::size_t events_ = 0;
    std::unordered_map<std::int64_t, std::vector<domain::Event>> by_seq_;
};

struct IngestOptions {
    int limit = 64;                    // inbox items at most
    DecodedEvents* decoded = nullptr;  // optional
    // Asked between items (at least one is processed): true = stop, commit what is done.
    std::function<bool()> yield{};
};

/// Processes pending inbox items in one write transaction: decode, dedupe events, apply them to
/// the mirror in CRM time, judge every affected deal as of `now`. An item that cannot be decoded
/// is marked processed with the reason and never retried; one whose decoder answers kUnavailable
/// (the CRM directory lacks what it names) is parked with storage::kWaitingForDirectory and its
/// tenant listed in `waiting`; a decoder that throws fails its item like a decode error. A
/// storage error rolls the batch back and retries item by item: the items before the failing one
/// are committed, the failing one stays pending (retried on the next run) and, while it fails,
/// holds up the items after it.
IngestOutcome IngestBatch(storage::Db& db, const config::AppConfig& config,
                          const Decoders& decoders, const SinkCheck& has_sink, Timestamp now,
                          const IngestOptions& options);

/// Re-judges the given deals of one tenant in one transaction (timer and nightly sweeps).
JudgeOutcome JudgeDeals(storage::Db& db, const JudgeContext& context,
                        const std::vector<std::string>& deal_ids);

}  // namespace fg::engine
