#include "src/common/time.hpp"

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

TEST_CASE("ParseIso8601 refuses times without an offset and garbage") {
    CHECK_FALSE(fg::ParseIso8601("2026-11-02T09:00:00"));
    CHECK_FALSE(fg::ParseIso8601("2026-13-02T09:00:00Z"));
    CHECK_FALSE(fg::ParseIso8601("2026-02-30T09:00:00Z"));
    CHECK_FALSE(fg::ParseIso8601("yesterday"));
    CHECK_FALSE(fg::ParseIso8601(""));
    CHECK_FALSE(fg::ParseIso8601("2026-11-02T09:00:00+3"));
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
