#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "src/common/clock.hpp"
#include "src/config/config.hpp"
#include "src/engine/ingest.hpp"
#include "src/engine/metrics.hpp"
#include "src/engine/writer.hpp"
#include "src/outbox/action.hpp"
#include "src/outbox/retry.hpp"

namespace fg::engine {

using SinkFactory =
    std::function<std::unique_ptr<outbox::ActionSink>(const config::TenantConfig& tenant)>;

/// Hooks for what happens, called on the thread that did it, after the commit.
struct Observer {
    std::function<void(const std::string& tenant, const ViolationChange&)> on_violation{};
    std::function<void(const outbox::Action&, const outbox::DeliveryResult&)> on_delivery{};
};

struct EngineOptions {
    const config::AppConfig* config = nullptr;
    const Clock* clock = nullptr;
    Decoders decoders{};
    SinkFactory make_sink{};  // returns null for a tenant with nowhere to send actions
    Observer observer{};
    bool timers = true;     // the minute sweep and the nightly run
    bool deliver = true;    // run the outbox worker
    int ingest_batch = 64;  // inbox items per processing transaction
};

/// The running core: the single writer with inbox processing, the minute timer, the nightly
/// schedule and the outbox worker.
class Engine {
public:
    explicit Engine(EngineOptions options);
    ~Engine();

    /// Opens the database (applying migrations) and starts the threads.
    Result<void> Start();
    void Stop();

    /// Stores a webhook body in the inbox (the 200 waits for this). true = new, false = duplicate.
    /// `events`: the body's events as the CRM's decoder returned them (ValidateAndDecode), kept
    /// in memory for its processing so that the body is not decoded twice.
    std::future<Result<bool>> Intake(const std::string& tenant, const std::string& crm,
                                     std::string body,
                                     std::optional<std::vector<domain::Event>> events = {});
    /// Processes everything pending in the inbox now; returns the number of events applied.
    Result<int> Drain();
    /// Runs the minute timer's work now (grace periods, overdue tasks, escalations).
    Result<int> Sweep();
    /// Re-judges every deal of a tenant (all when empty): the nightly run.
    Result<int> JudgeAll(const std::string& tenant);
    /// Acknowledges an open violation; kNotFound / kConflict when it is missing / not open.
    Result<bool> Acknowledge(std::int64_t violation_id);

    /// A new read-only connection (API handlers, check).
    Result<std::unique_ptr<storage::Db>> OpenReader() const;
    Metrics& metrics() { return metrics_; }
    bool Healthy() const { return writer_ && writer_->Healthy(); }
    const config::AppConfig& config() const { return *options_.config; }
    const Clock& clock() const { return *options_.clock; }
    bool HasSink(const std::string& tenant) const;
    /// The decoder for a CRM name; throws std::out_of_range for one not built in.
    const crm::WebhookDecoder& Decoder(const std::string& crm) const {
        return *options_.decoders.at(crm);
    }

private:
    IngestOutcome IngestOnce(storage::Db& db, const YieldCheck& yield);
    void Report(const std::string& tenant, const JudgeOutcome& outcome);
    void TimerLoop();
    void Checkpoint();
    void OutboxLoop();
    int DeliverDue(storage::Db& reader);

    EngineOptions options_;
    Metrics metrics_;
    std::unique_ptr<Writer> writer_;
    // Events decoded by Intake's callers, for processing; used on the writer thread only.
    DecodedEvents decoded_;
    std::map<std::string, std::unique_ptr<outbox::ActionSink>> sinks_;
    std::map<std::string, std::unique_ptr<outbox::RateLimiter>> limiters_;
    std::mutex stop_mutex_;
    std::condition_variable stop_cv_;
    std::atomic<bool> stopping_{false};
    std::thread timer_;
    std::thread outbox_;
};

}  // namespace fg::engine
