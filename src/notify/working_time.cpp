#include "src/notify/working_time.hpp"

#include <algorithm>

#include <date/tz.h>

namespace fg::notify {
namespace {

const date::time_zone* ZoneOf(const config::TenantConfig& tenant) {
    try {
        return date::locate_zone(tenant.timezone);
    } catch (const std::exception&) {
        return date::locate_zone("UTC");
    }
}

using LocalSeconds = date::local_seconds;
using LocalDay = date::local_days;

// Monday 0 .. Sunday 6, as ChatSettings::working_days counts.
std::size_t DayIndex(LocalDay day) { return (date::weekday(day).c_encoding() + 6) % 7; }

// A local wall time as UTC; in a DST gap, the moment the clocks jump (what a person reads as the
// first minute that exists), in an overlap the earlier of the two.
Timestamp ToUtc(const date::time_zone* zone, LocalSeconds local) {
    const date::local_info info = zone->get_info(local);
    if (info.result == date::local_info::nonexistent) {
        return date::floor<Duration>(info.second.begin);
    }
    return Timestamp{local.time_since_epoch() - info.first.offset};
}

struct Window {
    Timestamp begin{};
    Timestamp end{};
};

// The working window of local day `day` in UTC (empty when it is not a working day).
std::optional<Window> WindowOf(const config::TenantConfig& tenant, const date::time_zone* zone,
                               LocalDay day) {
    const config::ChatSettings& chat = tenant.chat;
    if (!chat.working_days[DayIndex(day)]) {
        return std::nullopt;
    }
    const LocalSeconds begin = LocalSeconds{day} + std::chrono::minutes{chat.work_start_minute};
    const LocalSeconds end = LocalSeconds{day} + std::chrono::minutes{chat.work_end_minute};
    return Window{ToUtc(zone, begin), ToUtc(zone, end)};
}

LocalDay LocalDayOf(const date::time_zone* zone, Timestamp at) {
    return date::floor<date::days>(zone->to_local(at));
}

}  // namespace

bool IsWorkingTime(const config::TenantConfig& tenant, Timestamp at) {
    const date::time_zone* zone = ZoneOf(tenant);
    const auto window = WindowOf(tenant, zone, LocalDayOf(zone, at));
    return window && at >= window->begin && at < window->end;
}

Timestamp NextWorkingStart(const config::TenantConfig& tenant, Timestamp at) {
    const date::time_zone* zone = ZoneOf(tenant);
    const LocalDay today = LocalDayOf(zone, at);
    // A week and a day covers every pattern of working days (at least one is required).
    for (int offset = 0; offset <= 8; ++offset) {
        const auto window = WindowOf(tenant, zone, today + date::days{offset});
        if (!window || at >= window->end) {
            continue;
        }
        return std::max(at, window->begin);
    }
    return at;  // no working day at all: the config forbids it; never hold a message for ever
}

Duration WorkingTimeBetween(const config::TenantConfig& tenant, Timestamp from, Timestamp to) {
    if (to <= from) {
        return Duration::zero();
    }
    const date::time_zone* zone = ZoneOf(tenant);
    const LocalDay last = LocalDayOf(zone, to);
    Duration total = Duration::zero();
    for (LocalDay day = LocalDayOf(zone, from); day <= last; day += date::days{1}) {
        if (const auto window = WindowOf(tenant, zone, day)) {
            const Timestamp begin = std::max(from, window->begin);
            const Timestamp end = std::min(to, window->end);
            if (end > begin) {
                total += end - begin;
            }
        }
    }
    return total;
}

}  // namespace fg::notify
