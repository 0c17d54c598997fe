#include "src/common/time.hpp"

#include <string>
#include <vector>

#include <date/date.h>
#include <doctest/doctest.h>

#include "src/common/log.hpp"
#include "src/common/secret.hpp"

using fg::Duration;

TEST_CASE("ParseIso8601 reads offsets, Z and fractions into UTC") {
    const auto moscow = fg::ParseIso8601("2026-11-02T09:00:00+03:00");
    REQUIRE(moscow);
    CHECK(fg::FormatIso8601(*moscow) == "2026-11-02T06:00:00Z");
    CHECK(fg::ParseIso8601("2026-11-02T06:00:00Z") == moscow);
    CHECK(fg::ParseIso8601("2026-11-02T06:00:00.123Z") == moscow);
    CHECK(fg::ParseIso8601("2026-11-02T04:00:00-0200") == moscow);
    CHECK(fg::FormatIso8601(*moscow, "Europe/Moscow") == "2026-11-02T09:00:00+03:00");
}

TEST_CASE("FormatIso8601 in a zone equals date's formatting across DST changes and zones") {
    // The fast form keeps a per-thread zone and offset period; the slow one asks date every time.
    const std::vector<std::string> zones = {
        "Europe/Moscow",
        "Europe/Berlin",
        "America/New_York",
        "America/St_Johns",
        "Australia/Lord_Howe",
        "Asia/Kolkata",
        "Pacific/Chatham",
        "Asia/Kathmandu",
        "UTC",
        "Europe/Samara",
        "America/Santiago",
        "Mars/Olympus_Mons",
        "",
        "Europe/Volgograd",
    };
    std::vector<fg::Timestamp> times;
    // Every 7 minutes 13 seconds through the weeks around the 2026 spring and autumn changes
    // (Europe: last Sundays of March and October; US: 8 March, 1 November).
    for (const auto start :
         {date::sys_days{date::year{2026} / 3 / 6}, date::sys_days{date::year{2026} / 3 / 27},
          date::sys_days{date::year{2026} / 10 / 23}, date::sys_days{date::year{2026} / 4 / 3}}) {
        for (fg::Timestamp t{start}; t < fg::Timestamp{start} + std::chrono::days{4};
             t += Duration{7 * 60 + 13}) {
            times.push_back(t);
        }
    }
    // Far from now: Moscow's 2011 and 2014 changes, local mean time (offsets with seconds), the
    // epoch, 2038, the year 9999 and beyond.
    for (const long long epoch :
         {1301180399LL, 1301180400LL, 1414274399LL, 1414274400LL, -2840140800LL, -5000000000LL, 0LL,
          -1LL, 2147483647LL, 253402300799LL, 253402300800LL, 1793599200LL}) {
        times.push_back(fg::FromEpoch(epoch));
    }
    for (const std::string& zone : zones) {
        for (const fg::Timestamp t : times) {
            REQUIRE(fg::FormatIso8601(t, zone) == fg::FormatIso8601Slow(t, zone));
        }
    }
    // Alternating zones and jumping back and forth in time: the cache follows.
    for (std::size_t i = 0; i < times.size(); ++i) {
        const std::string& zone = zones[i % zones.size()];
        const fg::Timestamp t = times[(i * 7919) % times.size()];
        REQUIRE(fg::FormatIso8601(t, zone) == fg::FormatIso8601Slow(t, zone));
    }
    CHECK(fg::FormatIso8601(fg::FromEpoch(1793599200), "America/St_Johns") ==
          "2026-11-02T02:30:00-03:30");
    CHECK(fg::FormatIso8601(fg::FromEpoch(1793599200), "Mars/Olympus_Mons") ==
          "2026-11-02T06:00:00Z");
}

TEST_CASE("FormatIso8601 in UTC equals date's formatting") {
    for (const long long epoch : {0LL, -1LL, 1793599200LL, 951782400LL, 4107542400LL,
                                  -62167219200LL, -62167219201LL, 253402300799LL, 253402300800LL}) {
        const fg::Timestamp t = fg::FromEpoch(epoch);
        CHECK(fg::FormatIso8601(t) == date::format("%FT%TZ", t));
    }
}

TEST_CASE("ParseIso8601 refuses times without an offset and garbage") {
    CHECK_FALSE(fg::ParseIso8601("2026-11-02T09:00:00"));
    CHECK_FALSE(fg::ParseIso8601("2026-13-02T09:00:00Z"));
    CHECK_FALSE(fg::ParseIso8601("2026-02-30T09:00:00Z"));
    CHECK_FALSE(fg::ParseIso8601("yesterday"));
    CHECK_FALSE(fg::ParseIso8601(""));
    CHECK_FALSE(fg::ParseIso8601("2026-11-02T09:00:00+3"));
}

TEST_CASE("ParseIso8601 takes real UTC offsets only (-12:00 to +14:00, minutes below 60)") {
    // +99:99 used to be read as 4 days and 3 hours off: an event filed days away from its time.
    CHECK_FALSE(fg::ParseIso8601("2026-11-02T09:00:00+99:99"));
    CHECK_FALSE(fg::ParseIso8601("2026-11-02T09:00:00+14:01"));
    CHECK_FALSE(fg::ParseIso8601("2026-11-02T09:00:00-15:00"));
    CHECK_FALSE(fg::ParseIso8601("2026-11-02T09:00:00+03:60"));
    CHECK_FALSE(fg::ParseIso8601("2026-11-02T09:00:00+0375"));
    CHECK_FALSE(fg::ParseIso8601("2026-11-02T09:00:00+03:0x"));
    const auto kiribati = fg::ParseIso8601("2026-11-02T14:00:00+14:00");
    REQUIRE(kiribati);
    CHECK(fg::FormatIso8601(*kiribati) == "2026-11-02T00:00:00Z");
    CHECK(fg::ParseIso8601("2026-11-02T00:00:00-12:00") ==
          fg::ParseIso8601("2026-11-02T12:00:00Z"));
    CHECK(fg::ParseIso8601("2026-11-02T05:45:00+0545") == fg::ParseIso8601("2026-11-02T00:00:00Z"));
}

TEST_CASE("Durations: the four units, and nothing else") {
    CHECK(fg::ParseDuration("30s") == Duration{30});
    CHECK(fg::ParseDuration("15m") == Duration{900});
    CHECK(fg::ParseDuration("4h") == Duration{4 * 3600});
    CHECK(fg::ParseDuration("14d") == Duration{14 * 86400});
    CHECK(fg::ParseDuration("0m") == Duration{0});
    CHECK_FALSE(fg::ParseDuration("15"));
    CHECK_FALSE(fg::ParseDuration("15 minutes"));
    CHECK_FALSE(fg::ParseDuration("-5m"));
    CHECK_FALSE(fg::ParseDuration("m"));
    CHECK(fg::FormatDuration(Duration{900}) == "15m");
    CHECK(fg::FormatDuration(Duration{90}) == "90s");
    CHECK(fg::FormatDuration(Duration{2 * 86400}) == "2d");
    CHECK(fg::HumanDuration(Duration{2 * 3600 + 15 * 60}, "ru") == "2 ч 15 мин");
    CHECK(fg::HumanDuration(Duration{2 * 3600 + 15 * 60}, "en") == "2 h 15 min");
}

TEST_CASE("SecretEquals matches only the exact secret") {
    CHECK(fg::SecretEquals("s3cret", "s3cret"));
    CHECK_FALSE(fg::SecretEquals("s3cre", "s3cret"));
    CHECK_FALSE(fg::SecretEquals("s3cret!", "s3cret"));
    CHECK_FALSE(fg::SecretEquals("", ""));  // an unset secret never authenticates
}

TEST_CASE("LogSafe keeps one event on one line") {
    CHECK(fg::LogSafe("a\r\nb\x1b[31m") == "a\\r\\nb\\x1b[31m");
    CHECK(fg::LogSafe(std::string(300, 'x'), 10).size() == 13);
}

TEST_CASE("CompactDuration: at most two units, the larger first, never raw seconds") {
    using fg::Duration;
    CHECK(fg::CompactDuration(Duration{45}) == "45s");
    CHECK(fg::CompactDuration(Duration{0}) == "0s");
    CHECK(fg::CompactDuration(Duration{901}) == "15m 1s");
    CHECK(fg::CompactDuration(Duration{900}) == "15m");
    CHECK(fg::CompactDuration(Duration{2 * 3600 + 15 * 60}) == "2h 15m");
    CHECK(fg::CompactDuration(Duration{3601}) == "1h");
    CHECK(fg::CompactDuration(Duration{30 * 86400 + 6 * 3600 + 45}) == "30d 6h");
    CHECK(fg::CompactDuration(Duration{14 * 86400}) == "14d");
    CHECK(fg::CompactDuration(Duration{-90}) == "-1m 30s");
}
