#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "src/common/clock.hpp"
#include "src/common/result.hpp"
#include "src/config/config.hpp"
#include "src/crm/fetcher.hpp"
#include "src/engine/ingest.hpp"
#include "src/engine/metrics.hpp"
#include "src/engine/writer.hpp"
#include "src/storage/store.hpp"

namespace fg::engine {

/// What the fetch worker asks of the engine about a tenant's CRM directory.
struct DirectoryAccess {
    /// Loads the directory through the tenant's connector; on success the items that wait for
    /// it go back to the writer in the same transaction (storage::RequeueWaitingInbox).
    /// kNotFound: the tenant has no connector.
    std::function<Result<void>(const std::string& tenant)> refresh{};
    /// True while a load started less than FetchWorker::kDirectoryRetry ago (someone else's, e.g.
    /// the timer's at start): the worker does not start another.
    std::function<bool(const std::string& tenant)> recently_tried{};
};

/// The fetch stage: completes the inbox items that need the CRM's API before they can be
/// applied, outside the single writer. An item waits (storage::InboxState::kWaiting) for one of
/// two reasons:
/// - fetch: its decoder returned references (crm::Decoded::fetch). The worker decodes the body
///   again, asks the tenant's crm::Fetcher for the pending references of all the tenant's due
///   items at once (in batches of Fetcher::MaxBatch), and stores each completed item with its
///   events (kFetched, storage::FetchedDoc) for the writer to apply;
/// - directory: its decoder needs the tenant's CRM directory (kUnavailable). The worker loads
///   the directory (DirectoryAccess::refresh), which hands the items back to the writer to be
///   decoded again.
/// A try that fails is repeated with backoff (kRetryFirst doubling up to kRetryMost, or the
/// CRM's Retry-After; a directory load kDirectoryRetry doubling); after kMaxAttempts an item
/// waiting for references fails (reason fetch_timeout), and the minute sweep fails whatever
/// waited longer than Engine::kWaitingLimit. A reference the CRM refuses fails alone (the rest
/// of the item is applied, reason fetch_failed); one it no longer has is dropped (gone).
///
/// The worker never holds the writer while it calls the CRM: it reads through its own read-only
/// connection, calls (the fetcher and the connector pace themselves with the account's rate
/// limiter), then records every outcome of a tenant's batch in one writer transaction. Items it
/// read that moved on meanwhile (`inbox retry`, a directory load) are left as they are.
/// Restart-safe: a fetched item is applied after a restart without fetching again, and a waiting
/// one is tried again.
///
/// Fetchers are added before Bind and never change afterwards. FetchDue runs on the worker's
/// thread (Start) or on a caller's (Engine::Fetch); concurrent calls take turns.
class FetchWorker {
public:
    static constexpr Duration kRetryFirst = std::chrono::seconds{5};
    static constexpr Duration kRetryMost = std::chrono::minutes{10};
    /// Tries of an item waiting for references, the first included.
    static constexpr int kMaxAttempts = 8;
    /// The least time between two loads of one tenant's directory for waiting items.
    static constexpr Duration kDirectoryRetry = std::chrono::seconds{30};
    /// Due items one pass reads at most.
    static constexpr int kPassItems = 200;
    /// How often the thread looks for items that fell due (real time), when nothing wakes it.
    static constexpr auto kPoll = std::chrono::seconds{1};

    /// `clock` and `metrics` outlive the worker.
    FetchWorker(const Clock* clock, Metrics& metrics);
    ~FetchWorker();
    FetchWorker(const FetchWorker&) = delete;
    FetchWorker& operator=(const FetchWorker&) = delete;

    void AddFetcher(const std::string& tenant, std::unique_ptr<crm::Fetcher> fetcher);
    bool HasFetcher(const std::string& tenant) const { return fetchers_.count(tenant) != 0; }
    /// What the worker works with; all outlive it. Before any FetchDue.
    void Bind(Writer& writer, const Decoders& decoders, const config::AppConfig& config,
              DirectoryAccess directory);
    /// Starts the thread, which reads through its own read-only connection to `db_path`.
    void Start(std::string db_path);
    /// Stops the thread (a pass in progress ends after its current tenant); idempotent.
    void Stop();
    /// New items wait: the thread looks at once.
    void Wake();

    /// One pass over the items due now: returns how many it moved on (fetched, handed back,
    /// put off or failed), or -1 when the storage refused to record them.
    int FetchDue(storage::Db& reader);

private:
    // One write the pass records for an item.
    struct Step {
        enum class Kind { kFetched, kDefer, kSettle };
        Kind kind = Kind::kDefer;
        std::int64_t seq = 0;
        std::string crm{};
        std::string reason{};                  // kFetched: what for
        std::optional<std::string> fetched{};  // kFetched: the FetchedDoc
        Timestamp next{};                      // kDefer
        bool counted = false;                  // kDefer
        std::string error{};                   // kDefer
        storage::InboxOutcome outcome{};       // kSettle
    };

    void Loop(const std::string& db_path);
    // FetchDue; `full` says whether it read kPassItems items (more may be due).
    int Pass(storage::Db& reader, bool& full);
    void FetchDirectory(const std::string& tenant,
                        const std::vector<const storage::WaitingItem*>& items, Timestamp now,
                        std::vector<Step>& steps, int& moved);
    void FetchElements(storage::Db& reader, const std::string& tenant,
                       const std::vector<const storage::WaitingItem*>& items, Timestamp now,
                       std::vector<Step>& steps);
    // The items about to be read give up their dedupe keys (storage::ReleaseInboxDedupe).
    void ReleaseDedupe(const std::vector<std::int64_t>& seqs);
    int Record(const std::vector<Step>& steps);

    const Clock* clock_;
    Metrics& metrics_;
    std::map<std::string, std::unique_ptr<crm::Fetcher>> fetchers_;
    Writer* writer_ = nullptr;
    const Decoders* decoders_ = nullptr;
    const config::AppConfig* config_ = nullptr;
    DirectoryAccess directory_{};
    std::mutex pass_mutex_;  // one pass at a time
    std::mutex mutex_;
    std::condition_variable wake_;
    bool woken_ = false;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

}  // namespace fg::engine
