#include "src/http/retry_after.hpp"

#include <string_view>

#include <doctest/doctest.h>

namespace fg::http {
namespace {

Timestamp Utc(std::string_view iso) { return *ParseIso8601(iso); }

}  // namespace

TEST_CASE("ParseRetryAfter reads delay-seconds") {
    const Timestamp now = Utc("2026-11-02T09:00:00Z");
    CHECK(ParseRetryAfter("7", now) == Duration{7});
    CHECK(ParseRetryAfter("0", now) == Duration{0});
    CHECK(ParseRetryAfter(" 120\t", now) == Duration{120});
    CHECK(ParseRetryAfter("86400", now) == Duration{86400});
    SUBCASE("garbage is nullopt") {
        for (std::string_view bad : {"", "  ", "-1", "+5", "7.5", "7s", "seven", "1e3", "0x10",
                                     "99999999999999999999999", "7 8"}) {
            CAPTURE(bad);
            CHECK_FALSE(ParseRetryAfter(bad, now).has_value());
        }
    }
}

TEST_CASE("ParseRetryAfter reads HTTP-dates relative to now") {
    const Timestamp now = Utc("2015-10-21T07:27:00Z");
    SUBCASE("IMF-fixdate") {
        CHECK(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", now) == Duration{60});
        CHECK(ParseRetryAfter("Thu, 22 Oct 2015 07:27:00 GMT", now) == Duration{86400});
        CHECK(ParseRetryAfter("  Wed, 21 Oct 2015 07:28:00 GMT ", now) == Duration{60});
    }
    SUBCASE("a date in the past or now gives 0") {
        CHECK(ParseRetryAfter("Wed, 21 Oct 2015 07:26:59 GMT", now) == Duration{0});
        CHECK(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", now) == Duration{0});
        CHECK(ParseRetryAfter("Wed, 21 Oct 2015 07:27:00 GMT", now) == Duration{0});
    }
    SUBCASE("obsolete forms that RFC 9110 still requires recipients to accept") {
        CHECK(ParseRetryAfter("Wednesday, 21-Oct-15 07:28:00 GMT", now) == Duration{60});
        CHECK(ParseRetryAfter("Wed Oct 21 07:28:00 2015", now) == Duration{60});
        CHECK(ParseRetryAfter("Sun Nov  6 08:49:37 1994", now) == Duration{0});
        // A two-digit year more than 50 years ahead belongs to the previous century.
        CHECK(ParseRetryAfter("Sunday, 06-Nov-94 08:49:37 GMT", now) == Duration{0});
    }
    SUBCASE("malformed dates are nullopt") {
        for (std::string_view bad : {
                 "Wed, 21 Oct 2015 07:28:00 UTC",  // only GMT is allowed
                 "Wed, 21 Oct 2015 07:28:00",      // no zone
                 "Wed, 32 Oct 2015 07:28:00 GMT",  // no such day
                 "Wed, 30 Feb 2015 07:28:00 GMT",  // no such day in February
                 "Wed, 21 Foo 2015 07:28:00 GMT",  // no such month
                 "Wed, 21 oct 2015 07:28:00 GMT",  // month names are case-sensitive
                 "Xyz, 21 Oct 2015 07:28:00 GMT",  // no such weekday
                 "Wed, 21 Oct 2015 24:00:00 GMT",  // hour out of range
                 "Wed, 21 Oct 2015 07:61:00 GMT",  // minute out of range
                 "Wed, 21 Oct 15 07:28:00 GMT",    // two-digit year in IMF-fixdate
                 "Wed,21 Oct 2015 07:28:00 GMT",   // missing space
                 "2015-10-21T07:28:00Z",           // ISO 8601 is not an HTTP-date
                 "Wednesday, 21-Oct-2015 07:28:00 GMT",
                 "Wed Oct 21 07:28:00 15",
             }) {
            CAPTURE(bad);
            CHECK_FALSE(ParseRetryAfter(bad, now).has_value());
        }
    }
}

TEST_CASE("BodyRetryAfter reads a JSON body's retry_after") {
    const Timestamp now = Utc("2015-10-21T07:27:00Z");
    SUBCASE("amoCRM's problem document: seconds, a fraction rounded up") {
        CHECK(BodyRetryAfter(R"({"title":"Too Many Requests","status":429,"retry_after":3})",
                             now) == Duration{3});
        CHECK(BodyRetryAfter(R"({"retry_after":2.1})", now) == Duration{3});
        CHECK(BodyRetryAfter(R"({"retry_after":0})", now) == Duration{0});
    }
    SUBCASE("a string in the header's forms") {
        CHECK(BodyRetryAfter(R"({"retry_after":"7"})", now) == Duration{7});
        CHECK(BodyRetryAfter(R"({"retry_after":"Wed, 21 Oct 2015 07:28:00 GMT"})", now) ==
              Duration{60});
    }
    SUBCASE("Telegram's parameters.retry_after") {
        CHECK(BodyRetryAfter(
                  R"({"ok":false,"error_code":429,"description":"Too Many Requests: retry after )"
                  R"(12","parameters":{"retry_after":12}})",
                  now) == Duration{12});
    }
    SUBCASE("nothing usable is nullopt") {
        for (std::string_view bad : {
                 "",
                 "<html><body>429 Too Many Requests</body></html>",
                 "[1,2]",
                 "null",
                 R"({"title":"Too Many Requests"})",
                 R"({"retry_after":-1})",
                 R"({"retry_after":1e12})",
                 R"({"retry_after":"soon"})",
                 R"({"retry_after":[3]})",
                 R"({"retry_after":true})",
                 R"({"parameters":{"retry_after":"x"}})",
             }) {
            CAPTURE(bad);
            CHECK_FALSE(BodyRetryAfter(bad, now).has_value());
        }
    }
}

}  // namespace fg::http
