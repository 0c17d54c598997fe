#pragma once

#include <array>
#include <map>
#include <string>

#include "src/common/time.hpp"

namespace fg::adapters::bitrix24::sim {

/// The portal's request limit (bitrix24.md §3): a bucket of `burst` that drains `rate` requests
/// per second on the injected clock; a request that would overflow it is refused
/// (QUERY_LIMIT_EXCEEDED). rate <= 0 turns it off. Not thread-safe.
class LeakyBucket {
public:
    LeakyBucket(double rate, double burst) : rate_(rate), burst_(burst) {}
    /// Admits one request at `now` (and fills the bucket by one), or refuses it.
    bool Admit(Timestamp now);
    /// The fill level at `now`.
    double Level(Timestamp now);

private:
    void Drain(Timestamp now);

    double rate_;
    double burst_;
    double level_ = 0;
    bool started_ = false;
    Timestamp last_{};
};

/// Per-method operating time (bitrix24.md §3): each call's simulated execution seconds are
/// summed in 10 one-minute buckets; once a method's sum exceeds `limit`, its next calls get
/// OPERATION_TIME_LIMIT until the oldest bucket drops. Not thread-safe.
class OperatingBudget {
public:
    explicit OperatingBudget(double limit_seconds) : limit_(limit_seconds) {}
    bool Blocked(const std::string& method, Timestamp now);
    void Charge(const std::string& method, double seconds, Timestamp now);
    /// The running sum (time.operating).
    double Operating(const std::string& method, Timestamp now);
    /// When the oldest bucket holding time drops (time.operating_reset_at).
    Timestamp ResetAt(const std::string& method, Timestamp now);

private:
    struct Window {
        std::array<double, 10> seconds{};
        std::array<std::int64_t, 10> minute{};  // the minute each slot holds
    };
    Window& At(const std::string& method, Timestamp now);

    double limit_;
    std::map<std::string, Window> windows_{};
};

}  // namespace fg::adapters::bitrix24::sim
