#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "src/common/result.hpp"
#include "src/storage/store.hpp"

namespace fg::engine {

/// Asked by background work between its small steps: true when it should commit what it has done
/// and return, because webhooks wait for their group commit or its time slice is over.
using YieldCheck = std::function<bool()>;
/// Background work (the inbox processing): runs on the writer thread without a transaction of its
/// own; returns true when there is more to do.
using BackgroundWork = std::function<bool(storage::Db&, const YieldCheck&)>;
/// Called on the writer thread once an inbox item is committed, with its seq (inserted items only,
/// before the webhook's future is ready).
using OnStored = std::function<void(std::int64_t seq)>;

/// What the writer knows of the disk under the database (/healthz, /metrics).
struct StorageStatus {
    enum class State {
        kOk,
        // The last write found no space: webhooks get 503 with Retry-After, and each group
        // commit tries again; the first that succeeds (space is back) returns to kOk.
        kDiskFull,
        // The device failed (an I/O error such as a failed fsync, or corruption): nothing is
        // acknowledged or processed any more until a restart.
        kFailed,
    };
    State state = State::kOk;
    std::string reason{};                 // why, when not kOk
    std::int64_t disk_full_refusals = 0;  // webhooks refused for lack of space since the start
};

/// The Prometheus lines for `status`: funnelguard_storage_failed{reason="io_error"|"corrupt"},
/// funnelguard_storage_disk_full and funnelguard_storage_disk_full_refusals_total.
std::string RenderStorageMetrics(const StorageStatus& status);

/// The single writer: one thread owns the write connection. Webhooks waiting to be stored are
/// committed together in one transaction (group commit), so an fsync is shared by every request
/// that arrived meanwhile; other work runs as jobs, each in its own transaction. The group commit
/// comes first. Background work (the inbox processing) runs in slices between group commits, a
/// slice at most every kSliceEvery: each slice ends with a commit, an fsync of its own, and one
/// per group commit would halve the intake. A slice yields as soon as webhooks wait (after
/// kSliceWhileWaiting) or after kSlice. Under a load the writer cannot follow, processing lags
/// (the inbox holds the backlog, see funnelguard_inbox_pending) and catches up when it falls.
///
/// Storage failures (StorageStatus): a full disk refuses the webhooks of the failed group commit
/// and keeps accepting new ones, to try again; background work that hit it waits kRetryFirst,
/// doubling up to kRetryMost, before it tries again. A failed device refuses every webhook, job
/// and background run until the process restarts: the connection's WriteTransaction refuses to
/// begin (storage::Db::Failed).
class Writer {
public:
    /// How long background work may run while webhooks wait for their commit.
    static constexpr auto kSliceWhileWaiting = std::chrono::milliseconds{1};
    /// How long one slice runs when nothing waits.
    static constexpr auto kSlice = std::chrono::milliseconds{50};
    /// The least time from the end of a slice to the start of the next: the group commits' share
    /// of the writer under load, and at most this much delay for processing a quiet trickle.
    static constexpr auto kSliceEvery = std::chrono::milliseconds{10};
    /// The pause of background work after it failed for lack of space, doubling up to kRetryMost.
    static constexpr auto kRetryFirst = std::chrono::milliseconds{1000};
    static constexpr auto kRetryMost = std::chrono::milliseconds{30000};

    explicit Writer(std::unique_ptr<storage::Db> db);
    ~Writer();
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;

    /// `background` runs whenever the queues are empty and it was kicked (Kick) or returned true
    /// last time, and after every group commit (new items were stored).
    void Start(BackgroundWork background = {});
    /// Finishes queued work, then stops the thread.
    void Stop();

    /// Stores one inbox item, committed with whatever else is waiting. true = inserted,
    /// false = a duplicate; kUnavailable when it could not be stored (at once while the storage
    /// is kFailed). `on_stored` runs on the writer thread after the commit when the item was
    /// inserted.
    std::future<Result<bool>> AppendInbox(storage::InboxItem item, OnStored on_stored = {});

    /// Runs `job` on the writer thread inside BEGIN IMMEDIATE ... COMMIT.
    template <typename Job>
    auto Transact(Job job) -> std::future<Result<std::invoke_result_t<Job, storage::Db&>>> {
        using T = std::invoke_result_t<Job, storage::Db&>;
        auto promise = std::make_shared<std::promise<Result<T>>>();
        auto future = promise->get_future();
        Submit([this, job = std::move(job), promise](storage::Db& db) mutable {
            const std::int64_t writes_before = db.WritesCommitted();
            Result<T> result = RunInTransaction<T>(db, job);
            Observe(writes_before);  // before the caller can look at Storage()
            promise->set_value(std::move(result));
        });
        return future;
    }

    /// Runs `job` on the writer thread and returns its value (exceptions travel in the future).
    /// The job manages its own transactions; on failed storage it does not run (the future
    /// holds a std::runtime_error with the reason).
    template <typename Job>
    auto Call(Job job) -> std::future<std::invoke_result_t<Job, storage::Db&>> {
        using T = std::invoke_result_t<Job, storage::Db&>;
        auto promise = std::make_shared<std::promise<T>>();
        auto future = promise->get_future();
        Submit([this, job = std::move(job), promise](storage::Db& db) mutable {
            const std::int64_t writes_before = db.WritesCommitted();
            std::optional<T> value;
            std::exception_ptr error;
            try {
                if (db.Failed().kind != storage::FailureKind::kNone) {
                    throw std::runtime_error(db.Failed().reason);
                }
                value.emplace(job(db));
            } catch (const SQLite::Exception& sqlite_error) {
                db.NoteFailure(sqlite_error.getExtendedErrorCode());
                error = std::current_exception();
            } catch (...) {
                error = std::current_exception();
            }
            Observe(writes_before);  // before the caller can look at Storage()
            if (error) {
                promise->set_exception(error);
            } else {
                promise->set_value(std::move(*value));
            }
        });
        return future;
    }

    /// Asks for a run of the background work.
    void Kick();
    /// False once the storage failed (StorageStatus::kFailed): until a restart, webhooks are
    /// refused with 503. A full disk is not a failure: it passes when space is freed.
    bool Healthy() const;
    StorageStatus Storage() const;

private:
    template <typename T, typename Job>
    static Result<T> RunInTransaction(storage::Db& db, Job& job) {
        try {
            storage::WriteTransaction transaction(db);
            T value = job(db);
            transaction.Commit();
            return value;
        } catch (const std::exception& error) {
            return MakeError(ErrorCode::kUnavailable, "storage error: {}", error.what());
        }
    }

    struct PendingItem {
        storage::InboxItem item;
        OnStored on_stored;
        std::promise<Result<bool>> promise;
    };

    void Submit(std::function<void(storage::Db&)> job);
    void Run();
    void CommitInbox(std::vector<PendingItem>& batch);
    bool RunBackground();
    // Updates the storage state from what the work since `writes_before` found on the
    // connection (logging each change once); true when that work ran out of space. Writer thread
    // only; every unit of work (group commit, job, background slice) ends with it.
    bool Observe(std::int64_t writes_before);

    std::unique_ptr<storage::Db> db_;
    BackgroundWork background_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::vector<PendingItem> inbox_;
    // inbox_.size(), read without the lock by the background work's yield checks.
    std::atomic<std::size_t> inbox_waiting_{0};
    // Writer thread only: when the next background slice may start, and the pause after a slice
    // that ran out of space.
    std::chrono::steady_clock::time_point next_slice_{};
    std::chrono::milliseconds retry_pause_{0};
    std::deque<std::function<void(storage::Db&)>> jobs_;
    bool kicked_ = false;
    bool stopping_ = false;
    StorageStatus storage_{};
    std::thread thread_;
};

}  // namespace fg::engine
