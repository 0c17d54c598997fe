#include "src/engine/engine.hpp"

#include <random>

#include "src/common/log.hpp"
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
    for (const config::TenantConfig& tenant : options_.config->tenants) {
        if (options_.make_sink) {
            if (auto sink = options_.make_sink(tenant)) {
                sinks_[tenant.id] = std::move(sink);
                const double rps = tenant.generic.rps > 0 ? tenant.generic.rps : 5;
                limiters_[tenant.id] =
                    std::make_unique<outbox::RateLimiter>(rps, std::max(1.0, rps));
            }
        }
    }
    writer_ = std::make_unique<Writer>(std::move(db).value());
    writer_->Start([this](storage::Db& db, const YieldCheck& yield) {
        return IngestOnce(db, yield).items > 0;
    });
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
                                         std::string body,
                                         std::optional<std::vector<domain::Event>> events) {
    const auto& decoder = options_.decoders.at(crm);
    storage::InboxItem item;
    item.tenant = tenant;
    item.crm = crm;
    item.dedupe_key = decoder->DedupeKey(body);
    item.body = std::move(body);
    item.received_at = options_.clock->Now();
    OnStored on_stored;
    if (events) {
        // std::function needs a copyable callable: the events travel in a shared_ptr.
        on_stored =
            [this, kept = std::make_shared<std::vector<domain::Event>>(std::move(events).value())](
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
    const IngestOptions ingest{
        .limit = options_.ingest_batch, .decoded = &decoded_, .yield = yield};
    IngestOutcome outcome = IngestBatch(db, *options_.config, options_.decoders, has_sink,
                                        options_.clock->Now(), ingest);
    metrics_.EventsApplied(outcome.events);
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

Result<int> Engine::Sweep() {
    const Timestamp now = options_.clock->Now();
    int judged_deals = 0;
    for (;;) {
        auto result =
            writer_
                ->Transact([this, now](storage::Db& db) {
                    std::vector<std::pair<std::string, JudgeOutcome>> outcomes;
                    const auto due = storage::DealsToWake(db, now, kWakeBatch);
                    std::map<std::string, std::vector<std::string>> by_tenant;
                    for (const storage::DealRef& ref : due) {
                        by_tenant[ref.tenant].push_back(ref.deal_id);
                    }
                    for (const auto& [tenant_id, deals] : by_tenant) {
                        const config::TenantConfig* tenant = options_.config->FindTenant(tenant_id);
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
            ->Transact([this, now](storage::Db& db) {
                std::vector<std::pair<std::string, JudgeOutcome>> outcomes;
                for (const config::TenantConfig& tenant : options_.config->tenants) {
                    const JudgeContext context{
                        .tenant = tenant, .enqueue_actions = HasSink(tenant.id), .now = now};
                    outcomes.emplace_back(tenant.id, EscalateDue(db, context));
                }
                storage::PruneOwnWrites(db, now);
                return outcomes;
            })
            .get();
    if (!escalated) {
        return escalated.error();
    }
    return judged_deals;
}

Result<int> Engine::JudgeAll(const std::string& tenant_filter) {
    const Timestamp now = options_.clock->Now();
    int total = 0;
    for (const config::TenantConfig& tenant : options_.config->tenants) {
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
                .tenant = tenant, .enqueue_actions = HasSink(tenant.id), .now = now};
            auto outcome = writer_
                               ->Transact([&context, ids = std::move(ids)](storage::Db& db) {
                                   return JudgeDeals(db, context, ids);
                               })
                               .get();
            if (!outcome) {
                return outcome.error();
            }
            Report(tenant.id, *outcome);
        }
        total += static_cast<int>(deals.size());
    }
    return total;
}

Result<bool> Engine::Acknowledge(std::int64_t violation_id) {
    const Timestamp now = options_.clock->Now();
    auto result = writer_
                      ->Transact([violation_id, now](storage::Db& db) -> int {
                          const auto violation = storage::GetViolation(db, violation_id);
                          if (!violation) {
                              return 404;
                          }
                          if (!storage::ResolveViolation(db, violation_id, now, "acknowledged")) {
                              return 409;
                          }
                          return 200;
                      })
                      .get();
    if (!result) {
        return result.error();
    }
    if (*result == 404) {
        return MakeError(ErrorCode::kNotFound, "violation {} does not exist", violation_id);
    }
    if (*result == 409) {
        return MakeError(ErrorCode::kConflict, "violation {} is already resolved", violation_id);
    }
    return true;
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
        if (std::chrono::steady_clock::now() >= next_checkpoint) {
            next_checkpoint = std::chrono::steady_clock::now() + kCheckpointEvery;
            Checkpoint();
        }
        for (auto& [tenant, at] : next_nightly) {
            if (now < at) {
                continue;
            }
            Log().info("Nightly re-evaluation started. tenant={}", tenant);
            if (auto judged = JudgeAll(tenant); judged) {
                Log().info("Nightly re-evaluation finished. tenant={} deals={}", tenant, *judged);
            } else {
                Log().error("Nightly re-evaluation failed. tenant={} error={}", tenant,
                            judged.error().message);
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
        if (delivered == 0) {
            stop_cv_.wait_for(lock, std::chrono::milliseconds{100});
        }
    }
}

int Engine::DeliverDue(storage::Db& reader) {
    static thread_local std::mt19937_64 random{std::random_device{}()};
    const Timestamp now = options_.clock->Now();
    int attempted = 0;
    for (const storage::OutboxItem& item : storage::DueOutbox(reader, now, 100)) {
        if (stopping_) {
            break;
        }
        const auto sink = sinks_.find(item.tenant);
        if (sink == sinks_.end()) {
            continue;  // the tenant lost its actions_url: keep the item for when it comes back
        }
        if (limiters_.at(item.tenant)->TryAcquire(SteadySeconds())) {
            continue;  // over the tenant's rate: the item stays due
        }
        ++attempted;
        const outbox::Action action{.tenant = item.tenant,
                                    .kind = item.kind,
                                    .idempotency_key = item.idempotency_key,
                                    .payload = item.payload,
                                    .attempt = item.attempts + 1};
        const outbox::DeliveryResult result = sink->second->Deliver(action);
        metrics_.ActionDelivered(item.kind, OutcomeName(result.status));
        const Timestamp after = options_.clock->Now();
        const std::int64_t id = item.id;
        Result<int> marked = 0;
        switch (result.status) {
            case outbox::DeliveryStatus::kDelivered:
                marked = writer_
                             ->Transact([id, after](storage::Db& db) {
                                 storage::MarkOutboxDone(db, id, after);
                                 return 0;
                             })
                             .get();
                break;
            case outbox::DeliveryStatus::kRetry: {
                const bool give_up = after - item.created_at > kGiveUpAfter;
                const Duration delay =
                    result.retry_after.value_or(outbox::Backoff(item.attempts + 1, random));
                Log().warn(
                    "Action delivery failed, will retry. tenant={} kind={} key={} "
                    "attempt={} retry_in={} error={}",
                    item.tenant, item.kind, item.idempotency_key, item.attempts + 1,
                    FormatDuration(delay), LogSafe(result.error));
                marked = writer_
                             ->Transact([id, after, delay, give_up,
                                         error = result.error](storage::Db& db) {
                                 if (give_up) {
                                     storage::MarkOutboxDead(db, id, after,
                                                             "gave up after 72h: " + error);
                                 } else {
                                     storage::MarkOutboxRetry(db, id, after + delay, error);
                                 }
                                 return 0;
                             })
                             .get();
                break;
            }
            case outbox::DeliveryStatus::kRejected:
                Log().error(
                    "Action rejected by the receiver; it will not be retried. tenant={} "
                    "kind={} key={} error={}",
                    item.tenant, item.kind, item.idempotency_key, LogSafe(result.error));
                marked = writer_
                             ->Transact([id, after, error = result.error](storage::Db& db) {
                                 storage::MarkOutboxDead(db, id, after, error);
                                 return 0;
                             })
                             .get();
                break;
        }
        if (!marked) {
            Log().error("Could not record an action's delivery. key={} error={}",
                        item.idempotency_key, marked.error().message);
        }
        if (options_.observer.on_delivery) {
            options_.observer.on_delivery(action, result);
        }
    }
    return attempted;
}

}  // namespace fg::engine
