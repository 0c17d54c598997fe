#include "adapters/bitrix24/sim/limits.hpp"

#include <algorithm>

namespace fg::adapters::bitrix24::sim {

void LeakyBucket::Drain(Timestamp now) {
    if (!started_) {
        started_ = true;
        last_ = now;
        return;
    }
    if (now > last_) {
        level_ = std::max(0.0, level_ - static_cast<double>((now - last_).count()) * rate_);
        last_ = now;
    }
}

bool LeakyBucket::Admit(Timestamp now) {
    if (rate_ <= 0) {
        return true;
    }
    Drain(now);
    if (level_ + 1 > burst_) {
        return false;
    }
    level_ += 1;
    return true;
}

double LeakyBucket::Level(Timestamp now) {
    Drain(now);
    return level_;
}

OperatingBudget::Window& OperatingBudget::At(const std::string& method, Timestamp now) {
    Window& window = windows_[method];
    const std::int64_t minute = ToEpoch(now) / 60;
    for (std::size_t i = 0; i < window.seconds.size(); ++i) {
        if (window.minute[i] <= minute - 10) {  // older than the 10-minute window
            window.seconds[i] = 0;
        }
    }
    const auto slot = static_cast<std::size_t>(minute % 10);
    if (window.minute[slot] != minute) {
        window.minute[slot] = minute;
        window.seconds[slot] = 0;
    }
    return window;
}

bool OperatingBudget::Blocked(const std::string& method, Timestamp now) {
    return limit_ > 0 && Operating(method, now) > limit_;
}

void OperatingBudget::Charge(const std::string& method, double seconds, Timestamp now) {
    if (seconds <= 0) {
        return;
    }
    Window& window = At(method, now);
    window.seconds[static_cast<std::size_t>((ToEpoch(now) / 60) % 10)] += seconds;
}

double OperatingBudget::Operating(const std::string& method, Timestamp now) {
    if (windows_.find(method) == windows_.end()) {
        return 0;
    }
    const Window& window = At(method, now);
    double sum = 0;
    for (const double s : window.seconds) {
        sum += s;
    }
    return sum;
}

Timestamp OperatingBudget::ResetAt(const std::string& method, Timestamp now) {
    std::int64_t oldest = ToEpoch(now) / 60;
    if (windows_.find(method) != windows_.end()) {
        const Window& window = At(method, now);
        for (std::size_t i = 0; i < window.seconds.size(); ++i) {
            if (window.seconds[i] > 0) {
                oldest = std::min(oldest, window.minute[i]);
            }
        }
    }
    return FromEpoch((oldest + 10) * 60);
}

}  // namespace fg::adapters::bitrix24::sim
