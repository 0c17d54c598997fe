#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
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

/// Processes up to `limit` pending inbox items in one write transaction: decode, dedupe events,
/// apply them to the mirror in CRM time, judge every affected deal as of `now`. An item that
/// cannot be decoded is marked processed with the reason and never retried; a storage error
/// rolls the batch back and retries item by item so one poisonous item cannot block the rest.
IngestOutcome IngestBatch(storage::Db& db, const config::AppConfig& config,
                          const Decoders& decoders, const SinkCheck& has_sink, Timestamp now,
                          int limit);

/// Re-judges the given deals of one tenant in one transaction (timer and nightly sweeps).
JudgeOutcome JudgeDeals(storage::Db& db, const JudgeContext& context,
                        const std::vector<std::string>& deal_ids);

}  // namespace fg::engine
