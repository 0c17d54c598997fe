#include "adapters/telegram/pacer.hpp"

#include <algorithm>
#include <cmath>

namespace fg::adapters::telegram {
namespace {

double RateOf(const PaceLimits& limits, bool group) {
    return group ? 1.0 / static_cast<double>(limits.group_interval.count())
                 : limits.chat_per_second;
}

double BurstOf(const PaceLimits& limits, bool group) { return group ? 1.0 : limits.chat_burst; }

}  // namespace

Pacer::Pacer(const Clock& clock, PaceLimits limits) : clock_(clock), limits_(limits) {
    bot_.tokens = limits_.bot_per_second;
    bot_.at = clock_.Now();
}

void Pacer::Refill(Bucket& bucket, double rate, double burst, Timestamp now) {
    if (now > bucket.at) {
        const double elapsed = static_cast<double>((now - bucket.at).count());
        bucket.tokens = std::min(burst, bucket.tokens + elapsed * rate);
        bucket.at = now;
    }
}

Duration Pacer::Until(const Bucket& bucket, double rate, Timestamp now) {
    Duration wait = bucket.paused_until > now ? bucket.paused_until - now : Duration::zero();
    if (bucket.tokens < 1) {
        const auto refill = static_cast<long long>(std::ceil((1 - bucket.tokens) / rate));
        wait = std::max(wait, Duration{refill});
    }
    return wait;
}

Pacer::Bucket& Pacer::BucketOf(const std::string& chat, bool group, Timestamp now) {
    auto [it, inserted] = chats_.try_emplace(chat);
    if (inserted) {
        it->second.tokens = BurstOf(limits_, group);
        it->second.at = now;
    }
    Refill(it->second, RateOf(limits_, group), BurstOf(limits_, group), now);
    return it->second;
}

Duration Pacer::WaitFor(const std::string& chat, bool group) {
    std::lock_guard lock(mutex_);
    const Timestamp now = clock_.Now();
    Refill(bot_, limits_.bot_per_second, limits_.bot_per_second, now);
    const Bucket& bucket = BucketOf(chat, group, now);
    return std::max(Until(bot_, limits_.bot_per_second, now),
                    Until(bucket, RateOf(limits_, group), now));
}

void Pacer::Take(const std::string& chat, bool group) {
    std::lock_guard lock(mutex_);
    const Timestamp now = clock_.Now();
    Refill(bot_, limits_.bot_per_second, limits_.bot_per_second, now);
    bot_.tokens -= 1;
    BucketOf(chat, group, now).tokens -= 1;
}

void Pacer::Refused(const std::string& chat, Duration wait) {
    std::lock_guard lock(mutex_);
    const Timestamp now = clock_.Now();
    Bucket& bucket = chats_[chat];
    bucket.paused_until = std::max(bucket.paused_until, now + wait);
    if (last_refused_ != Timestamp{} && now - last_refused_ < std::chrono::minutes{1}) {
        bot_.paused_until = std::max(bot_.paused_until, now + wait);
    }
    last_refused_ = now;
}

}  // namespace fg::adapters::telegram
