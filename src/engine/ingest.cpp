#include "src/engine/ingest.hpp"

#include <set>

#include "src/common/log.hpp"

namespace fg::engine {
namespace {

spdlog::logger& IngestLog() {
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

// The item's decoded body: handed over by the intake, or decoded from the stored body.
Result<crm::Decoded> DecodedOf(storage::Db& db, const storage::InboxItem& item,
                               const crm::WebhookDecoder& decoder, DecodedEvents* decoded) {
    if (decoded != nullptr) {
        if (auto kept = decoded->Take(item.seq)) {
            return std::move(kept).value();
        }
    }
    return DecodeStoredBody(
        db,
        {.seq = item.seq, .tenant = item.tenant, .crm = item.crm, .received_at = item.received_at},
        decoder);
}

// The failed elements in words, the first kShownFailures of them: a body of thousands of broken
// elements must not become a row and a log line of megabytes.
std::string JoinFailures(const std::vector<std::string>& failed, int applied) {
    constexpr std::size_t kShownFailures = 10;
    std::string text;
    for (std::size_t i = 0; i < failed.size() && i < kShownFailures; ++i) {
        text += (text.empty() ? "" : "; ") + failed[i];
    }
    if (failed.size() > kShownFailures) {
        text += fmt::format("; and {} more element(s)", failed.size() - kShownFailures);
    }
    if (applied > 0) {
        text += fmt::format(" (the body's other {} event(s) were applied)", applied);
    }
    return text;
}

// A waiting item whose decoder still answers kUnavailable: it waits again, unless a directory
// that started loading after it was parked lacks what it names too.
storage::InboxOutcome ParkOrFail(const storage::InboxItem& item, const Error& error,
                                 const IngestOptions& options, IngestOutcome& outcome) {
    const std::optional<Timestamp> loaded =
        options.directory_loaded ? options.directory_loaded(item.tenant) : std::nullopt;
    if (item.waiting_since && loaded && *loaded > *item.waiting_since) {
        return {.state = storage::InboxState::kFailed,
                .reason = std::string(storage::inbox_reason::kDirectory),
                .error = fmt::format("{}; the CRM directory loaded at {} does not have it either",
                                     error.message, FormatIso8601(*loaded))};
    }
    outcome.waiting.insert(item.tenant);
    IngestLog().info("Inbox item waits for the CRM directory. seq={} tenant={} reason={}", item.seq,
                     item.tenant, LogSafe(error.message));
    return {.state = storage::InboxState::kWaiting,
            .reason = std::string(storage::inbox_reason::kDirectory),
            .error = error.message};
}

// What the fetch stage stored with a fetched item; nullopt for any other item, or one to decode
// again from its body (the directory it waited for has loaded).
std::optional<storage::FetchedDoc> FetchedOf(storage::Db& db, const storage::InboxItem& item) {
    if (item.state != storage::InboxState::kFetched) {
        return std::nullopt;
    }
    const std::optional<std::string> stored = storage::InboxFetched(db, item.seq);
    return stored ? storage::DecodeFetched(*stored) : std::nullopt;
}

// Applies an item's events to the mirror, each event id once per tenant; returns how many the
// item held.
int ApplyEvents(storage::Db& db, storage::MirrorBatch& mirror, const storage::InboxItem& item,
                const std::vector<domain::Event>& events,
                std::map<std::string, std::set<std::string>>& affected, IngestOutcome& outcome) {
    int applied = 0;
    for (const domain::Event& event : events) {
        ++applied;
        if (!storage::MarkEventSeen(db, item.tenant, event.id)) {
            continue;  // delivered before
        }
        ++outcome.events;
        for (std::string& deal : mirror.Apply(item.tenant, event)) {
            affected[item.tenant].insert(std::move(deal));
        }
    }
    return applied;
}

// An item whose elements carry only ids waits for the fetch stage, as a whole.
storage::InboxOutcome WaitForFetch(const storage::InboxItem& item, const crm::Decoded& decoded,
                                   IngestOutcome& outcome) {
    outcome.waiting.insert(item.tenant);
    return {
        .state = storage::InboxState::kWaiting,
        .reason = std::string(storage::inbox_reason::kFetch),
        .error = fmt::format("{} element(s) to fetch from the CRM's API", decoded.fetch.size())};
}

// How a fetched item settles once its `applied` events went to the mirror.
storage::InboxOutcome FetchedOutcome(const storage::InboxItem& item,
                                     const storage::FetchedDoc& fetched, int applied,
                                     IngestOutcome& outcome) {
    for (const auto& [entity, count] : fetched.ignored) {
        outcome.elements[{item.crm, entity}] += count;
    }
    if (!fetched.failed.empty()) {
        outcome.elements[{item.crm, "failed"}] += static_cast<int>(fetched.failed.size());
        return {.state = storage::InboxState::kFailed,
                .reason = fetched.failed_reason.empty()
                              ? std::string(storage::inbox_reason::kBadElement)
                              : fetched.failed_reason,
                .error = JoinFailures(fetched.failed, applied)};
    }
    if (fetched.events.empty()) {
        return {.state = storage::InboxState::kIgnored,
                .reason = fetched.gone > 0 ? std::string(storage::inbox_reason::kGone) : "",
                .error = {}};
    }
    return {.state = storage::InboxState::kApplied, .reason = item.reason, .error = {}};
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
        storage::InboxOutcome settled;
        const config::TenantConfig* tenant = config.FindTenant(item.tenant);
        const auto decoder = decoders.find(item.crm);
        if (tenant == nullptr) {
            settled = {.state = storage::InboxState::kFailed,
                       .reason = std::string(storage::inbox_reason::kTenantRemoved),
                       .error = "tenant is no longer configured"};
        } else if (decoder == decoders.end()) {
            settled = {.state = storage::InboxState::kFailed,
                       .reason = std::string(storage::inbox_reason::kDecoder),
                       .error = fmt::format("no decoder for crm {}", item.crm)};
        } else if (std::optional<storage::FetchedDoc> fetched = FetchedOf(db, item)) {
            const int applied = ApplyEvents(db, mirror, item, fetched->events, affected, outcome);
            settled = FetchedOutcome(item, *fetched, applied, outcome);
        } else if (auto decoded = DecodedOf(db, item, *decoder->second, options.decoded);
                   !decoded) {
            if (decoded.error().code == ErrorCode::kUnavailable) {
                // The body is fine; the adapter needs a fresher directory.
                settled = ParkOrFail(item, decoded.error(), options, outcome);
            } else {
                settled = {.state = storage::InboxState::kFailed,
                           .reason = std::string(storage::inbox_reason::kDecoder),
                           .error = decoded.error().message};
            }
        } else if (!decoded->fetch.empty()) {
            settled = WaitForFetch(item, *decoded, outcome);
        } else {
            const int applied = ApplyEvents(db, mirror, item, decoded->events, affected, outcome);
            for (const auto& [entity, count] : decoded->ignored) {
                outcome.elements[{item.crm, entity}] += count;
            }
            if (!decoded->failed.empty()) {
                outcome.elements[{item.crm, "failed"}] += static_cast<int>(decoded->failed.size());
                settled = {.state = storage::InboxState::kFailed,
                           .reason = std::string(storage::inbox_reason::kBadElement),
                           .error = JoinFailures(decoded->failed, applied)};
            } else if (decoded->events.empty() && !decoded->ignored.empty()) {
                settled = {.state = storage::InboxState::kIgnored, .reason = {}, .error = {}};
            }
        }
        if (item.state == storage::InboxState::kFetched &&
            settled.state == storage::InboxState::kApplied && settled.reason.empty()) {
            settled.reason = item.reason;  // it went through the fetch stage
        }
        if (settled.state == storage::InboxState::kFailed) {
            ++outcome.failed;
            IngestLog().error(
                "Inbox item could not be processed in full; kept with the reason. seq={} "
                "tenant={} reason={} error={}",
                item.seq, item.tenant, settled.reason, LogSafe(settled.error));
        }
        ++outcome.settled[{item.crm, std::string(storage::InboxStateName(settled.state))}];
        storage::SettleInbox(db, item.seq, now, settled);
    }
    mirror.Flush();
    return affected;
}

void JudgeAffected(storage::Db& db, const std::map<std::string, std::set<std::string>>& affected,
                   const config::AppConfig& config, const ChannelLookup& channels, Timestamp now,
                   IngestOutcome& outcome) {
    for (const auto& [tenant_id, deals] : affected) {
        const config::TenantConfig* tenant = config.FindTenant(tenant_id);
        if (tenant == nullptr) {
            continue;
        }
        const JudgeContext context{
            .tenant = *tenant,
            .channels = channels ? channels(tenant_id) : std::vector<std::string>{},
            .now = now};
        JudgeOutcome judged;
        for (const std::string& deal : deals) {
            Append(judged, JudgeDeal(db, context, deal));
        }
        outcome.judged.emplace_back(tenant_id, std::move(judged));
    }
}

}  // namespace

Result<crm::Decoded> DecodeStoredBody(storage::Db& db, const StoredBody& item,
                                      const crm::WebhookDecoder& decoder) {
    const crm::WebhookRequest request{.tenant = item.tenant,
                                      .content_type = {},
                                      .body = storage::InboxBody(db, item.seq),
                                      .received_at = item.received_at};
    try {
        return decoder.DecodeElements(request);
    } catch (const std::exception& error) {
        // A decoder that throws (a bug, or memory) fails this item only, with the reason: were it
        // left pending like a storage error, it would hold up every item behind it for good.
        return MakeError(ErrorCode::kInternal, "the {} decoder failed: {}", item.crm, error.what());
    }
}

void DecodedEvents::Keep(std::int64_t seq, crm::Decoded&& decoded) {
    if (events_ + decoded.events.size() > max_events_) {
        return;
    }
    events_ += decoded.events.size();
    by_seq_[seq] = std::move(decoded);
}

std::optional<crm::Decoded> DecodedEvents::Take(std::int64_t seq) {
    const auto found = by_seq_.find(seq);
    if (found == by_seq_.end()) {
        return std::nullopt;
    }
    crm::Decoded decoded = std::move(found->second);
    by_seq_.erase(found);
    events_ -= decoded.events.size();
    return decoded;
}

IngestOutcome IngestBatch(storage::Db& db, const config::AppConfig& config,
                          const Decoders& decoders, const ChannelLookup& channels, Timestamp now,
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
        JudgeAffected(db, affected, config, channels, now, outcome);
        transaction.Commit();
        return outcome;
    } catch (const std::exception& error) {
        IngestLog().warn("Inbox batch failed, retrying item by item. items={} error={}",
                         items.size(), error.what());
    }
    // Events taken out of `decoded` by the failed attempt are decoded from the bodies again.
    const IngestOptions one_by_one{.limit = 1,
                                   .decoded = options.decoded,
                                   .yield = {},
                                   .directory_loaded = options.directory_loaded};
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
            JudgeAffected(db, affected, config, channels, now, one);
            transaction.Commit();
            total.items += one.items;
            total.events += one.events;
            total.failed += one.failed;
            total.waiting.merge(one.waiting);
            for (const auto& [key, count] : one.settled) {
                total.settled[key] += count;
            }
            for (const auto& [key, count] : one.elements) {
                total.elements[key] += count;
            }
            for (auto& judged : one.judged) {
                total.judged.push_back(std::move(judged));
            }
        } catch (const std::exception& error) {
            // Left pending: an acknowledged webhook is never dropped; the next kick retries it.
            IngestLog().error("Inbox item failed to apply; it stays pending. seq={} error={}",
                              item.seq, error.what());
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
