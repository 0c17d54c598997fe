#pragma once

// Whether this build runs under AddressSanitizer (tests/run.sh's second configuration): a test
// too heavy for it (tens of seconds of JSON at -O0) runs in the optimized configuration only,
// with `* doctest::skip(fg::testing::kSanitized)`.
namespace fg::testing {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif
#else
inline constexpr bool kSanitized = false;
#endif

}  // namespace fg::testing
