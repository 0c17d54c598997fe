#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

#include <httplib.h>

namespace fg::adapters::amocrm::sim {

/// The simulator's connection task queue. cpp-httplib runs a whole keep-alive connection on one
/// task, so a fixed pool with every thread parked on an idle keep-alive socket leaves a new
/// connection queued until one of them times out, and a request over the rate limit then waits
/// seconds for the 429 a real amoCRM sends at once. This pool starts a thread whenever no worker
/// is free, up to `max_threads`; past that, tasks wait. Threads beyond `min_threads` end after
/// `linger` without work.
///
/// Thread-safe. shutdown() (called by httplib when listening ends) runs the queued tasks and
/// joins every thread.
class ElasticPool final : public httplib::TaskQueue {
public:
    ElasticPool(std::size_t min_threads, std::size_t max_threads,
                std::chrono::milliseconds linger = std::chrono::seconds{30});
    ~ElasticPool() override;
    ElasticPool(const ElasticPool&) = delete;
    ElasticPool& operator=(const ElasticPool&) = delete;

    void enqueue(std::function<void()> fn) override;
    void shutdown() override;

    /// Threads alive now (for tests).
    std::size_t Threads() const;

private:
    void Spawn();  // under mutex_
    void Work(std::list<std::thread>::iterator self);
    void ReapLocked(std::vector<std::thread>& out);  // under mutex_

    const std::size_t min_threads_;
    const std::size_t max_threads_;
    const std::chrono::milliseconds linger_;

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::function<void()>> jobs_;
    std::list<std::thread> threads_;
    std::vector<std::list<std::thread>::iterator> finished_;  // ended, not yet joined
    std::size_t idle_ = 0;
    bool shutdown_ = false;
};

}  // namespace fg::adapters::amocrm::sim
