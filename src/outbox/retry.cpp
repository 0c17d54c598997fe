#include "src/outbox/retry.hpp"

#include <algorithm>
#include <cstdint>

namespace fg::outbox {
namespace {

constexpr double kEpsilon = 1e-9;

}  // namespace

Duration Backoff(int attempt, std::mt19937_64& random, Duration base, Duration cap,
                 Duration floor) {
    const std::int64_t cap_s = std::max<std::int64_t>(cap.count(), 0);
    const std::int64_t base_s = std::max<std::int64_t>(base.count(), 0);
    // base * 2^(attempt-1), saturating at the cap so large attempt numbers cannot overflow.
    std::int64_t ceiling = std::min(base_s, cap_s);
    for (int i = 1; i < attempt && ceiling < cap_s; ++i) {
        ceiling = ceiling > cap_s / 2 ? cap_s : ceiling * 2;
    }
    std::uniform_int_distribution<std::int64_t> uniform(0, ceiling);
    return std::max(Duration{uniform(random)}, floor);
}

RateLimiter::RateLimiter(double rate, double burst)
    // A bucket that can never hold a whole token, or never refills, would block forever:
    // clamp to the smallest meaningful values instead.
    : rate_(rate > 1e-6 ? rate : 1e-6), burst_(burst >= 1 ? burst : 1), tokens_(burst_) {}

std::optional<double> RateLimiter::TryAcquire(double now_seconds) {
    std::lock_guard lock(mutex_);
    if (last_ < 0) {
        last_ = now_seconds;
    }
    // A steady clock never goes back, but a caller's arithmetic might: never refill for it.
    if (now_seconds > last_) {
        tokens_ = std::min(burst_, tokens_ + (now_seconds - last_) * rate_);
        last_ = now_seconds;
    }
    // The epsilon absorbs rounding, so that waiting exactly the returned time always succeeds.
    if (tokens_ >= 1 - kEpsilon) {
        tokens_ = std::max(0.0, tokens_ - 1);
        return std::nullopt;
    }
    return (1 - tokens_) / rate_;
}

double RateLimiter::WaitSeconds(double now_seconds) {
    std::lock_guard lock(mutex_);
    double tokens = tokens_;
    if (last_ >= 0 && now_seconds > last_) {
        tokens = std::min(burst_, tokens_ + (now_seconds - last_) * rate_);
    }
    return tokens >= 1 - kEpsilon ? 0 : (1 - tokens) / rate_;
}

}  // namespace fg::outbox
