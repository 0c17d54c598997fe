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

void Writer::Start(std::function<bool(storage::Db&)> background) {
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

std::future<Result<bool>> Writer::AppendInbox(storage::InboxItem item) {
    std::promise<Result<bool>> promise;
    auto future = promise.get_future();
    {
        std::lock_guard lock(mutex_);
        if (stopping_ || !healthy_) {
            promise.set_value(
                MakeError(ErrorCode::kUnavailable, "storage is not accepting writes"));
            return future;
        }
        inbox_.emplace_back(std::move(item), std::move(promise));
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

void Writer::CommitInbox(
    std::vector<std::pair<storage::InboxItem, std::promise<Result<bool>>>>& batch) {
    std::vector<bool> inserted(batch.size(), false);
    try {
        storage::WriteTransaction transaction(*db_);
        for (std::size_t i = 0; i < batch.size(); ++i) {
            inserted[i] = storage::InsertInbox(*db_, batch[i].first);
        }
        transaction.Commit();
    } catch (const std::exception& error) {
        Log().error("Inbox commit failed; webhooks are refused until storage recovers. error={}",
                    error.what());
        {
            std::lock_guard lock(mutex_);
            healthy_ = false;
        }
        for (auto& [item, promise] : batch) {
            promise.set_value(MakeError(ErrorCode::kUnavailable, "could not store the webhook"));
        }
        return;
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
        batch[i].second.set_value(Result<bool>(static_cast<bool>(inserted[i])));
    }
}

void Writer::Run() {
    for (;;) {
        std::vector<std::pair<storage::InboxItem, std::promise<Result<bool>>>> inbox;
        std::deque<std::function<void(storage::Db&)>> jobs;
        bool run_background = false;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(
                lock, [this] { return stopping_ || !inbox_.empty() || !jobs_.empty() || kicked_; });
            if (stopping_ && inbox_.empty() && jobs_.empty()) {
                return;
            }
            inbox.swap(inbox_);
            jobs.swap(jobs_);
            run_background = kicked_ && background_ && !stopping_;
            kicked_ = false;
        }
        if (!inbox.empty()) {
            CommitInbox(inbox);
            run_background = static_cast<bool>(background_) && !stopping_;
        }
        for (auto& job : jobs) {
            job(*db_);
        }
        if (run_background) {
            bool more = false;
            try {
                more = background_(*db_);
            } catch (const std::exception& error) {
                Log().error("Background processing failed, will retry. error={}", error.what());
            }
            if (more) {
                std::lock_guard lock(mutex_);
                kicked_ = true;
            }
        }
    }
}

}  // namespace fg::engine
