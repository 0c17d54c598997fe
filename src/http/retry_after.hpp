#pragma once

#include <optional>
#include <string_view>

#include "src/common/time.hpp"

namespace fg::http {

/// Retry-After (RFC 9110 §10.2.3) as delay-seconds ("7") or an HTTP-date (IMF-fixdate "Wed, 21
/// Oct 2015 07:28:00 GMT", and the obsolete RFC 850 and asctime forms recipients must accept),
/// relative to `now`. nullopt when empty or unparsable; a date in the past gives 0. Pure.
std::optional<Duration> ParseRetryAfter(std::string_view value, Timestamp now);

/// The wait a JSON error body asks for: its `retry_after` (amoCRM's problem documents), else
/// `parameters.retry_after` (Telegram's), as a number of seconds (a fraction rounds up) or a
/// string ParseRetryAfter reads. nullopt when the body is not a JSON object or names no usable
/// wait. Pure.
std::optional<Duration> BodyRetryAfter(std::string_view body, Timestamp now);

}  // namespace fg::http
