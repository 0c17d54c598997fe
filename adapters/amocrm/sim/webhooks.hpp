#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "adapters/amocrm/sim/model.hpp"
#include "src/common/clock.hpp"
#include "src/common/time.hpp"

namespace fg::adapters::amocrm::sim {

/// Percent-encodes a form key or value the way amoCRM's PHP sender does: letters, digits and
/// "-_." stay, a space becomes "+", every other byte (brackets and UTF-8 included) is %XX.
std::string FormEncode(std::string_view text);

/// The application/x-www-form-urlencoded body of one webhook POST: every item under
/// `<group>[<i>][<key>]`, numbered per group in order, then the account block
/// (`account[subdomain]`, `account[id]`, `account[_links][self]`).
std::string EncodeWebhookBody(const std::vector<const HookItem*>& items, const Model& model);

/// When amoCRM tries a failed webhook again (amocrm.md §1.5): after attempt 1 fails 5 min, after
/// attempt 2 15 min, after attempts 3 and 4 15 min and 1 h but only when the reply was 499 or
/// 5xx. nullopt = give up. `status` 0 is a transport failure or timeout.
std::optional<Duration> RetryDelay(int failed_attempt, int status);

struct WebhookStats {
    std::uint64_t queued = 0;     // bodies accepted for delivery
    std::uint64_t attempts = 0;   // POSTs made (first tries and retries)
    std::uint64_t delivered = 0;  // attempts answered 100-299
    std::uint64_t failed = 0;     // attempts that failed (status, timeout, refused)
    std::uint64_t retried = 0;    // attempts that were retries
    std::uint64_t given_up = 0;   // bodies abandoned after their last attempt
    std::uint64_t dropped = 0;    // bodies dropped on purpose (DropWebhooks)
    std::uint64_t disabled = 0;   // bodies not sent because their destination was disabled
    std::uint64_t pending = 0;    // bodies waiting for a first attempt or a retry
};

/// Delivers webhook bodies from one background thread: first attempts in the order they were
/// queued, retries when they fall due on the injected clock (polled, so a ManualClock or a fast
/// clock drives them). 2 s timeouts; success is HTTP 100-299. A destination with more than 100
/// failures in the last 2 h is disabled after a failure, as amoCRM does; registering it again
/// (Enable) turns it back on. Thread-safe.
class WebhookSender {
public:
    explicit WebhookSender(const Clock& clock, Duration timeout = Duration{2});
    ~WebhookSender();
    WebhookSender(const WebhookSender&) = delete;
    WebhookSender& operator=(const WebhookSender&) = delete;

    void Start();
    void Stop();

    void Enqueue(const std::string& destination, std::string body);
    /// The next `count` bodies are dropped without a trace, like a lost hook.
    void DropNext(int count);
    bool Disabled(const std::string& destination) const;
    void Enable(const std::string& destination);
    /// Forgets pending deliveries to a destination (it was unregistered).
    void Forget(const std::string& destination);
    WebhookStats Stats() const;
    /// Waits until no first attempt is queued or running and no retry is due now. False on
    /// timeout.
    bool WaitIdle(std::chrono::milliseconds timeout) const;

private:
    struct Item {
        std::string destination{};
        std::string body{};
        int attempt = 1;  // the attempt about to be made
        Timestamp due{};
    };

    void Run();
    bool IdleLocked(Timestamp now) const;
    int Post(const Item& item) const;

    const Clock& clock_;
    Duration timeout_;
    mutable std::mutex mutex_;
    mutable std::condition_variable wake_;
    mutable std::condition_variable idle_;
    std::deque<Item> fresh_{};
    std::vector<Item> retries_{};
    std::map<std::string, std::deque<Timestamp>> failures_{};  // per destination, last 2 h
    std::map<std::string, bool> disabled_{};
    bool in_flight_ = false;
    bool stopping_ = false;
    int drop_next_ = 0;
    WebhookStats stats_{};
    std::thread thread_{};
};

}  // namespace fg::adapters::amocrm::sim
