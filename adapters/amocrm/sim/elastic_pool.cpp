#include "adapters/amocrm/sim/elastic_pool.hpp"

#include <algorithm>
#include <system_error>

namespace fg::adapters::amocrm::sim {

ElasticPool::ElasticPool(std::size_t min_threads, std::size_t max_threads,
                         std::chrono::milliseconds linger)
    : min_threads_(std::max<std::size_t>(1, min_threads)),
      max_threads_(std::max(min_threads_, max_threads)),
      linger_(linger) {
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < min_threads_; ++i) {
        Spawn();
    }
}

ElasticPool::~ElasticPool() { shutdown(); }

void ElasticPool::enqueue(std::function<void()> fn) {
    std::vector<std::thread> ended;
    {
        std::unique_lock lock(mutex_);
        if (shutdown_) {
            // httplib stops accepting before it shuts the queue down; should a task still come,
            // running it here closes its socket instead of leaking it.
            lock.unlock();
            fn();
            return;
        }
        jobs_.push_back(std::move(fn));
        ReapLocked(ended);
        // A worker counted idle may already be promised an earlier job, hence the comparison
        // with the queue length rather than with zero.
        if (idle_ < jobs_.size() && threads_.size() - finished_.size() < max_threads_) {
            Spawn();
        }
    }
    wake_.notify_one();
    for (std::thread& thread : ended) {
        thread.join();
    }
}

void ElasticPool::shutdown() {
    std::list<std::thread> all;
    {
        std::lock_guard lock(mutex_);
        shutdown_ = true;
        all.swap(threads_);
        finished_.clear();
    }
    wake_.notify_all();
    for (std::thread& thread : all) {
        if (thread.joinable()) {
            thread.join();
        }
    }
}

std::size_t ElasticPool::Threads() const {
    std::lock_guard lock(mutex_);
    return threads_.size() - finished_.size();
}

void ElasticPool::Spawn() {
    threads_.emplace_back();
    const auto self = std::prev(threads_.end());
    try {
        // The new thread blocks on mutex_ (held here) until the list entry is complete.
        *self = std::thread([this, self] { Work(self); });
    } catch (const std::system_error&) {
        threads_.erase(self);  // out of threads: the job waits for a busy worker instead
    }
}

void ElasticPool::Work(std::list<std::thread>::iterator self) {
    std::unique_lock lock(mutex_);
    for (;;) {
        ++idle_;
        const bool woken =
            wake_.wait_for(lock, linger_, [this] { return shutdown_ || !jobs_.empty(); });
        --idle_;
        if (!jobs_.empty()) {
            std::function<void()> job = std::move(jobs_.front());
            jobs_.pop_front();
            lock.unlock();
            job();
            lock.lock();
            continue;
        }
        if (shutdown_) {
            return;
        }
        if (!woken && threads_.size() - finished_.size() > min_threads_) {
            finished_.push_back(self);  // joined by the next enqueue or by shutdown
            return;
        }
    }
}

void ElasticPool::ReapLocked(std::vector<std::thread>& out) {
    for (const auto& entry : finished_) {
        out.push_back(std::move(*entry));
        threads_.erase(entry);
    }
    finished_.clear();
}

}  // namespace fg::adapters::amocrm::sim
