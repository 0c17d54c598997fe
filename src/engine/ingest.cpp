#include "src/engine/ingest.hpp"

#include <set>

#include "src/common/log.hpp"

namespace fg::engine {
namespace {

spdlog::logger& Log() {
    static const auto logger = ModuleLogger("ingest");
    return *logger;
}

void Append(JudgeOutcome& into, JudgeOutcome&& from) {
    for (auto& change : from.changes) {
        into.changes.push_back(std::move(change));
    }
    for (auto& action : from.actions) {
        into.actions.push_back(std::move(action));
    }
}

// The item's events: handed over by the intake, or decoded from its body.
Result<std::vector<domain::Event>> EventsOf(storage::Db& db, const storage::InboxItem& item,
                                            const crm::WebhookDecoder& decoder,
                                            DecodedEvents* decoded) {
    if (decoded != nullptr) {
        if (auto events = decoded->Take(item.seq)) {
            return std::move(events).value();
        }
    }
    const crm::WebhookRequest request{
        .tenant = item.tenant, .content_type = {}, .body = storage::InboxBody(db, item.seq)};
    try {
        return decoder.Decode(request);
    } catch (const std::exception& error) {
        // A decoder that throws (a bug, or memory) fails this item only, with the reason: were it
        // left pending like a storage error, it would hold up every item behind it for good.
        return MakeError(ErrorCode::kInternal, "the {} decoder failed: {}", item.crm, error.what());
    }
}

// Applies items until `yield` says stop (after one at least); returns the affected deals by
// tenant, and how many items it took in `outcome.items`. Throws on storage errors.
std::map<std::string, std::set<std::string>> ApplyItems(
    storage::Db& db, const std::vector<storage::InboxItem>& items, const config::AppConfig& config,
    const Decoders& decoders, Timestamp now, const IngestOptions& options, IngestOutcome& outcome) {
    std::map<std::string, std::set<std::string>> affected;
    storage::MirrorBatch mirror(db);
    for (const storage::InboxItem& item : items) {
        if (outcome.items > 0 && options.yield && options.yield()) {
            break;
        }
        ++outcome.items;
        const config::TenantConfig* tenant = config.FindTenant(item.tenant);
        const auto decoder = decoders.find(item.crm);
        std::string error;
        if (tenant == nullptr) {
            error = "tenant is no longer configured";
        } else if (decoder == decoders.end()) {
            error = fmt::format("no decoder for crm {}", item.crm);
        } else {
            auto events = EventsOf(db, item, *decoder->second, options.decoded);
            if (!events && events.error().code == ErrorCode::kUnavailable) {
                // The body is fine; the adapter needs a fresher directory. Parked, not failed:
                // it goes back to pending once the directory is refreshed.
                outcome.waiting.insert(item.tenant);
                Log().info("Inbox item waits for the CRM directory. seq={} tenant={} reason={}",
                           item.seq, item.tenant, LogSafe(events.error().message));
                storage::MarkInboxProcessed(
                    db, item.seq, now,
                    std::string(storage::kWaitingForDirectory) + events.error().message);
                continue;
            }
            if (!events) {
                error = events.error().message;
            } else {
                for (const domain::Event& event : *events) {
                    if (!storage::MarkEventSeen(db, item.tenant, event.id)) {
                        continue;  // delivered before
                    }
                    ++outcome.events;
                    for (std::string& deal : mirror.Apply(item.tenant, event)) {
                        affected[item.tenant].insert(std::move(deal));
                    }
                }
            }
        }
        if (!error.empty()) {
            ++outcome.failed;
            Log().error(
                "Inbox item could not be processed; kept with the reason. seq={} tenant={} "
                "error={}",
                item.seq, item.tenant, LogSafe(error));
        }
        storage::MarkInboxProcessed(db, item.seq, now, error);
    }
    mirror.Flush();
    return affected;
}

void JudgeAffected(storage::Db& db, const std::map<std::string, std::set<std::string>>& affected,
                   const config::AppConfig& config, const SinkCheck& has_sink, Timestamp now,
                   IngestOutcome& outcome) {
    for (const auto& [tenant_id, deals] : affected) {
        const config::TenantConfig* tenant = config.FindTenant(tenant_id);
        if (tenant == nullptr) {
            continue;
        }
        const JudgeContext context{
            .tenant = *tenant, .enqueue_actions = has_sink && has_sink(tenant_id), .now = now};
        JudgeOutcome judged;
        for (const std::string& deal : deals) {
            Append(judged, JudgeDeal(db, context, deal));
        }
        outcome.judged.emplace_back(tenant_id, std::move(judged));
    }
}

}  // namespace

void DecodedEvents::Keep(std::int64_t seq, std::vector<domain::Event>&& events) {
    if (events_ + events.size() > max_events_) {
        return;
    }
    events_ += events.size();
    by_seq_[seq] = std::move(events);
}

std::optional<std::vector<domain::Event>> DecodedEvents::Take(std::int64_t seq) {
    const auto found = by_seq_.find(seq);
    if (found == by_seq_.end()) {
        return std::nullopt;
    }
    std::vector<domain::Event> events = std::move(found->second);
    by_seq_.erase(found);
    events_ -= events.size();
    return events;
}

IngestOutcome IngestBatch(storage::Db& db, const config::AppConfig& config,
                          const Decoders& decoders, const SinkCheck& has_sink, Timestamp now,
                          const IngestOptions& options) {
    // Bodies are read one at a time (EventsOf), and only for items whose events were not handed
    // over: a batch of large bodies (1 MiB each at most) never sits in memory at once.
    const std::vector<storage::InboxItem> items = storage::PendingInbox(db, options.limit);
    if (items.empty()) {
        return {};
    }
    try {
        IngestOutcome outcome;
        storage::WriteTransaction transaction(db);
        const auto affected = ApplyItems(db, items, config, decoders, now, options, outcome);
        JudgeAffected(db, affected, config, has_sink, now, outcome);
        transaction.Commit();
        return outcome;
    } catch (const std::exception& error) {
        Log().warn("Inbox batch failed, retrying item by item. items={} error={}", items.size(),
                   error.what());
    }
    // Events taken out of `decoded` by the failed attempt are decoded from the bodies again.
    const IngestOptions one_by_one{.limit = 1, .decoded = options.decoded, .yield = {}};
    IngestOutcome total;
    for (const storage::InboxItem& item : items) {
        // One commit per item: the batch's yield still bounds how long webhooks wait behind it.
        if (total.items > 0 && options.yield && options.yield()) {
            break;
        }
        try {
            IngestOutcome one;
            storage::WriteTransaction transaction(db);
            const auto affected = ApplyItems(db, {item}, config, decoders, now, one_by_one, one);
            JudgeAffected(db, affected, config, has_sink, now, one);
            transaction.Commit();
            total.items += one.items;
            total.events += one.events;
            total.failed += one.failed;
            total.waiting.merge(one.waiting);
            for (auto& judged : one.judged) {
                total.judged.push_back(std::move(judged));
            }
        } catch (const std::exception& error) {
            // Left pending: an acknowledged webhook is never dropped; the next kick retries it.
            Log().error("Inbox item failed to apply; it stays pending. seq={} error={}", item.seq,
                        error.what());
            break;
        }
    }
    return total;
}

JudgeOutcome JudgeDeals(storage::Db& db, const JudgeContext& context,
                        const std::vector<std::string>& deal_ids) {
    JudgeOutcome outcome;
    for (const std::string& deal : deal_ids) {
        Append(outcome, JudgeDeal(db, context, deal));
    }
    return outcome;
}

}  // namespace fg::engine
