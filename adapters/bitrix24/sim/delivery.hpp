#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "src/common/rng.hpp"

namespace fg::adapters::bitrix24::sim {

struct EventStats {
    std::uint64_t queued = 0;     // POSTs due (one per handler per event)
    std::uint64_t delivered = 0;  // answered 2xx
    std::uint64_t failed = 0;     // refused, timed out or answered otherwise: lost, never retried
    std::uint64_t dropped = 0;    // lost on purpose (drop_events share, DropEvents)
    std::uint64_t pending = 0;    // not yet tried
};

/// Posts events to their handlers from one background thread, each once: Bitrix24's queue
/// never retries (bitrix24.md §1.4), so a failure is counted and the event is lost. Every POST
/// is bounded by `timeout`; Stop() abandons what is still queued and returns once the POST in
/// flight (if any) ends. Thread-safe.
class EventSender {
public:
    EventSender(std::chrono::milliseconds timeout, double drop_share, std::uint64_t seed);
    ~EventSender();
    EventSender(const EventSender&) = delete;
    EventSender& operator=(const EventSender&) = delete;

    void Start();
    void Stop();
    void Enqueue(std::string url, std::string body);
    /// The next `count` POSTs are lost without a trace.
    void DropNext(int count);
    EventStats Stats() const;
    /// Waits until nothing is queued or in flight; false after `timeout`.
    bool WaitIdle(std::chrono::milliseconds timeout) const;

private:
    struct Item {
        std::string url{};
        std::string body{};
    };
    void Run();
    bool Post(const Item& item) const;

    const std::chrono::milliseconds timeout_;
    const double drop_share_;
    mutable std::mutex mutex_;
    mutable std::condition_variable wake_;
    mutable std::condition_variable idle_;
    std::deque<Item> queue_{};
    bool in_flight_ = false;
    bool stopping_ = false;
    bool started_ = false;
    int drop_next_ = 0;
    Rng rng_;
    EventStats stats_{};
    std::thread thread_{};
};

}  // namespace fg::adapters::bitrix24::sim
