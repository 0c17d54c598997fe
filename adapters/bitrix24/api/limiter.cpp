#include "adapters/bitrix24/api/limiter.hpp"

#include <algorithm>
#include <thread>
#include <utility>

namespace fg::adapters::bitrix24 {

PortalLimiter::PortalLimiter(double rate, int burst, const Clock& clock, Pace pace)
    : rate_(rate),
      clock_(clock),
      pace_(std::move(pace)),
      bucket_(rate, std::max(1, burst - kBurstMargin)) {}

double PortalLimiter::NowSeconds() const {
    if (pace_.now_seconds) {
        return pace_.now_seconds();
    }
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

void PortalLimiter::Sleep(double seconds) const {
    if (seconds <= 0) {
        return;
    }
    if (pace_.sleep) {
        pace_.sleep(seconds);
        return;
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

void PortalLimiter::Acquire() {
    for (;;) {
        double held = 0;
        {
            const std::lock_guard lock(mutex_);
            held = held_until_ - NowSeconds();
        }
        if (held > 0) {
            Sleep(held);
            continue;
        }
        const std::optional<double> wait = bucket_.TryAcquire(NowSeconds());
        if (!wait) {
            return;
        }
        Sleep(*wait);
    }
}

Duration PortalLimiter::MethodBlockedFor(const std::string& method) const {
    const std::lock_guard lock(mutex_);
    const auto found = blocked_methods_.find(method);
    if (found == blocked_methods_.end() || found->second <= clock_.Now()) {
        return Duration{0};
    }
    return found->second - clock_.Now();
}

double PortalLimiter::WaitSeconds() {
    double held = 0;
    {
        const std::lock_guard lock(mutex_);
        held = held_until_ - NowSeconds();
    }
    return std::max(held, bucket_.WaitSeconds(NowSeconds()));
}

void PortalLimiter::HoldAfterQueryLimit(double hold) {
    const std::lock_guard lock(mutex_);
    held_until_ = std::max(held_until_, NowSeconds() + hold);
}

void PortalLimiter::BlockMethod(const std::string& method, Timestamp reset_at) {
    const std::lock_guard lock(mutex_);
    Timestamp& until = blocked_methods_[method];
    until = std::max(until, reset_at);
}

std::shared_ptr<PortalLimiter> SharedPortalLimiter(const std::string& portal_url, double rate,
                                                   int burst, const Clock& clock, Pace pace) {
    static std::mutex mutex;
    // Weak: a limiter lives as long as its users, so a later setup (a test, a reload) with
    // another clock or limit starts afresh.
    static std::map<std::pair<std::string, const Clock*>, std::weak_ptr<PortalLimiter>> limiters;
    const std::lock_guard lock(mutex);
    std::weak_ptr<PortalLimiter>& slot = limiters[{portal_url, &clock}];
    if (auto limiter = slot.lock()) {
        return limiter;
    }
    std::erase_if(limiters, [](const auto& entry) { return entry.second.expired(); });
    auto limiter = std::make_shared<PortalLimiter>(rate, burst, clock, std::move(pace));
    limiters[{portal_url, &clock}] = limiter;
    return limiter;
}

}  // namespace fg::adapters::bitrix24
