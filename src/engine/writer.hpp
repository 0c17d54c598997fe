#pragma once

#include <condition_variable>
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

/// The single writer: one thread owns the write connection. Webhooks waiting to be stored are
/// committed together in one transaction (group commit), so an fsync is shared by every request
/// that arrived meanwhile; other work runs as jobs, each in its own transaction.
class Writer {
public:
    explicit Writer(std::unique_ptr<storage::Db> db);
    ~Writer();
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;

    /// `background` runs whenever the queues are empty and it was kicked (Kick) or returned true
    /// last time: the inbox processing. It runs without a transaction of its own.
    void Start(std::function<bool(storage::Db&)> background = {});
    /// Finishes queued work, then stops the thread.
    void Stop();

    /// Stores one inbox item, committed with whatever else is waiting. true = inserted,
    /// false = a duplicate; kUnavailable when it could not be stored.
    std::future<Result<bool>> AppendInbox(storage::InboxItem item);

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

    void Run();
    void CommitInbox(std::vector<std::pair<storage::InboxItem, std::promise<Result<bool>>>>& batch);

    std::unique_ptr<storage::Db> db_;
    std::function<bool(storage::Db&)> background_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::vector<std::pair<storage::InboxItem, std::promise<Result<bool>>>> inbox_;
    std::deque<std::function<void(storage::Db&)>> jobs_;
    bool kicked_ = false;
    bool stopping_ = false;
    bool healthy_ = true;
    std::thread thread_;
};

}  // namespace fg::engine
