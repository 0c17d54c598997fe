#include "src/http/retry_after.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>

#include <date/date.h>
#include <nlohmann/json.hpp>

namespace fg::http {
namespace {

constexpr std::array<std::string_view, 7> kShortDays = {"Mon", "Tue", "Wed", "Thu",
                                                        "Fri", "Sat", "Sun"};
constexpr std::array<std::string_view, 7> kLongDays = {
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

std::string_view TrimOws(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
        text.remove_prefix(1);
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
        text.remove_suffix(1);
    }
    return text;
}

bool IsDigits(std::string_view text) {
    return !text.empty() &&
           std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A run of ASCII digits as a small number; callers slice fixed-width fields out first.
std::optional<int> Digits(std::string_view text) {
    if (!IsDigits(text) || text.size() > 9) {
        return std::nullopt;
    }
    int value = 0;
    std::from_chars(text.data(), text.data() + text.size(), value);
    return value;
}

template <std::size_t N>
bool OneOf(std::string_view text, const std::array<std::string_view, N>& names) {
    return std::find(names.begin(), names.end(), text) != names.end();
}

std::optional<unsigned> MonthNumber(std::string_view text) {
    const auto* found = std::find(kMonths.begin(), kMonths.end(), text);
    if (found == kMonths.end()) {
        return std::nullopt;
    }
    return static_cast<unsigned>(found - kMonths.begin()) + 1;
}

// "08:49:37"
bool ParseClock(std::string_view text, int& hour, int& minute, int& second) {
    if (text.size() != 8 || text[2] != ':' || text[5] != ':') {
        return false;
    }
    const auto h = Digits(text.substr(0, 2));
    const auto m = Digits(text.substr(3, 2));
    const auto s = Digits(text.substr(6, 2));
    if (!h || !m || !s || *h > 23 || *m > 59 || *s > 60) {
        return false;
    }
    hour = *h;
    minute = *m;
    second = *s;
    return true;
}

std::optional<Timestamp> MakeTime(int year, unsigned month, int day, int hour, int minute,
                                  int second) {
    const date::year_month_day ymd{date::year{year}, date::month{month},
                                   date::day{static_cast<unsigned>(day)}};
    if (!ymd.ok()) {
        return std::nullopt;
    }
    return Timestamp{date::sys_days{ymd}.time_since_epoch()} + std::chrono::hours{hour} +
           std::chrono::minutes{minute} + Duration{second};
}

// IMF-fixdate, the preferred form: "Sun, 06 Nov 1994 08:49:37 GMT".
std::optional<Timestamp> ParseImfFixdate(std::string_view text) {
    if (text.size() != 29 || text.substr(3, 2) != ", " || text[7] != ' ' || text[11] != ' ' ||
        text[16] != ' ' || text.substr(25) != " GMT" || !OneOf(text.substr(0, 3), kShortDays)) {
        return std::nullopt;
    }
    const auto day = Digits(text.substr(5, 2));
    const auto month = MonthNumber(text.substr(8, 3));
    const auto year = Digits(text.substr(12, 4));
    int hour = 0, minute = 0, second = 0;
    if (!day || !month || !year || !ParseClock(text.substr(17, 8), hour, minute, second)) {
        return std::nullopt;
    }
    return MakeTime(*year, *month, *day, hour, minute, second);
}

// Obsolete RFC 850 form: "Sunday, 06-Nov-94 08:49:37 GMT". RFC 9110 §5.6.7: a two-digit year
// more than 50 years in the future means the most recent past year with those digits.
std::optional<Timestamp> ParseRfc850(std::string_view text, Timestamp now) {
    const auto comma = text.find(", ");
    if (comma == std::string_view::npos || !OneOf(text.substr(0, comma), kLongDays)) {
        return std::nullopt;
    }
    const std::string_view rest = text.substr(comma + 2);  // "06-Nov-94 08:49:37 GMT"
    if (rest.size() != 22 || rest[2] != '-' || rest[6] != '-' || rest[9] != ' ' ||
        rest.substr(18) != " GMT") {
        return std::nullopt;
    }
    const auto day = Digits(rest.substr(0, 2));
    const auto month = MonthNumber(rest.substr(3, 3));
    const auto yy = Digits(rest.substr(7, 2));
    int hour = 0, minute = 0, second = 0;
    if (!day || !month || !yy || !ParseClock(rest.substr(10, 8), hour, minute, second)) {
        return std::nullopt;
    }
    const int now_year =
        static_cast<int>(date::year_month_day{date::floor<date::days>(now)}.year());
    int year = now_year - now_year % 100 + *yy;
    if (year > now_year + 50) {
        year -= 100;
    }
    return MakeTime(year, *month, *day, hour, minute, second);
}

// Obsolete asctime form: "Sun Nov  6 08:49:37 1994".
std::optional<Timestamp> ParseAsctime(std::string_view text) {
    if (text.size() != 24 || text[3] != ' ' || text[7] != ' ' || text[10] != ' ' ||
        text[19] != ' ' || !OneOf(text.substr(0, 3), kShortDays)) {
        return std::nullopt;
    }
    const auto month = MonthNumber(text.substr(4, 3));
    std::string_view day_text = text.substr(8, 2);
    if (day_text[0] == ' ') {
        day_text.remove_prefix(1);
    }
    const auto day = Digits(day_text);
    const auto year = Digits(text.substr(20, 4));
    int hour = 0, minute = 0, second = 0;
    if (!day || !month || !year || !ParseClock(text.substr(11, 8), hour, minute, second)) {
        return std::nullopt;
    }
    return MakeTime(*year, *month, *day, hour, minute, second);
}

}  // namespace

std::optional<Duration> ParseRetryAfter(std::string_view value, Timestamp now) {
    value = TrimOws(value);
    if (value.empty()) {
        return std::nullopt;
    }
    if (IsDigits(value)) {
        // delay-seconds; a value too large for 64 bits is nonsense rather than "wait forever".
        std::int64_t seconds = 0;
        const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
        if (ec != std::errc{} || end != value.data() + value.size()) {
            return std::nullopt;
        }
        return Duration{seconds};
    }
    std::optional<Timestamp> at = ParseImfFixdate(value);
    if (!at) {
        at = ParseRfc850(value, now);
    }
    if (!at) {
        at = ParseAsctime(value);
    }
    if (!at) {
        return std::nullopt;
    }
    return *at > now ? *at - now : Duration{0};
}

namespace {

// `retry_after` of a JSON object: a number of seconds (a fraction rounds up, so the wait is
// never shorter than asked) or a string in the header's forms.
std::optional<Duration> RetryAfterMember(const nlohmann::json& object, Timestamp now) {
    const auto it = object.find("retry_after");
    if (it == object.end()) {
        return std::nullopt;
    }
    if (it->is_number()) {
        const double seconds = it->get<double>();
        if (std::isfinite(seconds) && seconds >= 0 && seconds < 1e9) {
            return Duration{static_cast<std::int64_t>(std::ceil(seconds))};
        }
        return std::nullopt;
    }
    if (it->is_string()) {
        return ParseRetryAfter(it->get<std::string>(), now);
    }
    return std::nullopt;
}

}  // namespace

std::optional<Duration> BodyRetryAfter(std::string_view body, Timestamp now) {
    const nlohmann::json parsed = nlohmann::json::parse(body, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) {
        return std::nullopt;
    }
    if (auto top = RetryAfterMember(parsed, now)) {
        return top;
    }
    // Telegram's form: {"ok":false,"error_code":429,"parameters":{"retry_after":N}}.
    if (const auto parameters = parsed.find("parameters");
        parameters != parsed.end() && parameters->is_object()) {
        return RetryAfterMember(*parameters, now);
    }
    return std::nullopt;
}

}  // namespace fg::http
