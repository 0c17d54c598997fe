#include "src/engine/fetch_worker.hpp"

#include <algorithm>

#include "src/common/log.hpp"

namespace fg::engine {
namespace {

spdlog::logger& FetchWorkerLog() {
    static const auto logger = ModuleLogger("fetch");
    return *logger;
}

// Capped doubling, without jitter: a tenant's waiting items are tried together anyway (one
// batch per tenant), and a wait that can be computed is one an operator can read off the inbox.
Duration Backoff(int attempt, Duration first) {
    Duration wait = first;
    for (int i = 1; i < attempt && wait < FetchWorker::kRetryMost; ++i) {
        wait *= 2;
    }
    return std::min(wait, FetchWorker::kRetryMost);
}

std::string_view OutcomeName(crm::Fetched::Outcome outcome) {
    switch (outcome) {
        case crm::Fetched::Outcome::kEvents:
            return "fetched";
        case crm::Fetched::Outcome::kRetry:
            return "retry";
        case crm::Fetched::Outcome::kGone:
            return "gone";
        case crm::Fetched::Outcome::kFailed:
            return "failed";
    }
    return "failed";
}

storage::InboxOutcome Failed(std::string_view reason, std::string error) {
    return {.state = storage::InboxState::kFailed,
            .reason = std::string(reason),
            .error = std::move(error)};
}

}  // namespace

FetchWorker::FetchWorker(const Clock* clock, Metrics& metrics) : clock_(clock), metrics_(metrics) {}

FetchWorker::~FetchWorker() { Stop(); }

void FetchWorker::AddFetcher(const std::string& tenant, std::unique_ptr<crm::Fetcher> fetcher) {
    if (fetcher) {
        fetchers_[tenant] = std::move(fetcher);
    }
}

void FetchWorker::Bind(Writer& writer, const Decoders& decoders, const config::AppConfig& config,
                       DirectoryAccess directory) {
    writer_ = &writer;
    decoders_ = &decoders;
    config_ = &config;
    directory_ = std::move(directory);
}

void FetchWorker::Start(std::string db_path) {
    thread_ = std::thread([this, path = std::move(db_path)] { Loop(path); });
}

void FetchWorker::Stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
}

void FetchWorker::Wake() {
    {
        std::lock_guard lock(mutex_);
        woken_ = true;
    }
    wake_.notify_one();
}

void FetchWorker::Loop(const std::string& db_path) {
    auto reader = storage::OpenDatabase(db_path, /*read_only=*/true);
    if (!reader) {
        FetchWorkerLog().error("Fetch worker cannot open the database. error={}",
                               reader.error().message);
        return;
    }
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        woken_ = false;
        lock.unlock();
        int moved = 0;
        bool full = false;
        try {
            moved = Pass(**reader, full);
        } catch (const std::exception& error) {
            FetchWorkerLog().warn("Fetch pass failed, will retry. error={}", error.what());
        }
        lock.lock();
        if (full && moved > 0) {
            continue;  // more may be due
        }
        // After a write the storage refused, the next pass waits: at once, it would fail again.
        const auto pause =
            moved < 0 ? std::chrono::duration_cast<std::chrono::milliseconds>(Writer::kRetryFirst)
                      : std::chrono::duration_cast<std::chrono::milliseconds>(kPoll);
        wake_.wait_for(lock, pause, [this] { return woken_ || stopping_.load(); });
    }
}

int FetchWorker::FetchDue(storage::Db& reader) {
    bool full = false;
    return Pass(reader, full);
}

int FetchWorker::Pass(storage::Db& reader, bool& full) {
    std::lock_guard pass(pass_mutex_);
    const Timestamp now = clock_->Now();
    const std::vector<storage::WaitingItem> due = storage::DueWaitingInbox(reader, now, kPassItems);
    std::map<std::string, std::vector<const storage::WaitingItem*>> by_tenant;
    for (const storage::WaitingItem& item : due) {
        by_tenant[item.tenant].push_back(&item);
    }
    int moved = 0;
    for (const auto& [tenant, items] : by_tenant) {
        if (stopping_) {
            break;
        }
        std::vector<Step> steps;
        if (config_->FindTenant(tenant) == nullptr) {
            for (const storage::WaitingItem* item : items) {
                steps.push_back({.kind = Step::Kind::kSettle,
                                 .seq = item->seq,
                                 .crm = item->crm,
                                 .outcome = Failed(storage::inbox_reason::kTenantRemoved,
                                                   "tenant is no longer configured")});
            }
        } else {
            std::vector<const storage::WaitingItem*> directory;
            std::vector<const storage::WaitingItem*> elements;
            for (const storage::WaitingItem* item : items) {
                (item->reason == storage::inbox_reason::kDirectory ? directory : elements)
                    .push_back(item);
            }
            if (!directory.empty()) {
                FetchDirectory(tenant, directory, now, steps, moved);
            }
            if (!elements.empty()) {
                FetchElements(reader, tenant, elements, now, steps);
            }
        }
        const int recorded = Record(steps);
        if (recorded < 0) {
            return -1;
        }
        moved += recorded;
    }
    if (moved > 0) {
        writer_->Kick();
    }
    full = due.size() == static_cast<std::size_t>(kPassItems);
    return moved;
}

void FetchWorker::FetchDirectory(const std::string& tenant,
                                 const std::vector<const storage::WaitingItem*>& items,
                                 Timestamp now, std::vector<Step>& steps, int& moved) {
    const std::string& crm = items.front()->crm;
    if (directory_.recently_tried && directory_.recently_tried(tenant)) {
        // A load under way hands them back when it succeeds; otherwise they come round again.
        for (const storage::WaitingItem* item : items) {
            steps.push_back({.kind = Step::Kind::kDefer,
                             .seq = item->seq,
                             .crm = item->crm,
                             .next = now + kDirectoryRetry});
        }
        return;
    }
    const Result<void> loaded = directory_.refresh
                                    ? directory_.refresh(tenant)
                                    : MakeError(ErrorCode::kNotFound, "no directory access");
    if (loaded) {
        metrics_.Fetched(crm, "directory", "fetched", 1);
        moved += static_cast<int>(items.size());  // requeued by the load's own transaction
        return;
    }
    if (loaded.error().code == ErrorCode::kNotFound) {
        for (const storage::WaitingItem* item : items) {
            steps.push_back(
                {.kind = Step::Kind::kSettle,
                 .seq = item->seq,
                 .crm = item->crm,
                 .outcome = Failed(storage::inbox_reason::kNoFetcher,
                                   "the tenant's CRM has no API to load its directory from")});
        }
        return;
    }
    metrics_.Fetched(crm, "directory", "retry", 1);
    FetchWorkerLog().warn(
        "Loading the CRM directory for waiting webhooks failed, will retry. tenant={} items={} "
        "error={}",
        tenant, items.size(), LogSafe(loaded.error().message));
    for (const storage::WaitingItem* item : items) {
        steps.push_back({.kind = Step::Kind::kDefer,
                         .seq = item->seq,
                         .crm = item->crm,
                         .next = now + Backoff(item->attempts + 1, kDirectoryRetry),
                         .counted = true,
                         .error = "loading the CRM directory failed: " + loaded.error().message});
    }
}

void FetchWorker::FetchElements(storage::Db& reader, const std::string& tenant,
                                const std::vector<const storage::WaitingItem*>& items,
                                Timestamp now, std::vector<Step>& steps) {
    const auto fetcher = fetchers_.find(tenant);
    struct Pending {
        const storage::WaitingItem* item;
        crm::Decoded decoded;
    };
    std::vector<Pending> pending;
    for (const storage::WaitingItem* item : items) {
        Step step{.kind = Step::Kind::kSettle, .seq = item->seq, .crm = item->crm};
        const auto decoder = decoders_->find(item->crm);
        if (decoder == decoders_->end()) {
            step.outcome = Failed(storage::inbox_reason::kDecoder,
                                  fmt::format("no decoder for crm {}", item->crm));
            steps.push_back(std::move(step));
            continue;
        }
        // The body again: the references it waits for and the events it holds whole.
        Result<crm::Decoded> decoded = DecodeStoredBody(reader,
                                                        {.seq = item->seq,
                                                         .tenant = item->tenant,
                                                         .crm = item->crm,
                                                         .received_at = item->received_at},
                                                        *decoder->second);
        if (!decoded && decoded.error().code == ErrorCode::kUnavailable) {
            // It names what the directory lacks now: it waits for the directory instead.
            step.outcome = {.state = storage::InboxState::kWaiting,
                            .reason = std::string(storage::inbox_reason::kDirectory),
                            .error = decoded.error().message};
        } else if (!decoded) {
            step.outcome = Failed(storage::inbox_reason::kDecoder, decoded.error().message);
        } else if (decoded->fetch.empty()) {
            // Nothing left to fetch: complete as it is.
            storage::FetchedDoc doc{
                .events = std::move(decoded->events),
                .failed = std::move(decoded->failed),
                .failed_reason = std::string(storage::inbox_reason::kBadElement),
                .ignored = std::move(decoded->ignored),
                .gone = 0};
            step.kind = Step::Kind::kFetched;
            step.reason = storage::inbox_reason::kFetch;
            step.fetched = storage::EncodeFetched(doc);
        } else if (fetcher == fetchers_.end()) {
            step.outcome = Failed(
                storage::inbox_reason::kNoFetcher,
                fmt::format("the {} adapter fetches nothing for this tenant; {} element(s) need "
                            "the CRM's API",
                            item->crm, decoded->fetch.size()));
        } else {
            pending.push_back({item, std::move(decoded).value()});
            continue;
        }
        steps.push_back(std::move(step));
    }
    if (pending.empty()) {
        return;
    }
    std::vector<std::int64_t> reading;
    for (const Pending& entry : pending) {
        reading.push_back(entry.item->seq);
    }
    ReleaseDedupe(reading);

    // The tenant's distinct references, in the order its items name them: one call per batch.
    std::vector<std::string> references;
    std::map<std::string, std::size_t> index;
    for (const Pending& entry : pending) {
        for (const std::string& reference : entry.decoded.fetch) {
            if (index.emplace(reference, references.size()).second) {
                references.push_back(reference);
            }
        }
    }
    std::vector<crm::Fetched> results(references.size());
    const std::size_t batch = std::max<std::size_t>(1, fetcher->second->MaxBatch());
    for (std::size_t begin = 0; begin < references.size(); begin += batch) {
        const std::size_t end = std::min(references.size(), begin + batch);
        const std::vector<std::string> chunk(
            references.begin() + static_cast<std::ptrdiff_t>(begin),
            references.begin() + static_cast<std::ptrdiff_t>(end));
        std::vector<crm::Fetched> answered;
        std::string missing = "the fetcher gave no answer for it";
        if (stopping_) {
            missing = "funnelguard is stopping";
        } else {
            try {
                answered = fetcher->second->Fetch(chunk);
            } catch (const std::exception& error) {
                missing = fmt::format("the fetcher failed: {}", error.what());
            }
        }
        for (std::size_t i = 0; i < chunk.size(); ++i) {
            if (i < answered.size()) {
                results[begin + i] = std::move(answered[i]);
            } else {
                results[begin + i] = {.outcome = crm::Fetched::Outcome::kRetry,
                                      .events = {},
                                      .reason = missing,
                                      .retry_after = {}};
            }
        }
    }
    const std::string& crm = pending.front().item->crm;
    std::map<crm::Fetched::Outcome, int> tally;
    for (const crm::Fetched& result : results) {
        ++tally[result.outcome];
    }
    for (const auto& [outcome, count] : tally) {
        metrics_.Fetched(crm, "reference", std::string(OutcomeName(outcome)), count);
    }

    for (Pending& entry : pending) {
        const storage::WaitingItem& item = *entry.item;
        const crm::Fetched* retry = nullptr;
        Duration retry_after{0};
        for (const std::string& reference : entry.decoded.fetch) {
            const crm::Fetched& result = results[index.at(reference)];
            if (result.outcome == crm::Fetched::Outcome::kRetry) {
                retry = retry != nullptr ? retry : &result;
                retry_after = std::max(retry_after, result.retry_after.value_or(Duration{0}));
            }
        }
        if (retry != nullptr) {
            // The item goes together or not at all; what was fetched for it is fetched again.
            const int attempts = item.attempts + 1;
            if (attempts >= kMaxAttempts) {
                FetchWorkerLog().error(
                    "A webhook's elements could not be fetched; kept as failed. seq={} tenant={} "
                    "attempts={} error={}",
                    item.seq, tenant, attempts, LogSafe(retry->reason));
                steps.push_back({.kind = Step::Kind::kSettle,
                                 .seq = item.seq,
                                 .crm = item.crm,
                                 .outcome = Failed(storage::inbox_reason::kFetchTimeout,
                                                   fmt::format("gave up after {} attempts: {}",
                                                               attempts, retry->reason))});
            } else {
                FetchWorkerLog().warn(
                    "Fetching a webhook's elements failed, will retry. seq={} tenant={} "
                    "attempt={} error={}",
                    item.seq, tenant, attempts, LogSafe(retry->reason));
                steps.push_back(
                    {.kind = Step::Kind::kDefer,
                     .seq = item.seq,
                     .crm = item.crm,
                     .next = now + std::max(Backoff(attempts, kRetryFirst), retry_after),
                     .counted = true,
                     .error = retry->reason});
            }
            continue;
        }
        storage::FetchedDoc doc{.events = std::move(entry.decoded.events),
                                .failed = std::move(entry.decoded.failed),
                                .failed_reason = std::string(storage::inbox_reason::kBadElement),
                                .ignored = std::move(entry.decoded.ignored),
                                .gone = 0};
        for (const std::string& reference : entry.decoded.fetch) {
            const crm::Fetched& result = results[index.at(reference)];
            switch (result.outcome) {
                case crm::Fetched::Outcome::kEvents:
                    // Copied: two items may name the same entity.
                    doc.events.insert(doc.events.end(), result.events.begin(), result.events.end());
                    break;
                case crm::Fetched::Outcome::kGone:
                    ++doc.gone;
                    break;
                case crm::Fetched::Outcome::kFailed:
                    doc.failed.push_back(fmt::format("{}: {}", reference, result.reason));
                    doc.failed_reason = storage::inbox_reason::kFetchFailed;
                    break;
                case crm::Fetched::Outcome::kRetry:
                    break;  // not here: the item was put off above
            }
        }
        steps.push_back({.kind = Step::Kind::kFetched,
                         .seq = item.seq,
                         .crm = item.crm,
                         .reason = std::string(storage::inbox_reason::kFetch),
                         .fetched = storage::EncodeFetched(doc)});
    }
}

void FetchWorker::ReleaseDedupe(const std::vector<std::int64_t>& seqs) {
    // Before the CRM is read, not after: a copy of the same bytes arriving during the read may be
    // a change the read misses (Bitrix24 sends identical bodies for two changes within a second).
    auto released = writer_
                        ->Transact([&seqs](storage::Db& db) {
                            for (const std::int64_t seq : seqs) {
                                storage::ReleaseInboxDedupe(db, seq);
                            }
                            return true;
                        })
                        .get();
    if (!released) {
        // The fetch goes on: its outcome gives the keys up as it is recorded.
        FetchWorkerLog().warn(
            "The fetch stage could not release its items' dedupe keys. items={} error={}",
            seqs.size(), released.error().message);
    }
}

int FetchWorker::Record(const std::vector<Step>& steps) {
    if (steps.empty()) {
        return 0;
    }
    const Timestamp now = clock_->Now();
    auto recorded = writer_
                        ->Transact([&steps, now](storage::Db& db) {
                            std::vector<bool> changed;
                            changed.reserve(steps.size());
                            for (const Step& step : steps) {
                                switch (step.kind) {
                                    case Step::Kind::kFetched:
                                        changed.push_back(storage::MarkInboxFetched(
                                            db, step.seq, now, step.reason, step.fetched));
                                        break;
                                    case Step::Kind::kDefer:
                                        changed.push_back(storage::DeferWaitingInbox(
                                            db, step.seq, step.next, step.error, step.counted));
                                        break;
                                    case Step::Kind::kSettle:
                                        changed.push_back(storage::SettleWaitingInbox(
                                            db, step.seq, now, step.outcome));
                                        break;
                                }
                            }
                            return changed;
                        })
                        .get();
    if (!recorded) {
        FetchWorkerLog().warn(
            "The fetch stage could not record its outcomes, will retry. items={} error={}",
            steps.size(), recorded.error().message);
        return -1;
    }
    int moved = 0;
    for (std::size_t i = 0; i < steps.size(); ++i) {
        if (!(*recorded)[i]) {
            continue;  // moved on meanwhile
        }
        ++moved;
        if (steps[i].kind == Step::Kind::kSettle) {
            metrics_.InboxSettled(steps[i].crm,
                                  std::string(storage::InboxStateName(steps[i].outcome.state)), 1);
        }
    }
    return moved;
}

}  // namespace fg::engine
