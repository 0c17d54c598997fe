#include "src/engine/engine.hpp"

#include <random>

#include "src/common/log.hpp"
#include "src/engine/directory.hpp"
#include "src/engine/schedule.hpp"

namespace fg::engine {
namespace {

spdlog::logger& Log() {
    static const auto logger = ModuleLogger("engine");
    return *logger;
}

// How often the timer looks at the clock (real time); the sweep itself runs once per clock minute.
constexpr auto kTimerPoll = std::chrono::milliseconds{100};
constexpr Duration kSweepEvery = std::chrono::minutes{1};
// An action that still fails after this long goes dead instead of being retried forever.
constexpr Duration kGiveUpAfter = std::chrono::hours{72};
constexpr int kWakeBatch = 1000;
constexpr auto kCheckpointEvery = std::chrono::minutes{5};
// Decoded events kept for processing, at most (tens of MiB); beyond, bodies are decoded again.
constexpr std::size_t kMaxDecodedEvents = 100'000;
// Marks an outbox error the receiver gave without processing the action (DeliveryResult::not_sent).
constexpr std::string_view kNotSent = "not sent: ";
// Pipelines and users change rarely; webhooks naming an unknown stage also trigger a refresh.
constexpr auto kDirectoryEvery = std::chrono::hours{1};

double SteadySeconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

std::string OutcomeName(outbox::DeliveryStatus status) {
    switch (status) {
        case outbox::DeliveryStatus::kDelivered:
            return "delivered";
        case outbox::DeliveryStatus::kRetry:
            return "retry";
        case outbox::DeliveryStatus::kRejected:
            return "rejected";
    }
    return "unknown";
}

}  // namespace

Engine::Engine(EngineOptions options) : options_(std::move(options)), decoded_(kMaxDecodedEvents) {}

Engine::~Engine() { Stop(); }

Result<void> Engine::Start() {
    auto db = storage::OpenDatabase(options_.config->storage.path);
    if (!db) {
        return db.error();
    }
    auto effective = std::make_shared<config::AppConfig>(*options_.config);
    try {
        ApplyStoredDirectories(**db, *effective);
    } catch (const std::exception& error) {
        return MakeError(ErrorCode::kUnavailable, "cannot read the stored CRM directories: {}",
                         error.what());
    }
    for (const config::TenantConfig& tenant : options_.config->tenants) {
        if (!tenant.pipelines_from_api) {
            continue;  // its stages were checked against its pipelines as the config loaded
        }
        try {
            if (const std::optional<crm::Directory> stored = LoadDirectory(**db, tenant.id)) {
                RecordNameProblems(tenant, *stored);
            }
        } catch (const std::exception& error) {
            return MakeError(ErrorCode::kUnavailable, "cannot read the stored CRM directories: {}",
                             error.what());
        }
    }
    {
        std::lock_guard lock(config_mutex_);
        effective_ = std::move(effective);
    }
    for (const config::TenantConfig& tenant : options_.config->tenants) {
        if (options_.make_connector) {
            if (auto connector = options_.make_connector(tenant)) {
                // The connector paces its own calls with the account's rate limiter.
                sinks_[tenant.id] = &connector->Sink();
                connectors_[tenant.id] = std::move(connector);
                continue;
            }
        }
        if (options_.make_sink) {
            if (outbox::PacedSink paced = options_.make_sink(tenant); paced.sink) {
                sinks_[tenant.id] = paced.sink.get();
                owned_sinks_.push_back(std::move(paced.sink));
                const double rps = paced.calls_per_second > 0
                                       ? paced.calls_per_second
                                       : outbox::PacedSink::kDefaultCallsPerSecond;
                limiters_[tenant.id] =
                    std::make_unique<outbox::RateLimiter>(rps, std::max(1.0, rps));
            }
        }
    }
    writer_ = std::make_unique<Writer>(std::move(db).value());
    if (options_.background) {
        writer_->Start([this](storage::Db& db, const YieldCheck& yield) {
            return IngestOnce(db, yield).items > 0;
        });
    } else {
        writer_->Start();
    }
    if (options_.timers) {
        timer_ = std::thread([this] { TimerLoop(); });
    }
    if (options_.deliver) {
        outbox_ = std::thread([this] { OutboxLoop(); });
    }
    return Ok{};
}

void Engine::Stop() {
    {
        std::lock_guard lock(stop_mutex_);
        stopping_ = true;
    }
    stop_cv_.notify_all();
    if (timer_.joinable()) {
        timer_.join();
    }
    if (outbox_.joinable()) {
        outbox_.join();
    }
    if (writer_) {
        writer_->Stop();
    }
}

bool Engine::HasSink(const std::string& tenant) const { return sinks_.count(tenant) != 0; }

std::future<Result<bool>> Engine::Intake(const std::string& tenant, const std::string& crm,
                                         std::string body, Timestamp received_at,
                                         std::optional<crm::Decoded> decoded) {
    const auto& decoder = options_.decoders.at(crm);
    storage::InboxItem item;
    item.tenant = tenant;
    item.crm = crm;
    item.dedupe_key = decoder->DedupeKey(body);
    item.body = std::move(body);
    item.received_at = received_at;
    OnStored on_stored;
    if (decoded) {
        // std::function needs a copyable callable: the result travels in a shared_ptr.
        on_stored = [this, kept = std::make_shared<crm::Decoded>(std::move(decoded).value())](
                        std::int64_t seq) { decoded_.Keep(seq, std::move(*kept)); };
    }
    return writer_->AppendInbox(std::move(item), std::move(on_stored));
}

void Engine::Report(const std::string& tenant, const JudgeOutcome& outcome) {
    for (const ViolationChange& change : outcome.changes) {
        Log().info("Violation {}. tenant={} deal={} rule={} id={} resolution={}",
                   change.opened ? "opened" : "resolved", tenant, change.violation.deal_id,
                   change.violation.rule, change.violation.id, change.violation.resolution);
        if (options_.observer.on_violation) {
            options_.observer.on_violation(tenant, change);
        }
    }
}

IngestOutcome Engine::IngestOnce(storage::Db& db, const YieldCheck& yield) {
    const SinkCheck has_sink = [this](const std::string& tenant) { return HasSink(tenant); };
    const IngestOptions ingest{.limit = options_.ingest_batch,
                               .decoded = &decoded_,
                               .yield = yield,
                               .directory_loaded = [this](const std::string& tenant) {
                                   return DirectoryLoadedAt(tenant);
                               }};
    IngestOutcome outcome =
        IngestBatch(db, *Config(), options_.decoders, has_sink, options_.clock->Now(), ingest);
    metrics_.EventsApplied(outcome.events);
    for (const auto& [key, count] : outcome.settled) {
        metrics_.InboxSettled(key.first, key.second, count);
    }
    for (const auto& [key, count] : outcome.elements) {
        metrics_.WebhookElements(key.first, key.second, count);
    }
    if (!outcome.waiting.empty()) {
        WantDirectory(outcome.waiting);
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

Result<int> Engine::Deliver() {
    auto reader = OpenReader();
    if (!reader) {
        return reader.error();
    }
    try {
        const int attempted = DeliverDue(**reader);
        if (attempted < 0) {
            return MakeError(ErrorCode::kUnavailable, "the storage refused to count an attempt");
        }
        return attempted;
    } catch (const std::exception& error) {
        return MakeError(ErrorCode::kUnavailable, "outbox pass failed: {}", error.what());
    }
}

Result<int> Engine::Sweep() {
    const Timestamp now = options_.clock->Now();
    const std::shared_ptr<const config::AppConfig> config = Config();
    int judged_deals = 0;
    for (;;) {
        auto result =
            writer_
                ->Transact([this, now, &config](storage::Db& db) {
                    std::vector<std::pair<std::string, JudgeOutcome>> outcomes;
                    const auto due = storage::DealsToWake(db, now, kWakeBatch);
                    std::map<std::string, std::vector<std::string>> by_tenant;
                    for (const storage::DealRef& ref : due) {
                        by_tenant[ref.tenant].push_back(ref.deal_id);
                    }
                    for (const auto& [tenant_id, deals] : by_tenant) {
                        const config::TenantConfig* tenant = config->FindTenant(tenant_id);
                        if (tenant == nullptr) {
                            for (const std::string& deal : deals) {
                                storage::SetWakeAt(db, tenant_id, deal, std::nullopt);
                            }
                            continue;
                        }
                        const JudgeContext context{
                            .tenant = *tenant, .enqueue_actions = HasSink(tenant_id), .now = now};
                        outcomes.emplace_back(tenant_id, JudgeDeals(db, context, deals));
                    }
                    return std::make_pair(static_cast<int>(due.size()), std::move(outcomes));
                })
                .get();
        if (!result) {
            return result.error();
        }
        for (const auto& [tenant, outcome] : result->second) {
            Report(tenant, outcome);
        }
        judged_deals += result->first;
        if (result->first < kWakeBatch) {
            break;
        }
    }
    // Escalations of violations that stayed open too long.
    auto escalated =
        writer_
            ->Transact([this, now, &config](storage::Db& db) {
                std::vector<std::pair<std::string, JudgeOutcome>> outcomes;
                for (const config::TenantConfig& tenant : config->tenants) {
                    const JudgeContext context{
                        .tenant = tenant, .enqueue_actions = HasSink(tenant.id), .now = now};
                    outcomes.emplace_back(tenant.id, EscalateDue(db, context));
                }
                storage::PruneOwnWrites(db, now);
                // Nothing waits for the directory for ever (it may never load, or lack an id
                // for good): past the limit the item fails, and `inbox retry` brings it back.
                const int expired =
                    storage::FailWaitingSince(db, now - kWaitingLimit, now,
                                              fmt::format("waited over {} for the CRM directory: ",
                                                          FormatDuration(kWaitingLimit)));
                if (expired > 0) {
                    Log().error(
                        "Inbox items waited too long for the CRM directory and failed; see "
                        "/api/v1/inbox?state=failed, then `funnelguard inbox retry`. items={}",
                        expired);
                }
                return outcomes;
            })
            .get();
    if (!escalated) {
        return escalated.error();
    }
    return judged_deals;
}

Result<int> Engine::JudgeAll(const std::string& tenant_filter, ReconcileReport* tally, bool act) {
    const Timestamp now = options_.clock->Now();
    const std::shared_ptr<const config::AppConfig> config = Config();
    int total = 0;
    for (const config::TenantConfig& tenant : config->tenants) {
        if (!tenant_filter.empty() && tenant.id != tenant_filter) {
            continue;
        }
        auto reader = OpenReader();
        if (!reader) {
            return reader.error();
        }
        const std::vector<storage::DealRef> deals = storage::AllDeals(**reader, tenant.id);
        constexpr std::size_t kChunk = 1000;
        for (std::size_t begin = 0; begin < deals.size(); begin += kChunk) {
            std::vector<std::string> ids;
            for (std::size_t i = begin; i < std::min(deals.size(), begin + kChunk); ++i) {
                ids.push_back(deals[i].deal_id);
            }
            const JudgeContext context{
                .tenant = tenant, .enqueue_actions = act && HasSink(tenant.id), .now = now};
            auto outcome = writer_
                               ->Transact([&context, ids = std::move(ids)](storage::Db& db) {
                                   return JudgeDeals(db, context, ids);
                               })
                               .get();
            if (!outcome) {
                return outcome.error();
            }
            Report(tenant.id, *outcome);
            if (tally != nullptr) {
                for (const ViolationChange& change : outcome->changes) {
                    (change.opened ? tally->opened : tally->resolved) += 1;
                }
            }
        }
        total += static_cast<int>(deals.size());
    }
    return total;
}

Result<bool> Engine::Acknowledge(std::int64_t violation_id) {
    const Timestamp now = options_.clock->Now();
    // The acknowledgement and the cancellation of the violation's undelivered actions commit
    // together: after it, the outbox worker sends none of them (again).
    auto result = writer_
                      ->Transact([violation_id, now](storage::Db& db) -> std::pair<int, int> {
                          const auto violation = storage::GetViolation(db, violation_id);
                          if (!violation) {
                              return {404, 0};
                          }
                          if (!storage::ResolveViolation(db, violation_id, now, "acknowledged")) {
                              return {409, 0};
                          }
                          const auto cancelled = CancelActions(
                              db, violation_id, now, "cancelled: the violation was acknowledged");
                          return {200, static_cast<int>(cancelled.size())};
                      })
                      .get();
    if (!result) {
        return result.error();
    }
    if (result->first == 404) {
        return MakeError(ErrorCode::kNotFound, "violation {} does not exist", violation_id);
    }
    if (result->first == 409) {
        return MakeError(ErrorCode::kConflict, "violation {} is already resolved", violation_id);
    }
    Log().info("Violation acknowledged. id={} cancelled_actions={}", violation_id, result->second);
    return true;
}

Engine::Readiness Engine::Ready() const {
    Readiness readiness;
    // A full disk is not a reason to restart (liveness stays up) but it does refuse webhooks.
    if (const StorageStatus storage = Storage(); storage.state != StorageStatus::State::kOk) {
        readiness.storage =
            storage.reason.empty() ? "storage is not accepting writes" : storage.reason;
    }
    {
        std::lock_guard lock(directory_mutex_);
        for (const auto& [tenant, connector] : connectors_) {
            if (directory_loaded_.count(tenant) == 0) {
                readiness.missing.push_back(tenant);
            }
        }
    }
    readiness.ready = readiness.storage.empty() && readiness.missing.empty();
    for (const auto& [tenant, count] : NameProblemCounts()) {
        readiness.config_problems += count;
    }
    return readiness;
}

void Engine::RecordNameProblems(const config::TenantConfig& tenant,
                                const crm::Directory& directory) {
    std::vector<config::ConfigProblem> problems = CheckNames(tenant, directory);
    std::vector<std::string> lines;
    for (const config::ConfigProblem& problem : problems) {
        lines.push_back(config::FormatProblem(problem));
    }
    {
        std::lock_guard lock(directory_mutex_);
        const auto known = name_problems_.find(tenant.id);
        if (known != name_problems_.end()) {
            std::vector<std::string> before;
            for (const config::ConfigProblem& problem : known->second) {
                before.push_back(config::FormatProblem(problem));
            }
            if (before == lines) {
                return;  // logged when they appeared
            }
        }
        name_problems_[tenant.id] = std::move(problems);
    }
    // Config lines never hold secrets; names are the account's own.
    for (const std::string& line :
         options_.log_name_problems ? lines : std::vector<std::string>{}) {
        Log().warn(
            "The rules name what the CRM does not have; that part judges nothing. "
            "tenant={} problem={}",
            tenant.id, line);
    }
}

std::vector<config::ConfigProblem> Engine::NameProblems(const std::string& tenant) const {
    std::lock_guard lock(directory_mutex_);
    const auto found = name_problems_.find(tenant);
    return found == name_problems_.end() ? std::vector<config::ConfigProblem>{} : found->second;
}

std::map<std::string, std::size_t> Engine::NameProblemCounts() const {
    std::lock_guard lock(directory_mutex_);
    std::map<std::string, std::size_t> counts;
    for (const auto& [tenant, problems] : name_problems_) {
        counts[tenant] = problems.size();
    }
    return counts;
}

std::optional<Timestamp> Engine::DirectoryLoadedAt(const std::string& tenant) const {
    std::lock_guard lock(directory_mutex_);
    const auto found = directory_loaded_.find(tenant);
    if (found == directory_loaded_.end()) {
        return std::nullopt;
    }
    return found->second;
}

Result<std::unique_ptr<storage::Db>> Engine::OpenReader() const {
    return storage::OpenDatabase(options_.config->storage.path, /*read_only=*/true);
}

void Engine::TimerLoop() {
    Timestamp next_sweep = options_.clock->Now();
    std::map<std::string, Timestamp> next_nightly;
    for (const config::TenantConfig& tenant : options_.config->tenants) {
        if (auto at = NextLocalTime(options_.clock->Now(), tenant.timezone, tenant.reconcile_at)) {
            next_nightly[tenant.id] = *at;
        }
    }
    auto next_checkpoint = std::chrono::steady_clock::now() + kCheckpointEvery;
    auto next_directory = std::chrono::steady_clock::now();
    std::unique_lock lock(stop_mutex_);
    while (!stopping_) {
        stop_cv_.wait_for(lock, kTimerPoll);
        if (stopping_) {
            break;
        }
        lock.unlock();
        const Timestamp now = options_.clock->Now();
        if (now >= next_sweep) {
            next_sweep = now + kSweepEvery;
            if (auto swept = Sweep(); !swept) {
                Log().warn("Minute sweep failed, will retry. error={}", swept.error().message);
            }
            writer_->Kick();  // also retries inbox items a storage error left pending
        }
        if (!connectors_.empty() && std::chrono::steady_clock::now() >= next_directory) {
            next_directory = std::chrono::steady_clock::now() + kDirectoryEvery;
            RefreshDirectories();
        }
        RefreshWantedDirectories();
        if (std::chrono::steady_clock::now() >= next_checkpoint) {
            next_checkpoint = std::chrono::steady_clock::now() + kCheckpointEvery;
            Checkpoint();
        }
        for (auto& [tenant, at] : next_nightly) {
            if (now < at) {
                continue;
            }
            if (ConnectorOf(tenant) != nullptr) {
                Log().info("Nightly reconciliation started. tenant={}", tenant);
                if (auto report = Reconcile(tenant, {}); report) {
                    Log().info(
                        "Nightly reconciliation finished. tenant={} pages={} events={} "
                        "transitions={} deals={} opened={} resolved={}",
                        tenant, report->pages, report->events, report->transitions, report->judged,
                        report->opened, report->resolved);
                } else {
                    // The cursor is kept: the next run (or `reconcile`) resumes where it stopped.
                    Log().error("Nightly reconciliation failed. tenant={} error={}", tenant,
                                report.error().message);
                }
            } else {
                Log().info("Nightly re-evaluation started. tenant={}", tenant);
                if (auto judged = JudgeAll(tenant); judged) {
                    Log().info("Nightly re-evaluation finished. tenant={} deals={}", tenant,
                               *judged);
                } else {
                    Log().error("Nightly re-evaluation failed. tenant={} error={}", tenant,
                                judged.error().message);
                }
            }
            const config::TenantConfig* config = options_.config->FindTenant(tenant);
            at = NextLocalTime(now, config->timezone, config->reconcile_at)
                     .value_or(now + Duration{86400});
        }
        lock.lock();
    }
}

void Engine::Checkpoint() {
    // Readers (API, check, a long sweep) can keep the WAL from being recycled; a periodic
    // TRUNCATE checkpoint keeps it bounded (reliability.md §2.2).
    try {
        writer_
            ->Call([](storage::Db& db) {
                SQLite::Statement checkpoint(db.sql(), "PRAGMA wal_checkpoint(TRUNCATE)");
                checkpoint.executeStep();
                return checkpoint.getColumn(0).getInt();
            })
            .get();
    } catch (const std::exception& error) {
        Log().warn("WAL checkpoint failed, will retry. error={}", error.what());
    }
}

void Engine::OutboxLoop() {
    auto reader = OpenReader();
    if (!reader) {
        Log().error("Outbox worker cannot open the database. error={}", reader.error().message);
        return;
    }
    std::unique_lock lock(stop_mutex_);
    while (!stopping_) {
        lock.unlock();
        int delivered = 0;
        try {
            delivered = DeliverDue(**reader);
        } catch (const std::exception& error) {
            Log().warn("Outbox pass failed, will retry. error={}", error.what());
        }
        lock.lock();
        if (delivered <= 0) {
            // After a write the storage refused (a full disk, a failed device), the next pass
            // waits a second: at once, it would only fail again.
            stop_cv_.wait_for(lock, delivered < 0 ? std::chrono::milliseconds{Writer::kRetryFirst}
                                                  : std::chrono::milliseconds{100});
        }
    }
}

int Engine::DeliverDue(storage::Db& reader) {
    const std::vector<storage::OutboxItem> due =
        storage::DueOutbox(reader, options_.clock->Now(), 100);
    std::vector<bool> taken(due.size(), false);
    int attempted = 0;
    for (std::size_t first = 0; first < due.size(); ++first) {
        if (stopping_) {
            break;
        }
        if (taken[first]) {
            continue;
        }
        const storage::OutboxItem& head = due[first];
        const auto sink = sinks_.find(head.tenant);
        if (sink == sinks_.end()) {
            continue;  // the tenant lost its receiver: keep the item for when it comes back
        }
        const auto limiter = limiters_.find(head.tenant);
        if (limiter != limiters_.end() && limiter->second->TryAcquire(SteadySeconds())) {
            continue;  // over the tenant's rate: the item stays due
        }
        // Items of the same tenant and kind go together when the receiver takes batches
        // (amoCRM: 50 tasks per request), one rate-limited call for all of them.
        std::vector<std::size_t> batch{first};
        const std::size_t max_batch = std::max<std::size_t>(1, sink->second->MaxBatch(head.kind));
        for (std::size_t next = first + 1; next < due.size() && batch.size() < max_batch; ++next) {
            if (!taken[next] && due[next].tenant == head.tenant && due[next].kind == head.kind) {
                batch.push_back(next);
            }
        }
        for (const std::size_t index : batch) {
            taken[index] = true;
        }
        attempted += static_cast<int>(batch.size());
        // Counted before sending: if the process dies after the CRM took the write but before
        // the outcome is recorded, the next attempt is not the first and checks before sending.
        // An item that is no longer pending (cancelled since it was read: its violation was
        // acknowledged) is not sent.
        auto counted = writer_
                           ->Transact([&batch, &due](storage::Db& db) {
                               std::vector<std::size_t> still_pending;
                               for (const std::size_t index : batch) {
                                   if (storage::MarkOutboxAttempt(db, due[index].id)) {
                                       still_pending.push_back(index);
                                   }
                               }
                               return still_pending;
                           })
                           .get();
        if (!counted) {
            // A full disk or a failed device: the writer logged it once.
            if (writer_->Storage().state == StorageStatus::State::kOk) {
                Log().warn("Could not count an outbox attempt; will retry. error={}",
                           counted.error().message);
            }
            return -1;
        }
        batch = std::move(counted).value();
        if (batch.empty()) {
            continue;
        }
        std::vector<outbox::Action> actions;
        for (const std::size_t index : batch) {
            const storage::OutboxItem& item = due[index];
            actions.push_back(
                {.tenant = item.tenant,
                 .kind = item.kind,
                 .idempotency_key = item.idempotency_key,
                 .payload = item.payload,
                 .attempt = item.attempts + 1,
                 .previous_not_sent = item.attempts > 0 && item.last_error.starts_with(kNotSent)});
        }
        std::vector<outbox::DeliveryResult> results =
            actions.size() == 1 ? std::vector{sink->second->Deliver(actions.front())}
                                : sink->second->DeliverBatch(actions);
        results.resize(actions.size(),
                       outbox::DeliveryResult{.status = outbox::DeliveryStatus::kRetry,
                                              .retry_after = std::nullopt,
                                              .error = "the receiver returned no result for it"});
        std::vector<const storage::OutboxItem*> items;
        items.reserve(batch.size());
        for (const std::size_t index : batch) {
            items.push_back(&due[index]);
        }
        RecordDeliveries(items, actions, results);
    }
    return attempted;
}

void Engine::RecordDeliveries(const std::vector<const storage::OutboxItem*>& items,
                              const std::vector<outbox::Action>& actions,
                              const std::vector<outbox::DeliveryResult>& results) {
    static thread_local std::mt19937_64 random{std::random_device{}()};
    // One outcome per item, decided here; then all of a batch's outcomes go in one transaction:
    // one fsync per request instead of one per item keeps write-back at the CRM's rate limit.
    struct Outcome {
        std::int64_t id;
        outbox::DeliveryStatus status;
        Timestamp retry_at;
        std::string error;
        bool give_up = false;
    };
    const Timestamp after = options_.clock->Now();
    std::vector<Outcome> outcomes;
    outcomes.reserve(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
        const storage::OutboxItem& item = *items[i];
        const outbox::DeliveryResult& result = results[i];
        metrics_.ActionDelivered(item.kind, OutcomeName(result.status));
        Outcome outcome{.id = item.id, .status = result.status, .retry_at = after, .error = {}};
        switch (result.status) {
            case outbox::DeliveryStatus::kDelivered:
                break;
            case outbox::DeliveryStatus::kRetry: {
                const Duration delay =
                    result.retry_after.value_or(outbox::Backoff(item.attempts + 1, random));
                Log().warn(
                    "Action delivery failed, will retry. tenant={} kind={} key={} attempt={} "
                    "retry_in={} error={}",
                    item.tenant, item.kind, item.idempotency_key, item.attempts + 1,
                    FormatDuration(delay), LogSafe(result.error));
                outcome.retry_at = after + delay;
                outcome.give_up = after - item.created_at > kGiveUpAfter;
                outcome.error =
                    (result.not_sent ? std::string(kNotSent) : std::string()) + result.error;
                break;
            }
            case outbox::DeliveryStatus::kRejected:
                Log().error(
                    "Action rejected by the receiver; it will not be retried. tenant={} kind={} "
                    "key={} error={}",
                    item.tenant, item.kind, item.idempotency_key, LogSafe(result.error));
                outcome.error = result.error;
                break;
        }
        outcomes.push_back(std::move(outcome));
    }
    const Result<int> marked =
        writer_
            ->Transact([&outcomes, after](storage::Db& db) {
                for (const Outcome& outcome : outcomes) {
                    switch (outcome.status) {
                        case outbox::DeliveryStatus::kDelivered:
                            storage::MarkOutboxDone(db, outcome.id, after);
                            break;
                        case outbox::DeliveryStatus::kRetry:
                            if (outcome.give_up) {
                                storage::MarkOutboxDead(db, outcome.id, after,
                                                        "gave up after 72h: " + outcome.error);
                            } else {
                                storage::MarkOutboxRetry(db, outcome.id, outcome.retry_at,
                                                         outcome.error);
                            }
                            break;
                        case outbox::DeliveryStatus::kRejected:
                            storage::MarkOutboxDead(db, outcome.id, after, outcome.error);
                            break;
                    }
                }
                return 0;
            })
            .get();
    if (!marked) {
        // The attempts stay counted, so the next try checks the CRM before sending again.
        Log().error("Could not record the delivery of {} action(s). first_key={} error={}",
                    items.size(), items.front()->idempotency_key, marked.error().message);
    }
    if (options_.observer.on_delivery) {
        for (std::size_t i = 0; i < actions.size(); ++i) {
            options_.observer.on_delivery(actions[i], results[i]);
        }
    }
}

}  // namespace fg::engine
