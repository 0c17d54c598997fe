#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fg {

/// CRM time and funnelguard time alike: UTC, whole seconds.
using Timestamp = std::chrono::sys_seconds;
using Duration = std::chrono::seconds;

inline std::int64_t ToEpoch(Timestamp t) { return t.time_since_epoch().count(); }
inline Timestamp FromEpoch(std::int64_t s) { return Timestamp{Duration{s}}; }

/// ISO 8601 with an offset or Z ("2026-11-02T09:00:00+03:00", "2026-11-02T06:00:00Z",
/// fractional seconds ignored). A time without an offset is rejected: the CRM's zone is unknowable.
std::optional<Timestamp> ParseIso8601(std::string_view text);
/// "2026-11-02T06:00:00Z".
std::string FormatIso8601(Timestamp t);
/// Local time in an IANA zone, "2026-11-02T09:00:00+03:00"; falls back to UTC for an unknown zone.
/// Each thread keeps the zone it looked up last (and that zone's current offset period), so
/// formatting many times in one zone costs no tz lookup.
std::string FormatIso8601(Timestamp t, const std::string& time_zone);
/// The same through date::locate_zone and date::format on every call: the reference the fast
/// form is tested against.
std::string FormatIso8601Slow(Timestamp t, const std::string& time_zone);
/// Whether `name` is a time zone the tz database knows.
bool IsKnownTimeZone(const std::string& name);

/// "30s", "15m", "4h", "14d" (also "0m"). Anything else is nullopt.
std::optional<Duration> ParseDuration(std::string_view text);
/// The shortest exact form: 900 s -> "15m", 90 s -> "90s".
std::string FormatDuration(Duration d);
/// A measured duration in at most two units, the larger first: "30d 6h", "2h 15m", "15m 1s",
/// "45s" (never raw seconds). The smaller unit is left out when it is zero ("1h").
std::string CompactDuration(Duration d);
/// A human form for messages: "2 ч 15 мин" / "2 h 15 min".
std::string HumanDuration(Duration d, std::string_view locale);

}  // namespace fg
