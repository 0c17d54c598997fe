#include "src/engine/writer.hpp"

#include "src/common/log.hpp"

namespace fg::engine {
namespace {

spdlog::logger& Log() {
    static const auto logger = ModuleLogger("storage");
    return *logger;
}

}  // namespace

Writer::Writer(std::unique_ptr<storage::Db> db) : db_(std::move(db)) {}

Writer::~Writer() { Stop(); }

void Writer::Start(BackgroundWork background) {
    background_ = std::move(background);
    kicked_ = static_cast<bool>(background_);
    thread_ = std::thread([this] { Run(); });
}

void Writer::Stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
}

std::future<Result<bool>> Writer::AppendInbox(storage::InboxItem item, OnStored on_stored) {
    std::promise<Result<bool>> promise;
    auto future = promise.get_future();
    {
        std::lock_guard lock(mutex_);
        if (stopping_ || !healthy_) {
            promise.set_value(
                MakeError(ErrorCode::kUnavailable, "storage is not accepting writes"));
            return future;
        }
        inbox_.push_back(PendingItem{std::move(item), std::move(on_stored), std::move(promise)});
        inbox_waiting_.store(inbox_.size(), std::memory_order_relaxed);
    }
    wake_.notify_one();
    return future;
}

void Writer::Submit(std::function<void(storage::Db&)> job) {
    {
        std::lock_guard lock(mutex_);
        jobs_.push_back(std::move(job));
    }
    wake_.notify_one();
}

void Writer::Kick() {
    {
        std::lock_guard lock(mutex_);
        kicked_ = true;
    }
    wake_.notify_one();
}

bool Writer::Healthy() const {
    std::lock_guard lock(mutex_);
    return healthy_;
}

void Writer::CommitInbox(std::vector<PendingItem>& batch) {
    std::vector<std::int64_t> inserted(batch.size(), 0);  // seq, 0 = a duplicate
    try {
        storage::WriteTransaction transaction(*db_);
        for (std::size_t i = 0; i < batch.size(); ++i) {
            if (storage::InsertInbox(*db_, batch[i].item)) {
                inserted[i] = db_->sql().getLastInsertRowid();
            }
        }
        transaction.Commit();
    } catch (const std::exception& error) {
        Log().error("Inbox commit failed; webhooks are refused until storage recovers. error={}",
                    error.what());
        {
            std::lock_guard lock(mutex_);
            healthy_ = false;
        }
        for (PendingItem& pending : batch) {
            pending.promise.set_value(
                MakeError(ErrorCode::kUnavailable, "could not store the webhook"));
        }
        return;
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
        if (inserted[i] != 0 && batch[i].on_stored) {
            batch[i].on_stored(inserted[i]);
        }
        batch[i].promise.set_value(Result<bool>(inserted[i] != 0));
    }
}

bool Writer::RunBackground() {
    const auto start = std::chrono::steady_clock::now();
    const YieldCheck yield = [this, start] {
        const auto ran = std::chrono::steady_clock::now() - start;
        return ran >= kSlice ||
               (ran >= kSliceWhileWaiting && inbox_waiting_.load(std::memory_order_relaxed) > 0);
    };
    bool more = false;
    try {
        more = background_(*db_, yield);
    } catch (const std::exception& error) {
        Log().error("Background processing failed, will retry. error={}", error.what());
    }
    last_slice_ = std::chrono::steady_clock::now();
    return more;
}

void Writer::Run() {
    for (;;) {
        std::vector<PendingItem> inbox;
        std::deque<std::function<void(storage::Db&)>> jobs;
        bool run_background = false;
        {
            std::unique_lock lock(mutex_);
            for (;;) {
                if (stopping_ || !inbox_.empty() || !jobs_.empty()) {
                    break;
                }
                if (kicked_) {
                    const auto due = last_slice_ + kSliceEvery;
                    if (std::chrono::steady_clock::now() >= due) {
                        break;
                    }
                    wake_.wait_until(lock, due);
                } else {
                    wake_.wait(lock);
                }
            }
            if (stopping_ && inbox_.empty() && jobs_.empty()) {
                return;
            }
            inbox.swap(inbox_);
            inbox_waiting_.store(0, std::memory_order_relaxed);
            jobs.swap(jobs_);
            if (!inbox.empty() && background_) {
                kicked_ = true;  // new items to process
            }
            run_background = kicked_ && background_ && !stopping_ &&
                             std::chrono::steady_clock::now() >= last_slice_ + kSliceEvery;
            if (run_background) {
                kicked_ = false;
            }
        }
        if (!inbox.empty()) {
            CommitInbox(inbox);
        }
        for (auto& job : jobs) {
            job(*db_);
        }
        if (run_background && RunBackground()) {
            std::lock_guard lock(mutex_);
            kicked_ = true;
        }
    }
}

}  // namespace fg::engine
