#pragma once

#include <mutex>
#include <optional>
#include <random>

#include "src/common/time.hpp"

namespace fg::outbox {

/// Capped exponential backoff with full jitter: uniform in [0, min(cap, base * 2^(attempt-1))],
/// never less than `floor` (so a receiver is not hammered by zero-length waits).
Duration Backoff(int attempt, std::mt19937_64& random, Duration base = Duration{2},
                 Duration cap = Duration{600}, Duration floor = Duration{1});

/// A token bucket: `rate` tokens per second, at most `burst` saved up. Thread-safe.
class RateLimiter {
public:
    RateLimiter(double rate, double burst);
    /// Takes a token if one is available at steady time `now_seconds`; otherwise returns how many
    /// seconds until one will be.
    std::optional<double> TryAcquire(double now_seconds);
    /// How many seconds until TryAcquire at `now_seconds` would take a token (0: now), taking
    /// none: for callers that ask before they queue.
    double WaitSeconds(double now_seconds);

private:
    std::mutex mutex_;
    double rate_;
    double burst_;
    double tokens_;
    double last_ = -1;
};

}  // namespace fg::outbox
