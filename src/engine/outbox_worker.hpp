#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "src/common/clock.hpp"
#include "src/engine/metrics.hpp"
#include "src/engine/writer.hpp"
#include "src/outbox/action.hpp"
#include "src/outbox/retry.hpp"
#include "src/storage/store.hpp"

namespace fg::engine {

/// Called on the delivering thread for each action once its outcome is recorded.
using DeliveryHook = std::function<void(const outbox::Action&, const outbox::DeliveryResult&)>;

/// The outbox worker: delivers the due outbox items to the sink of their tenant and channel (the
/// CRM, or a chat notifier), each at its receiver's pace, and records each outcome (done, retry
/// with backoff, dead) through the writer. It decodes each item's payload (action_codec) once;
/// one it cannot decode goes dead with the reason.
///
/// Sinks are added before Bind/Start and never change afterwards, so HasSink and DeliverDue read
/// them without a lock. DeliverDue runs on the worker's thread (Start) or on a caller's (the
/// engine's Deliver, for a caller that runs without the thread); not both at once.
class OutboxWorker {
public:
    /// `clock` and `metrics` outlive the worker.
    OutboxWorker(const Clock* clock, Metrics& metrics, DeliveryHook on_delivery);
    ~OutboxWorker();
    OutboxWorker(const OutboxWorker&) = delete;
    OutboxWorker& operator=(const OutboxWorker&) = delete;

    /// A sink that paces its own calls (a connector's, with the account's rate limiter); its
    /// owner outlives the worker.
    void AddSink(const std::string& tenant, const std::string& channel, outbox::ActionSink& sink);
    /// A sink the worker owns and paces at `paced.calls_per_second`, with a limiter of its own
    /// (no sink: nothing added).
    void AddSink(const std::string& tenant, const std::string& channel, outbox::PacedSink paced);
    bool HasSink(const std::string& tenant, const std::string& channel) const {
        return sinks_.count({tenant, channel}) != 0;
    }
    /// The channels the tenant has a sink for.
    std::vector<std::string> Channels(const std::string& tenant) const;

    /// The writer that records attempts and outcomes; before any DeliverDue.
    void Bind(Writer& writer) { writer_ = &writer; }
    /// Starts the worker's thread, which reads the due items through its own read-only
    /// connection to the database at `db_path`.
    void Start(std::string db_path);
    /// Stops the thread (a delivery in progress ends after its current batch); idempotent.
    void Stop();

    /// Delivers the outbox items due now and returns how many were attempted; -1 when the
    /// storage refused to count an attempt (the caller waits before it tries again).
    int DeliverDue(storage::Db& reader);

private:
    void Loop(const std::string& db_path);
    /// Items whose payload does not decode go dead at once; false when that could not be stored.
    bool BuryUndecodable(const std::vector<std::pair<std::int64_t, std::string>>& items);
    void RecordDeliveries(const std::vector<const storage::OutboxItem*>& items,
                          const std::vector<outbox::Action>& actions,
                          const std::vector<outbox::DeliveryResult>& results);

    const Clock* clock_;
    Metrics& metrics_;
    DeliveryHook on_delivery_;
    Writer* writer_ = nullptr;
    using SinkKey = std::pair<std::string, std::string>;  // tenant, channel
    std::vector<std::unique_ptr<outbox::ActionSink>> owned_sinks_;
    std::map<SinkKey, outbox::ActionSink*> sinks_;
    std::map<SinkKey, std::unique_ptr<outbox::RateLimiter>> limiters_;
    std::mutex stop_mutex_;
    std::condition_variable stop_cv_;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

}  // namespace fg::engine
