#pragma once
// One generator for every simulated account, so that a seed means the same thing in each.

#include <cstddef>
#include <cstdint>

namespace fg {

/// A small seeded generator (splitmix64) for the simulators and the demo's managers whose sequence
/// is the same on every platform and standard library, unlike std::uniform_*_distribution. Not
/// thread-safe.
class Rng {
public:
    explicit Rng(std::uint64_t seed) : state_(seed ^ 0x5851f42d4c957f2dULL) {}

    std::uint64_t Next() {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    /// Uniform in [0, n); 0 when n is 0.
    std::uint64_t Below(std::uint64_t n) { return n == 0 ? 0 : Next() % n; }
    /// Uniform in [low, high].
    std::int64_t Between(std::int64_t low, std::int64_t high) {
        if (high <= low) {
            return low;
        }
        return low + static_cast<std::int64_t>(Below(static_cast<std::uint64_t>(high - low) + 1));
    }
    /// Uniform in [0, 1).
    double Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
    bool Chance(double p) { return Unit() < p; }
    template <typename Container>
    const auto& Pick(const Container& items) {
        return items[static_cast<std::size_t>(Below(items.size()))];
    }

private:
    std::uint64_t state_;
};

}  // namespace fg
