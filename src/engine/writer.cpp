#include "src/engine/writer.hpp"

#include <algorithm>
#include <string_view>

#include <fmt/format.h>

#include "src/common/log.hpp"

namespace fg::engine {
namespace {

spdlog::logger& WriterLog() {
    static const auto logger = ModuleLogger("storage");
    return *logger;
}

std::string_view FailedLabel(const std::string& reason) {
    return reason.find("corrupt") != std::string::npos ? "corrupt" : "io_error";
}

}  // namespace

std::string RenderStorageMetrics(const StorageStatus& status) {
    using State = StorageStatus::State;
    std::string text;
    text +=
        "# HELP funnelguard_storage_failed 1 while the storage refuses every write until a "
        "restart (the device failed), by reason.\n";
    text += "# TYPE funnelguard_storage_failed gauge\n";
    for (const std::string_view label : {"io_error", "corrupt"}) {
        const bool failed = status.state == State::kFailed && FailedLabel(status.reason) == label;
        text +=
            fmt::format("funnelguard_storage_failed{{reason=\"{}\"}} {}\n", label, failed ? 1 : 0);
    }
    text +=
        "# HELP funnelguard_storage_disk_full 1 while the last write found the disk full "
        "(webhooks get 503 until space is freed).\n";
    text += "# TYPE funnelguard_storage_disk_full gauge\n";
    text +=
        fmt::format("funnelguard_storage_disk_full {}\n", status.state == State::kDiskFull ? 1 : 0);
    text +=
        "# HELP funnelguard_storage_disk_full_refusals_total Webhooks refused with 503 because "
        "the disk was full.\n";
    text += "# TYPE funnelguard_storage_disk_full_refusals_total counter\n";
    text +=
        fmt::format("funnelguard_storage_disk_full_refusals_total {}\n", status.disk_full_refusals);
    return text;
}

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
        if (stopping_ || storage_.state == StorageStatus::State::kFailed) {
            promise.set_value(
                MakeError(ErrorCode::kUnavailable, "{}",
                          stopping_ ? std::string("storage is shutting down") : storage_.reason));
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
    return storage_.state != StorageStatus::State::kFailed;
}

StorageStatus Writer::Storage() const {
    std::lock_guard lock(mutex_);
    return storage_;
}

bool Writer::Observe(std::int64_t writes_before) {
    using State = StorageStatus::State;
    const storage::Failure& failed = db_->Failed();
    const bool disk_full = db_->TakeDiskFull();
    const bool wrote = db_->WritesCommitted() != writes_before;
    std::lock_guard lock(mutex_);
    if (storage_.state == State::kFailed) {
        return disk_full;
    }
    if (failed.kind != storage::FailureKind::kNone) {
        storage_.state = State::kFailed;
        storage_.reason = failed.reason;
        // Once: every webhook from now on is refused without touching the disk.
        WriterLog().error(
            "Storage failed: {}. Webhooks are refused with 503 and nothing is processed until "
            "funnelguard is restarted (check the disk and the kernel log first).",
            failed.reason);
    } else if (disk_full) {
        if (storage_.state != State::kDiskFull) {
            storage_.state = State::kDiskFull;
            storage_.reason = "the disk is full";
            WriterLog().error(
                "The disk under the database is full: webhooks get 503 with Retry-After until "
                "space is freed; no restart is needed.");
        }
    } else if (wrote && storage_.state == State::kDiskFull) {
        storage_.state = State::kOk;
        storage_.reason.clear();
        WriterLog().info("The disk has space again: webhooks are stored again.");
    }
    return disk_full;
}

void Writer::CommitInbox(std::vector<PendingItem>& batch) {
    std::vector<std::int64_t> inserted(batch.size(), 0);  // seq, 0 = a duplicate
    const std::int64_t writes_before = db_->WritesCommitted();
    std::string failure;
    try {
        storage::WriteTransaction transaction(*db_);
        for (std::size_t i = 0; i < batch.size(); ++i) {
            if (storage::InsertInbox(*db_, batch[i].item)) {
                inserted[i] = db_->sql().getLastInsertRowid();
            }
        }
        transaction.Commit();
    } catch (const std::exception& error) {
        failure = error.what();
        if (failure.empty()) {
            failure = "unknown error";
        }
    }
    const bool disk_full = Observe(writes_before);
    if (!failure.empty()) {
        std::string message;
        if (disk_full) {
            message = "the disk is full; retry later";
            std::lock_guard lock(mutex_);
            storage_.disk_full_refusals += static_cast<std::int64_t>(batch.size());
        } else if (db_->Failed().kind != storage::FailureKind::kNone) {
            message = db_->Failed().reason;
        } else {
            // Not the disk's doing (e.g. another process held the lock past busy_timeout): the
            // next group commit tries again.
            message = "could not store the webhook; retry later";
            WriterLog().warn("Inbox commit failed; its webhooks get 503. items={} error={}",
                             batch.size(), failure);
        }
        for (PendingItem& pending : batch) {
            pending.promise.set_value(MakeError(ErrorCode::kUnavailable, "{}", message));
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
    if (db_->Failed().kind != storage::FailureKind::kNone) {
        return false;  // the group commit just before it failed the device
    }
    const auto start = std::chrono::steady_clock::now();
    const YieldCheck yield = [this, start] {
        const auto ran = std::chrono::steady_clock::now() - start;
        return ran >= kSlice ||
               (ran >= kSliceWhileWaiting && inbox_waiting_.load(std::memory_order_relaxed) > 0);
    };
    const std::int64_t writes_before = db_->WritesCommitted();
    bool more = false;
    try {
        more = background_(*db_, yield);
    } catch (const std::exception& error) {
        WriterLog().error("Background processing failed, will retry. error={}", error.what());
    }
    const auto end = std::chrono::steady_clock::now();
    if (Observe(writes_before)) {
        // Out of space: the pending items stay pending; try again after a pause rather than
        // after every group commit.
        retry_pause_ = std::clamp(retry_pause_ * 2, std::chrono::milliseconds{kRetryFirst},
                                  std::chrono::milliseconds{kRetryMost});
        next_slice_ = end + retry_pause_;
        return true;
    }
    retry_pause_ = std::chrono::milliseconds{0};
    next_slice_ = end + kSliceEvery;
    return more;
}

void Writer::Run() {
    for (;;) {
        std::vector<PendingItem> inbox;
        std::deque<std::function<void(storage::Db&)>> jobs;
        bool run_background = false;
        {
            std::unique_lock lock(mutex_);
            // Failed storage runs no background work: it would only fail again.
            const auto background_wanted = [this] {
                return kicked_ && background_ && storage_.state != StorageStatus::State::kFailed;
            };
            for (;;) {
                if (stopping_ || !inbox_.empty() || !jobs_.empty()) {
                    break;
                }
                if (background_wanted()) {
                    if (std::chrono::steady_clock::now() >= next_slice_) {
                        break;
                    }
                    wake_.wait_until(lock, next_slice_);
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
            run_background = background_wanted() && !stopping_ &&
                             std::chrono::steady_clock::now() >= next_slice_;
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
