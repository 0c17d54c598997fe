#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
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

/// The single writer: one thread owns the write connection. Webhooks waiting to be stored are
/// committed together in one transaction (group commit), so an fsync is shared by every request
/// that arrived meanwhile; other work runs as jobs, each in its own transaction. The group commit
/// comes first. Background work (the inbox processing) runs in slices between group commits, a
/// slice at most every kSliceEvery: each slice ends with a commit, an fsync of its own, and one
/// per group commit would halve the intake. A slice yields as soon as webhooks wait (after
/// kSliceWhileWaiting) or after kSlice. Under a load the writer cannot follow, processing lags
/// (the inbox holds the backlog, see funnelguard_inbox_pending) and catches up when it falls.
class Writer {
public:
    /// How long background work may run while webhooks wait for their commit.
    static constexpr auto kSliceWhileWaiting = std::chrono::milliseconds{1};
    /// How long one slice runs when nothing waits.
    static constexpr auto kSlice = std::chrono::milliseconds{50};
    /// The least time from the end of a slice to the start of the next: the group commits' share
    /// of the writer under load, and at most this much delay for processing a quiet trickle.
    static constexpr auto kSliceEvery = std::chrono::milliseconds{10};

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
    /// false = a duplicate; kUnavailable when it could not be stored. `on_stored` runs on the
    /// writer thread after the commit when the item was inserted.
    std::future<Result<bool>> AppendInbox(storage::InboxItem item, OnStored on_stored = {});

    /// Runs `job` on the writer thread inside BEGIN IMMEDIATE ... COMMIT.
    template <typename Job>
    auto Transact(Job job) -> std::future<Result<std::invoke_result_t<Job, storage::Db&>>> {
        using T = std::invoke_result_t<Job, storage::Db&>;
        auto promise = std::make_shared<std::promise<Result<T>>>();
        auto future = promise->get_future();
        Submit([job = std::move(job), promise](storage::Db& db) mutable {
            promise->set_value(RunInTransaction<T>(db, job));
        });
        return future;
    }

    /// Runs `job` on the writer thread with no transaction around it (it manages its own).
    void Submit(std::function<void(storage::Db&)> job);

    /// Runs `job` on the writer thread and returns its value (exceptions travel in the future).
    template <typename Job>
    auto Call(Job job) -> std::future<std::invoke_result_t<Job, storage::Db&>> {
        using T = std::invoke_result_t<Job, storage::Db&>;
        auto promise = std::make_shared<std::promise<T>>();
        auto future = promise->get_future();
        Submit([job = std::move(job), promise](storage::Db& db) mutable {
            try {
                promise->set_value(job(db));
            } catch (...) {
                promise->set_exception(std::current_exception());
            }
        });
        return future;
    }

    /// Asks for a run of the background work.
    void Kick();
    /// False after a commit failed (disk full, I/O error): webhooks are refused with 503.
    bool Healthy() const;

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

    void Run();
    void CommitInbox(std::vector<PendingItem>& batch);
    bool RunBackground();

    std::unique_ptr<storage::Db> db_;
    BackgroundWork background_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::vector<PendingItem> inbox_;
    // inbox_.size(), read without the lock by the background work's yield checks.
    std::atomic<std::size_t> inbox_waiting_{0};
    std::chrono::steady_clock::time_point last_slice_{};  // writer thread only
    std::deque<std::function<void(storage::Db&)>> jobs_;
    bool kicked_ = false;
    bool stopping_ = false;
    bool healthy_ = true;
    std::thread thread_;
};

}  // namespace fg::engine
