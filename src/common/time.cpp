#include "src/common/time.hpp"

#include <charconv>
#include <iterator>
#include <sstream>

#include <date/date.h>
#include <date/tz.h>
#include <fmt/format.h>

namespace fg {
namespace {

bool ParseInt(std::string_view text, int& out) {
    if (text.empty()) {
        return false;
    }
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && end == text.data() + text.size();
}

bool IsDigits(std::string_view text) {
    for (char c : text) {
        if (c < '0' || c > '9') {
            return false;
        }
    }
    return !text.empty();
}

// "2026-11-02T09:00:00+03:00" is 25 characters.
constexpr std::size_t kIsoSize = 32;

void Put2(char* out, int value) {
    out[0] = static_cast<char>('0' + value / 10);
    out[1] = static_cast<char>('0' + value % 10);
}

/// Writes `t` as local time at `offset`, ending in "Z" (`utc_z`, offset zero) or "+HH:MM", as
/// date::format would. Returns the size, or 0 for what this short form does not
/// cover (years outside 0000-9999, offsets with seconds or of a day or more): the caller then
/// formats through date.
std::size_t WriteIso8601(char* out, Timestamp t, Duration offset, bool utc_z = false) {
    if (offset.count() % 60 != 0 || offset >= std::chrono::hours{24} ||
        offset <= -std::chrono::hours{24}) {
        return 0;
    }
    const Timestamp local = t + offset;
    const date::sys_days days = date::floor<date::days>(local);
    const date::year_month_day ymd{days};
    const int year = static_cast<int>(ymd.year());
    if (year < 0 || year > 9999) {
        return 0;
    }
    const long long seconds = (local - days).count();
    Put2(out, year / 100);
    Put2(out + 2, year % 100);
    out[4] = '-';
    Put2(out + 5, static_cast<int>(static_cast<unsigned>(ymd.month())));
    out[7] = '-';
    Put2(out + 8, static_cast<int>(static_cast<unsigned>(ymd.day())));
    out[10] = 'T';
    Put2(out + 11, static_cast<int>(seconds / 3600));
    out[13] = ':';
    Put2(out + 14, static_cast<int>(seconds / 60 % 60));
    out[16] = ':';
    Put2(out + 17, static_cast<int>(seconds % 60));
    if (utc_z) {
        out[19] = 'Z';
        return 20;
    }
    const long long minutes = offset.count() / 60;
    const long long magnitude = minutes < 0 ? -minutes : minutes;
    out[19] = minutes < 0 ? '-' : '+';
    Put2(out + 20, static_cast<int>(magnitude / 60));
    out[22] = ':';
    Put2(out + 23, static_cast<int>(magnitude % 60));
    return 25;
}

/// One thread's last time zone (by name) and the offset period of its last lookup.
class ZoneCache {
public:
    /// The zone's UTC offset at `t`; nullopt for a zone the tz database does not know.
    std::optional<Duration> OffsetAt(const std::string& name, Timestamp t) {
        if (!looked_up_ || name != name_) {
            name_ = name;
            looked_up_ = true;
            zone_ = nullptr;
            period_begin_ = period_end_ = Timestamp{};
            try {
                zone_ = date::locate_zone(name);
            } catch (const std::exception&) {
                zone_ = nullptr;
            }
        }
        if (zone_ == nullptr) {
            return std::nullopt;
        }
        if (t < period_begin_ || t >= period_end_) {
            const date::sys_info info = zone_->get_info(t);
            period_begin_ = date::floor<Duration>(info.begin);
            period_end_ = date::floor<Duration>(info.end);
            offset_ = info.offset;
        }
        return offset_;
    }

private:
    bool looked_up_ = false;
    std::string name_{};
    const date::time_zone* zone_ = nullptr;
    Timestamp period_begin_{};  // [begin, end): where offset_ holds
    Timestamp period_end_{};
    Duration offset_{};
};

// "Z", "+HH:MM" or "+HHMM" in seconds east of UTC. Real offsets run from -12:00 to +14:00; one
// beyond ±14:00, or with 60 minutes or more, is a typo that would file the event days off.
std::optional<int> ParseUtcOffset(std::string_view text) {
    if (text == "Z" || text == "z") {
        return 0;
    }
    const bool colon = text.size() == 6 && text[3] == ':';
    if ((!colon && text.size() != 5) || (text[0] != '+' && text[0] != '-')) {
        return std::nullopt;
    }
    const std::string_view hours = text.substr(1, 2);
    const std::string_view minutes = text.substr(colon ? 4 : 3, 2);
    int oh = 0, om = 0;
    if (!IsDigits(hours) || !IsDigits(minutes) || !ParseInt(hours, oh) || !ParseInt(minutes, om) ||
        om >= 60 || oh * 60 + om > 14 * 60) {
        return std::nullopt;
    }
    return (oh * 3600 + om * 60) * (text[0] == '-' ? -1 : 1);
}

}  // namespace

std::optional<Timestamp> ParseIso8601(std::string_view text) {
    // YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM|-HH:MM|+HHMM)
    if (text.size() < 20 || text[4] != '-' || text[7] != '-' ||
        (text[10] != 'T' && text[10] != ' ') || text[13] != ':' || text[16] != ':') {
        return std::nullopt;
    }
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    if (!IsDigits(text.substr(0, 4)) || !ParseInt(text.substr(0, 4), year) ||
        !IsDigits(text.substr(5, 2)) || !ParseInt(text.substr(5, 2), month) ||
        !IsDigits(text.substr(8, 2)) || !ParseInt(text.substr(8, 2), day) ||
        !IsDigits(text.substr(11, 2)) || !ParseInt(text.substr(11, 2), hour) ||
        !IsDigits(text.substr(14, 2)) || !ParseInt(text.substr(14, 2), minute) ||
        !IsDigits(text.substr(17, 2)) || !ParseInt(text.substr(17, 2), second)) {
        return std::nullopt;
    }
    std::string_view rest = text.substr(19);
    if (!rest.empty() && rest[0] == '.') {
        std::size_t i = 1;
        while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9') {
            ++i;
        }
        if (i == 1) {
            return std::nullopt;
        }
        rest = rest.substr(i);
    }
    const std::optional<int> offset_seconds = ParseUtcOffset(rest);
    if (!offset_seconds) {
        return std::nullopt;
    }
    const date::year_month_day ymd{date::year{year}, date::month{static_cast<unsigned>(month)},
                                   date::day{static_cast<unsigned>(day)}};
    if (!ymd.ok() || hour > 23 || minute > 59 || second > 60) {
        return std::nullopt;
    }
    const auto days = date::sys_days{ymd};
    return Timestamp{days.time_since_epoch()} + std::chrono::hours{hour} +
           std::chrono::minutes{minute} + Duration{second} - Duration{*offset_seconds};
}

std::string FormatIso8601(Timestamp t) {
    char buffer[kIsoSize];
    const std::size_t size = WriteIso8601(buffer, t, Duration{0}, /*utc_z=*/true);
    if (size == 0) {
        return date::format("%FT%TZ", t);
    }
    return std::string(buffer, size);
}

std::string FormatIso8601(Timestamp t, const std::string& time_zone) {
    // Formatting runs once or more per violation (a million-deal `check` prints ~400k), so the
    // zone is looked up once per thread and its current offset period is kept: no tz lookup,
    // stream or locale per call. FormatIso8601Slow is the reference (tests compare the two).
    thread_local ZoneCache cache;
    const std::optional<Duration> offset = cache.OffsetAt(time_zone, t);
    if (!offset) {
        return FormatIso8601(t);
    }
    char buffer[kIsoSize];
    const std::size_t size = WriteIso8601(buffer, t, *offset);
    if (size == 0) {
        return FormatIso8601Slow(t, time_zone);
    }
    return std::string(buffer, size);
}

std::string FormatIso8601Slow(Timestamp t, const std::string& time_zone) {
    try {
        const auto* zone = date::locate_zone(time_zone);
        const auto local = date::make_zoned(zone, t);
        std::string text = date::format("%FT%T%z", local);
        // %z gives +0300; ISO 8601 in our API uses +03:00.
        if (text.size() >= 5) {
            text.insert(text.size() - 2, ":");
        }
        return text;
    } catch (const std::exception&) {
        return date::format("%FT%TZ", t);
    }
}

bool IsKnownTimeZone(const std::string& name) {
    try {
        return date::locate_zone(name) != nullptr;
    } catch (const std::exception&) {
        return false;
    }
}

std::optional<Duration> ParseDuration(std::string_view text) {
    if (text.size() < 2) {
        return std::nullopt;
    }
    const char unit = text.back();
    const std::string_view number = text.substr(0, text.size() - 1);
    if (!IsDigits(number)) {
        return std::nullopt;
    }
    long long value = 0;
    const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
    if (ec != std::errc{} || end != number.data() + number.size() || value > 100LL * 365 * 86400) {
        return std::nullopt;
    }
    switch (unit) {
        case 's':
            return Duration{value};
        case 'm':
            return Duration{value * 60};
        case 'h':
            return Duration{value * 3600};
        case 'd':
            return Duration{value * 86400};
        default:
            return std::nullopt;
    }
}

std::string FormatDuration(Duration d) {
    const long long s = d.count();
    if (s != 0 && s % 86400 == 0) {
        return fmt::format("{}d", s / 86400);
    }
    if (s != 0 && s % 3600 == 0) {
        return fmt::format("{}h", s / 3600);
    }
    if (s % 60 == 0) {
        return fmt::format("{}m", s / 60);
    }
    return fmt::format("{}s", s);
}

std::string CompactDuration(Duration d) {
    const long long total = d.count();
    long long s = total < 0 ? -total : total;
    const std::string sign = total < 0 ? "-" : "";
    struct Unit {
        long long seconds;
        char name;
    };
    static constexpr Unit kUnits[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
    for (std::size_t i = 0; i < std::size(kUnits); ++i) {
        const long long n = s / kUnits[i].seconds;
        if (n == 0 && kUnits[i].seconds > 1) {
            continue;
        }
        std::string out = fmt::format("{}{}{}", sign, n, kUnits[i].name);
        if (i + 1 < std::size(kUnits)) {
            const long long rest = (s % kUnits[i].seconds) / kUnits[i + 1].seconds;
            if (rest > 0) {
                out += fmt::format(" {}{}", rest, kUnits[i + 1].name);
            }
        }
        return out;
    }
    return "0s";
}

std::string HumanDuration(Duration d, std::string_view locale) {
    const bool ru = locale != "en";
    long long s = d.count() < 0 ? -d.count() : d.count();
    const long long days = s / 86400;
    const long long hours = (s % 86400) / 3600;
    const long long minutes = (s % 3600) / 60;
    std::string out;
    auto add = [&out](long long n, std::string_view unit) {
        if (!out.empty()) {
            out += ' ';
        }
        out += fmt::format("{} {}", n, unit);
    };
    if (days > 0) {
        add(days, ru ? "дн" : "d");
    }
    if (hours > 0) {
        add(hours, ru ? "ч" : "h");
    }
    if (minutes > 0 && days == 0) {
        add(minutes, ru ? "мин" : "min");
    }
    if (out.empty()) {
        add(s, ru ? "с" : "s");
    }
    return out;
}

}  // namespace fg
