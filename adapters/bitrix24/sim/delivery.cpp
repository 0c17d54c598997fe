#include "adapters/bitrix24/sim/delivery.hpp"

#include <httplib.h>

namespace fg::adapters::bitrix24::sim {

EventSender::EventSender(std::chrono::milliseconds timeout, double drop_share, std::uint64_t seed)
    : timeout_(timeout), drop_share_(drop_share), rng_(seed ^ 0xe7e7e7e7ULL) {}

EventSender::~EventSender() { Stop(); }

void EventSender::Start() {
    std::lock_guard lock(mutex_);
    if (started_) {
        return;
    }
    started_ = true;
    stopping_ = false;
    thread_ = std::thread([this] { Run(); });
}

void EventSender::Stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        stats_.pending = 0;
        queue_.clear();
    }
    wake_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
    std::lock_guard lock(mutex_);
    started_ = false;
    idle_.notify_all();
}

void EventSender::Enqueue(std::string url, std::string body) {
    {
        std::lock_guard lock(mutex_);
        ++stats_.queued;
        if (drop_next_ > 0 || (drop_share_ > 0 && rng_.Chance(drop_share_))) {
            drop_next_ = std::max(0, drop_next_ - 1);
            ++stats_.dropped;
            return;
        }
        if (stopping_) {
            return;
        }
        ++stats_.pending;
        queue_.push_back(Item{.url = std::move(url), .body = std::move(body)});
    }
    wake_.notify_one();
}

void EventSender::DropNext(int count) {
    std::lock_guard lock(mutex_);
    drop_next_ += count;
}

EventStats EventSender::Stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

bool EventSender::WaitIdle(std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return idle_.wait_for(lock, timeout,
                          [this] { return stopping_ || (queue_.empty() && !in_flight_); });
}

void EventSender::Run() {
    std::unique_lock lock(mutex_);
    while (true) {
        wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (stopping_) {
            return;
        }
        Item item = std::move(queue_.front());
        queue_.pop_front();
        --stats_.pending;
        in_flight_ = true;
        lock.unlock();
        const bool ok = Post(item);
        lock.lock();
        in_flight_ = false;
        ++(ok ? stats_.delivered : stats_.failed);
        if (queue_.empty()) {
            idle_.notify_all();
        }
    }
}

bool EventSender::Post(const Item& item) const {
    // "http://host:port/path?query": httplib's Client takes the scheme, host and port.
    const std::size_t scheme_end = item.url.find("://");
    if (scheme_end == std::string::npos) {
        return false;
    }
    const std::size_t path_at = item.url.find('/', scheme_end + 3);
    const std::string origin = item.url.substr(0, path_at);
    const std::string path = path_at == std::string::npos ? "/" : item.url.substr(path_at);
    httplib::Client client(origin);
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout_);
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(timeout_ - seconds);
    client.set_connection_timeout(seconds.count(), micros.count());
    client.set_read_timeout(seconds.count(), micros.count());
    client.set_write_timeout(seconds.count(), micros.count());
    const httplib::Headers headers{{"User-Agent", "Bitrix24 Webhook Engine"}};
    const auto result =
        client.Post(path.c_str(), headers, item.body, "application/x-www-form-urlencoded");
    return result && result->status >= 200 && result->status < 300;
}

}  // namespace fg::adapters::bitrix24::sim
