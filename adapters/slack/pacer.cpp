#include "adapters/slack/pacer.hpp"

#include <algorithm>
#include <cmath>

namespace fg::adapters::slack {

Pacer::Pacer(const Clock& clock, double per_second, double burst)
    : clock_(clock), per_second_(per_second), burst_(std::max(1.0, burst)) {}

Pacer::Bucket& Pacer::BucketOf(const std::string& hook, Timestamp now) {
    auto [it, inserted] = hooks_.try_emplace(hook);
    Bucket& bucket = it->second;
    if (inserted) {
        bucket.tokens = burst_;
        bucket.at = now;
    } else if (now > bucket.at) {
        const double elapsed = static_cast<double>((now - bucket.at).count());
        bucket.tokens = std::min(burst_, bucket.tokens + elapsed * per_second_);
        bucket.at = now;
    }
    return bucket;
}

Duration Pacer::WaitFor(const std::string& hook) {
    std::lock_guard lock(mutex_);
    const Timestamp now = clock_.Now();
    const Bucket& bucket = BucketOf(hook, now);
    Duration wait = bucket.paused_until > now ? bucket.paused_until - now : Duration::zero();
    if (bucket.tokens < 1) {
        const auto refill = static_cast<long long>(std::ceil((1 - bucket.tokens) / per_second_));
        wait = std::max(wait, Duration{refill});
    }
    return wait;
}

void Pacer::Take(const std::string& hook) {
    std::lock_guard lock(mutex_);
    BucketOf(hook, clock_.Now()).tokens -= 1;
}

void Pacer::Refused(const std::string& hook, Duration wait) {
    std::lock_guard lock(mutex_);
    const Timestamp now = clock_.Now();
    Bucket& bucket = BucketOf(hook, now);
    bucket.paused_until = std::max(bucket.paused_until, now + wait);
}

}  // namespace fg::adapters::slack
