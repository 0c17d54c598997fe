#pragma once

#include <atomic>
#include <chrono>

#include "src/common/time.hpp"

namespace fg {

/// The only source of "now". Tests, `check --now` and the demo's stepped clock inject their own.
class Clock {
public:
    virtual ~Clock() = default;
    virtual Timestamp Now() const = 0;
};

class SystemClock final : public Clock {
public:
    Timestamp Now() const override {
        return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
    }
};

/// Set by hand; thread-safe.
class ManualClock final : public Clock {
public:
    explicit ManualClock(Timestamp start) : now_(ToEpoch(start)) {}
    Timestamp Now() const override { return FromEpoch(now_.load()); }
    void Set(Timestamp t) { now_.store(ToEpoch(t)); }
    void Advance(Duration d) { now_.fetch_add(d.count()); }

private:
    std::atomic<long long> now_;
};

/// Starts at `start` and runs `speed` times faster than real time.
class FastClock final : public Clock {
public:
    FastClock(Timestamp start, double speed)
        : start_(start), speed_(speed), origin_(std::chrono::steady_clock::now()) {}
    Timestamp Now() const override {
        const auto real = std::chrono::steady_clock::now() - origin_;
        const auto scaled = std::chrono::duration<double>(real).count() * speed_;
        return start_ + Duration{static_cast<long long>(scaled)};
    }

private:
    Timestamp start_;
    double speed_;
    std::chrono::steady_clock::time_point origin_;
};

}  // namespace fg
