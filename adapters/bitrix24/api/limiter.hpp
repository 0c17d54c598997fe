#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "src/common/clock.hpp"
#include "src/outbox/retry.hpp"

namespace fg::adapters::bitrix24 {

/// Monotonic seconds and a way to wait, injected so that tests run the limiter on a manual clock.
struct Pace {
    std::function<double()> now_seconds{};  // empty: std::chrono::steady_clock
    std::function<void(double)> sleep{};    // empty: std::this_thread::sleep_for
};

/// One portal's leaky bucket (reference/bitrix24.md §3): `burst` requests at once, then `rate`
/// per second, whoever calls (the fetcher, the reader, the writer share one). A batch is one
/// request. Besides the bucket it holds the portal's refusals: after a QUERY_LIMIT_EXCEEDED every
/// caller waits until the portal's bucket has drained a little, and a method blocked by
/// OPERATION_TIME_LIMIT waits until its `operating_reset_at` (CRM time, from `clock`).
/// Two of the bucket's places are kept free (kBurstMargin): the portal's counter and this one
/// drain on different clocks, and with both full the portal's can be up to two requests fuller
/// (seen as one QUERY_LIMIT_EXCEEDED in a 100,000-deal reconcile at the full 50). Thread-safe.
class PortalLimiter {
public:
    static constexpr int kBurstMargin = 2;

    PortalLimiter(double rate, int burst, const Clock& clock, Pace pace = {});

    /// Blocks until a request may start (taking its place in the bucket).
    void Acquire();
    /// How long `method` is blocked still (zero: not blocked).
    Duration MethodBlockedFor(const std::string& method) const;
    /// The portal refused a request for its rate: nobody calls for `hold` seconds.
    void HoldAfterQueryLimit(double hold);
    /// `method` is blocked until `reset_at` (CRM time).
    void BlockMethod(const std::string& method, Timestamp reset_at);

    /// How long a request would wait now (the bucket, a hold after QUERY_LIMIT_EXCEEDED), taking
    /// nothing: callers that must not block (the notifier's WaitFor) ask this first.
    double WaitSeconds();

    double rate() const { return rate_; }
    double NowSeconds() const;
    void Sleep(double seconds) const;

private:
    double rate_;
    const Clock& clock_;
    Pace pace_;
    outbox::RateLimiter bucket_;
    mutable std::mutex mutex_;
    double held_until_ = 0;
    std::map<std::string, Timestamp> blocked_methods_;
};

/// The process's limiter of the portal at `portal_url` on `clock`: the portal's limit holds per
/// portal (and source address), so whoever calls it in this process (the CRM connector, the
/// fetcher, the writer, the Bitrix24 notifier, several tenants of one portal) takes from one
/// bucket. Made with `rate`, `burst` and `pace` by its first caller and kept while anyone holds
/// it; later callers get that one whatever they pass. Thread-safe.
std::shared_ptr<PortalLimiter> SharedPortalLimiter(const std::string& portal_url, double rate,
                                                   int burst, const Clock& clock, Pace pace = {});

}  // namespace fg::adapters::bitrix24
