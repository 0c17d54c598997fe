#include "src/engine/outbox_worker.hpp"

#include <random>

#include "src/common/log.hpp"
#include "src/outbox/action_codec.hpp"

namespace fg::engine {
namespace {

spdlog::logger& OutboxWorkerLog() {
    // The engine's logger: the worker was part of the engine, and its lines keep their name.
    static const auto logger = ModuleLogger("engine");
    return *logger;
}

// An action that still fails after this long goes dead instead of being retried forever.
constexpr Duration kGiveUpAfter = std::chrono::hours{72};
// Marks an outbox error the receiver gave without processing the action (DeliveryResult::not_sent).
constexpr std::string_view kNotSent = "not sent: ";

// Whether none of the item's attempts so far can have reached the receiver: the mark says so of
// every attempt, not only the last, because it is set only when all before it had it too. One
// ambiguous attempt (a timeout, a crash mid-send) followed by refused ones still needs the
// receiver checked before the next send.
bool NoAttemptLanded(const storage::OutboxItem& item) {
    return item.attempts == 0 || item.last_error.starts_with(kNotSent);
}

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

OutboxWorker::OutboxWorker(const Clock* clock, Metrics& metrics, DeliveryHook on_delivery)
    : clock_(clock), metrics_(metrics), on_delivery_(std::move(on_delivery)) {}

OutboxWorker::~OutboxWorker() { Stop(); }

void OutboxWorker::AddSink(const std::string& tenant, const std::string& channel,
                           outbox::ActionSink& sink) {
    sinks_[{tenant, channel}] = &sink;
}

void OutboxWorker::AddSink(const std::string& tenant, const std::string& channel,
                           outbox::PacedSink paced) {
    if (!paced.sink) {
        return;
    }
    sinks_[{tenant, channel}] = paced.sink.get();
    owned_sinks_.push_back(std::move(paced.sink));
    const double rps = paced.calls_per_second > 0 ? paced.calls_per_second
                                                  : outbox::PacedSink::kDefaultCallsPerSecond;
    limiters_[{tenant, channel}] = std::make_unique<outbox::RateLimiter>(rps, std::max(1.0, rps));
}

std::vector<std::string> OutboxWorker::Channels(const std::string& tenant) const {
    std::vector<std::string> channels;
    for (auto it = sinks_.lower_bound({tenant, ""});
         it != sinks_.end() && it->first.first == tenant; ++it) {
        channels.push_back(it->first.second);
    }
    return channels;
}

void OutboxWorker::Start(std::string db_path) {
    thread_ = std::thread([this, path = std::move(db_path)] { Loop(path); });
}

void OutboxWorker::Stop() {
    {
        std::lock_guard lock(stop_mutex_);
        stopping_ = true;
    }
    stop_cv_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
}

void OutboxWorker::Loop(const std::string& db_path) {
    auto reader = storage::OpenDatabase(db_path, /*read_only=*/true);
    if (!reader) {
        OutboxWorkerLog().error("Outbox worker cannot open the database. error={}",
                                reader.error().message);
        return;
    }
    std::unique_lock lock(stop_mutex_);
    while (!stopping_) {
        lock.unlock();
        int delivered = 0;
        try {
            delivered = DeliverDue(**reader);
        } catch (const std::exception& error) {
            OutboxWorkerLog().warn("Outbox pass failed, will retry. error={}", error.what());
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

int OutboxWorker::DeliverDue(storage::Db& reader) {
    const std::vector<storage::OutboxItem> due = storage::DueOutbox(reader, clock_->Now(), 100);
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
        const SinkKey key{head.tenant, head.channel};
        const auto sink = sinks_.find(key);
        if (sink == sinks_.end()) {
            continue;  // the tenant lost its receiver: keep the item for when it comes back
        }
        const auto limiter = limiters_.find(key);
        if (limiter != limiters_.end() && limiter->second->TryAcquire(SteadySeconds())) {
            continue;  // over the tenant's rate: the item stays due
        }
        // Items of the same tenant, channel and kind go together when the receiver takes
        // batches (amoCRM: 50 tasks per request), one rate-limited call for all of them.
        std::vector<std::size_t> batch{first};
        const auto kind = domain::ParseActionKind(head.kind);
        const std::size_t max_batch =
            kind ? std::max<std::size_t>(1, sink->second->MaxBatch(*kind)) : 1;
        for (std::size_t next = first + 1; next < due.size() && batch.size() < max_batch; ++next) {
            if (!taken[next] && due[next].tenant == head.tenant &&
                due[next].channel == head.channel && due[next].kind == head.kind) {
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
                OutboxWorkerLog().warn("Could not count an outbox attempt; will retry. error={}",
                                       counted.error().message);
            }
            return -1;
        }
        batch = std::move(counted).value();
        if (batch.empty()) {
            continue;
        }
        std::vector<outbox::Action> actions;
        std::vector<std::pair<std::int64_t, std::string>> undecodable;
        std::vector<const storage::OutboxItem*> items;
        for (const std::size_t index : batch) {
            const storage::OutboxItem& item = due[index];
            Result<outbox::ActionBody> body = outbox::DecodeAction(item.payload);
            if (!body) {
                undecodable.emplace_back(item.id, body.error().message);
                continue;
            }
            items.push_back(&item);
            actions.push_back({.channel = item.channel,
                               .body = std::move(body).value(),
                               .attempt = item.attempts + 1,
                               .previous_not_sent = item.attempts > 0 && NoAttemptLanded(item)});
        }
        if (!undecodable.empty() && !BuryUndecodable(undecodable)) {
            return -1;
        }
        if (actions.empty()) {
            continue;
        }
        std::vector<outbox::DeliveryResult> results =
            actions.size() == 1 ? std::vector{sink->second->Deliver(actions.front())}
                                : sink->second->DeliverBatch(actions);
        results.resize(actions.size(),
                       outbox::DeliveryResult{.status = outbox::DeliveryStatus::kRetry,
                                              .retry_after = std::nullopt,
                                              .error = "the receiver returned no result for it"});
        RecordDeliveries(items, actions, results);
    }
    return attempted;
}

bool OutboxWorker::BuryUndecodable(const std::vector<std::pair<std::int64_t, std::string>>& items) {
    for (const auto& [id, reason] : items) {
        OutboxWorkerLog().error("Outbox item cannot be read; it will not be sent. id={} error={}",
                                id, reason);
    }
    const Timestamp now = clock_->Now();
    const Result<int> buried = writer_
                                   ->Transact([&items, now](storage::Db& db) {
                                       for (const auto& [id, reason] : items) {
                                           storage::MarkOutboxDead(db, id, now, reason);
                                       }
                                       return 0;
                                   })
                                   .get();
    return buried.has_value();
}

void OutboxWorker::RecordDeliveries(const std::vector<const storage::OutboxItem*>& items,
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
        bool deferred = false;  // not sent, asked to wait: not a failed attempt
    };
    const Timestamp after = clock_->Now();
    std::vector<Outcome> outcomes;
    outcomes.reserve(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
        const storage::OutboxItem& item = *items[i];
        const outbox::DeliveryResult& result = results[i];
        const bool deferred = result.status == outbox::DeliveryStatus::kRetry && result.not_sent &&
                              result.retry_after.has_value();
        metrics_.ActionDelivered(item.kind, deferred ? "deferred" : OutcomeName(result.status));
        Outcome outcome{.id = item.id, .status = result.status, .retry_at = after, .error = {}};
        switch (result.status) {
            case outbox::DeliveryStatus::kDelivered:
                break;
            case outbox::DeliveryStatus::kRetry: {
                if (deferred) {
                    // The receiver's pace or hours: exactly when it said, however long it waits;
                    // no attempt is spent and the 72 h limit does not apply.
                    outcome.deferred = true;
                    outcome.retry_at = after + *result.retry_after;
                    outcome.error =
                        (NoAttemptLanded(item) ? std::string(kNotSent) : std::string()) +
                        result.error;
                    OutboxWorkerLog().debug(
                        "Action waits for its receiver. tenant={} kind={} key={} wait={}",
                        item.tenant, item.kind, item.idempotency_key,
                        FormatDuration(*result.retry_after));
                    break;
                }
                const Duration delay =
                    result.retry_after.value_or(outbox::Backoff(item.attempts + 1, random));
                OutboxWorkerLog().warn(
                    "Action delivery failed, will retry. tenant={} kind={} key={} attempt={} "
                    "retry_in={} error={}",
                    item.tenant, item.kind, item.idempotency_key, item.attempts + 1,
                    FormatDuration(delay), LogSafe(result.error));
                outcome.retry_at = after + delay;
                outcome.give_up = after - item.created_at > kGiveUpAfter;
                outcome.error = (result.not_sent && NoAttemptLanded(item) ? std::string(kNotSent)
                                                                          : std::string()) +
                                result.error;
                break;
            }
            case outbox::DeliveryStatus::kRejected:
                OutboxWorkerLog().error(
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
                            if (outcome.deferred) {
                                storage::MarkOutboxDeferred(db, outcome.id, outcome.retry_at,
                                                            outcome.error);
                            } else if (outcome.give_up) {
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
        OutboxWorkerLog().error(
            "Could not record the delivery of {} action(s). first_key={} error={}", items.size(),
            items.front()->idempotency_key, marked.error().message);
    }
    if (on_delivery_) {
        for (std::size_t i = 0; i < actions.size(); ++i) {
            on_delivery_(actions[i], results[i]);
        }
    }
}

}  // namespace fg::engine
