// The processing of the inbox: slices of IngestBatch on the writer thread (in the background,
// or all pending at once by Drain), and what they report (metrics, items for the fetch stage,
// violations). A hot path (bench/README.md §2).
#include "src/engine/engine.hpp"

namespace fg::engine {

IngestOutcome Engine::IngestOnce(storage::Db& db, const YieldCheck& yield) {
    const ChannelLookup channels = [this](const std::string& tenant) { return Channels(tenant); };
    const IngestOptions ingest{.limit = options_.ingest_batch,
                               .decoded = &decoded_,
                               .yield = yield,
                               .directory_loaded = [this](const std::string& tenant) {
                                   return DirectoryLoadedAt(tenant);
                               }};
    IngestOutcome outcome =
        IngestBatch(db, *Config(), options_.decoders, channels, options_.clock->Now(), ingest);
    metrics_.EventsApplied(outcome.events);
    for (const auto& [key, count] : outcome.settled) {
        metrics_.InboxSettled(key.first, key.second, count);
    }
    for (const auto& [key, count] : outcome.elements) {
        metrics_.WebhookElements(key.first, key.second, count);
    }
    if (!outcome.waiting.empty()) {
        fetch_.Wake();
    }
    for (const auto& [tenant, judged] : outcome.judged) {
        Report(tenant, judged);
    }
    return outcome;
}

Result<int> Engine::Drain() {
    int events = 0;
    for (;;) {
        IngestOutcome outcome;
        try {
            outcome = writer_->Call([this](storage::Db& db) { return IngestOnce(db, {}); }).get();
        } catch (const std::exception& error) {
            return MakeError(ErrorCode::kUnavailable, "processing failed: {}", error.what());
        }
        events += outcome.events;
        if (outcome.items == 0) {
            return events;
        }
    }
}

}  // namespace fg::engine
