// libFuzzer target: the ISO 8601 and duration parsers (src/common/time.cpp).
//
// Input: a text, given to ParseIso8601 and ParseDuration. Checks round trips: a parsed time
// formatted in UTC, and in zones with odd offsets, parses back to the same instant (within the
// years 0000-9999 the formats cover, at offsets of whole minutes), and the fast zone formatting
// equals the reference FormatIso8601Slow; a parsed duration is not negative and FormatDuration of
// it parses back to it (HumanDuration is run in both locales for the sanitizers).
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <date/date.h>
#include <date/tz.h>

#include "bench/fuzz/support.hpp"
#include "src/common/time.hpp"

namespace {

// Whole-hour, half-hour and 45-minute offsets, DST on both hemispheres, and a +14:00.
constexpr std::array<const char*, 6> kZones = {
    "Europe/Moscow",       "America/St_Johns",   "Asia/Kathmandu",
    "Australia/Lord_Howe", "Pacific/Kiritimati", "UTC",
};

bool InFormattedRange(fg::Timestamp t) {
    const date::year_month_day ymd{date::floor<date::days>(t)};
    return ymd.year() >= date::year{0} && ymd.year() <= date::year{9999};
}

void CheckTime(std::string_view text, fg::Timestamp t) {
    const std::string epoch = std::to_string(fg::ToEpoch(t));
    const std::string utc = fg::FormatIso8601(t);
    if (!InFormattedRange(t)) {
        return;  // "-0001-..." and "10000-..." are not the 4-digit form the parser reads
    }
    const auto again = fg::ParseIso8601(utc);
    FG_FUZZ_CHECK(again && *again == t, std::string(text) + " → " + epoch + " → " + utc);
    for (const char* zone : kZones) {
        const std::string local = fg::FormatIso8601(t, zone);
        const std::string slow = fg::FormatIso8601Slow(t, zone);
        FG_FUZZ_CHECK(local == slow, std::string(text) + " in " + zone + ": " + local +
                                         " but the reference gives " + slow);
        // "+HH:MM" cannot say a local mean time's seconds (Moscow before 1880: +02:30:17), and a
        // local time may fall outside 0000-9999 although the instant does not.
        const auto offset = date::locate_zone(zone)->get_info(t).offset;
        if (offset.count() % 60 == 0 && local.size() == 25) {
            const auto back = fg::ParseIso8601(local);
            FG_FUZZ_CHECK(back && *back == t,
                          std::string(text) + " → " + epoch + " → " + local + " (" + zone + ")");
        }
    }
}

void CheckDuration(std::string_view text, fg::Duration d) {
    FG_FUZZ_CHECK(d.count() >= 0, std::string(text) + " is negative");
    const std::string formatted = fg::FormatDuration(d);
    const auto again = fg::ParseDuration(formatted);
    FG_FUZZ_CHECK(again && *again == d,
                  std::string(text) + " → " + std::to_string(d.count()) + "s → " + formatted);
    FG_FUZZ_CHECK(!fg::HumanDuration(d, "ru").empty() && !fg::HumanDuration(d, "en").empty(),
                  "an empty HumanDuration");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    if (const auto t = fg::ParseIso8601(text)) {
        CheckTime(text, *t);
    }
    if (const auto d = fg::ParseDuration(text)) {
        CheckDuration(text, *d);
    }
    return 0;
}
