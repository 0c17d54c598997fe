#include "src/outbox/retry.hpp"

#include <algorithm>
#include <atomic>
#include <climits>
#include <numeric>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

namespace fg::outbox {
namespace {

std::vector<long long> Samples(int attempt, int count, Duration base = Duration{2},
                               Duration cap = Duration{600}, Duration floor = Duration{1}) {
    std::mt19937_64 random(12345);
    std::vector<long long> out;
    out.reserve(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
        out.push_back(Backoff(attempt, random, base, cap, floor).count());
    }
    return out;
}

double Mean(const std::vector<long long>& values) {
    return static_cast<double>(std::accumulate(values.begin(), values.end(), 0LL)) /
           static_cast<double>(values.size());
}

}  // namespace

TEST_CASE("Backoff stays within [floor, min(cap, base * 2^(attempt-1))]") {
    for (int attempt = 1; attempt <= 14; ++attempt) {
        CAPTURE(attempt);
        const long long ceiling = std::min(600LL, 2LL << (attempt - 1));
        const auto samples = Samples(attempt, 2000);
        CHECK(*std::min_element(samples.begin(), samples.end()) >= 1);
        CHECK(*std::max_element(samples.begin(), samples.end()) <= ceiling);
    }
}

TEST_CASE("Backoff is full jitter: it spreads over the whole range") {
    // attempt 7: ceiling 2 * 64 = 128 s.
    const auto samples = Samples(7, 4000);
    const auto [low, high] = std::minmax_element(samples.begin(), samples.end());
    CHECK(*low <= 3);     // reaches the bottom (clamped to the floor)...
    CHECK(*high >= 125);  // ...and the top
    CHECK(Mean(samples) == doctest::Approx(64).epsilon(0.08));
    // Not a handful of repeated values: jitter de-synchronises retries.
    std::vector<long long> distinct = samples;
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    CHECK(distinct.size() > 100);
}

TEST_CASE("Backoff grows with the attempt number until the cap") {
    double previous = 0;
    for (int attempt = 1; attempt <= 9; ++attempt) {  // ceilings 2 .. 512
        CAPTURE(attempt);
        const double mean = Mean(Samples(attempt, 3000));
        CHECK(mean > previous);
        previous = mean;
    }
    SUBCASE("attempts past the cap are capped, including absurd ones") {
        for (int attempt : {10, 11, 30, 64, 65, 1000, INT_MAX}) {
            CAPTURE(attempt);
            const auto samples = Samples(attempt, 2000);
            CHECK(*std::max_element(samples.begin(), samples.end()) <= 600);
            CHECK(*std::max_element(samples.begin(), samples.end()) >= 590);
            CHECK(Mean(samples) == doctest::Approx(300).epsilon(0.08));
        }
    }
    SUBCASE("a custom cap") {
        const auto samples = Samples(20, 2000, Duration{1}, Duration{30}, Duration{0});
        CHECK(*std::max_element(samples.begin(), samples.end()) == 30);
        CHECK(*std::min_element(samples.begin(), samples.end()) == 0);
    }
}

TEST_CASE("Backoff never goes below the floor") {
    SUBCASE("a zero base gives exactly the floor") {
        for (long long value : Samples(5, 100, Duration{0}, Duration{600}, Duration{3})) {
            CHECK(value == 3);
        }
    }
    SUBCASE("attempt 0 or negative behaves like attempt 1") {
        for (int attempt : {0, -1, INT_MIN}) {
            const auto samples = Samples(attempt, 500);
            CHECK(*std::max_element(samples.begin(), samples.end()) == 2);
            CHECK(*std::min_element(samples.begin(), samples.end()) == 1);
        }
    }
    SUBCASE("a floor above the cap wins") {
        for (long long value : Samples(3, 100, Duration{2}, Duration{5}, Duration{10})) {
            CHECK(value == 10);
        }
    }
}

TEST_CASE("RateLimiter gives the burst at once, then paces at the rate") {
    RateLimiter limiter(2.0, 5.0);
    for (int i = 0; i < 5; ++i) {
        CAPTURE(i);
        CHECK_FALSE(limiter.TryAcquire(100.0).has_value());
    }
    const auto wait = limiter.TryAcquire(100.0);
    REQUIRE(wait.has_value());
    CHECK(*wait == doctest::Approx(0.5));
    SUBCASE("too early is still refused, with the remaining wait") {
        const auto again = limiter.TryAcquire(100.2);
        REQUIRE(again.has_value());
        CHECK(*again == doctest::Approx(0.3));
    }
    SUBCASE("waiting exactly the returned time succeeds, once") {
        CHECK_FALSE(limiter.TryAcquire(100.0 + *wait).has_value());
        CHECK(limiter.TryAcquire(100.0 + *wait).has_value());
    }
    SUBCASE("a long idle period refills only up to the burst") {
        for (int i = 0; i < 5; ++i) {
            CHECK_FALSE(limiter.TryAcquire(10'000.0).has_value());
        }
        CHECK(limiter.TryAcquire(10'000.0).has_value());
    }
    SUBCASE("time going backwards refills nothing") {
        CHECK(limiter.TryAcquire(50.0).has_value());
        CHECK(limiter.TryAcquire(99.0).has_value());
        CHECK_FALSE(limiter.TryAcquire(100.5).has_value());
    }
}

TEST_CASE("RateLimiter never exceeds rate over any window of a simulated span") {
    struct Case {
        double rate;
        double burst;
    };
    for (const Case c : {Case{2.0, 50.0}, Case{7.0, 1.0}, Case{0.5, 3.0}, Case{1.8, 40.0}}) {
        CAPTURE(c.rate);
        CAPTURE(c.burst);
        RateLimiter limiter(c.rate, c.burst);
        std::mt19937_64 random(7);
        std::exponential_distribution<double> gap(c.rate * 3);  // demand is 3x the rate
        std::vector<double> granted;
        double now = 1000.0;
        const double end = now + 600.0;
        while (now < end) {
            const auto wait = limiter.TryAcquire(now);
            if (!wait.has_value()) {
                granted.push_back(now);
            }
            // Callers that honour the wait exactly, impatient ones, and now and then a pause long
            // enough to refill the whole bucket.
            if (wait.has_value() && random() % 2 == 0) {
                now += *wait;
            } else {
                now += gap(random);
            }
            if (random() % 500 == 0) {
                now += c.burst / c.rate + 1;
            }
        }
        // Every window [granted[i], granted[j]] holds j - i + 1 grants; a token bucket allows
        // at most burst + rate * length of them.
        bool within = true;
        for (std::size_t i = 0; i < granted.size() && within; ++i) {
            for (std::size_t j = i; j < granted.size(); ++j) {
                const double allowed = c.burst + c.rate * (granted[j] - granted[i]) + 1e-6;
                if (static_cast<double>(j - i + 1) > allowed) {
                    within = false;
                    FAIL_CHECK("window [" << granted[i] << ", " << granted[j] << "] holds "
                                          << j - i + 1 << " grants, allowed " << allowed);
                    break;
                }
            }
        }
        CHECK(within);
        CHECK(granted.size() > 100);  // the bound was tested on real traffic, not on refusals

        SUBCASE("a caller that waits as told gets the full rate") {
            RateLimiter obedient(c.rate, c.burst);
            int count = 0;
            double t = 0;
            while (t <= 600.0) {
                const auto wait = obedient.TryAcquire(t);
                if (wait.has_value()) {
                    t += *wait;
                } else {
                    ++count;
                }
            }
            // burst at once, then one token every 1/rate seconds; the last one may straddle 600 s.
            CHECK(count >= static_cast<int>(c.burst + c.rate * 600.0) - 1);
            CHECK(count <= static_cast<int>(c.burst + c.rate * 600.0) + 1);
        }
    }
}

TEST_CASE("RateLimiter hands out each token once across threads") {
    RateLimiter limiter(1.0, 100.0);
    std::atomic<int> granted{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 1000; ++i) {
                if (!limiter.TryAcquire(5.0).has_value()) {
                    ++granted;
                }
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    CHECK(granted.load() == 100);
}

TEST_CASE("RateLimiter clamps nonsense settings instead of blocking forever") {
    RateLimiter zero_burst(10.0, 0.0);
    CHECK_FALSE(zero_burst.TryAcquire(1.0).has_value());
    const auto wait = zero_burst.TryAcquire(1.0);
    REQUIRE(wait.has_value());
    CHECK(*wait == doctest::Approx(0.1));
}

}  // namespace fg::outbox
