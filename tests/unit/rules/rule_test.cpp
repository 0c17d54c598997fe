#include "src/rules/rule.hpp"

#include <string>

#include <doctest/doctest.h>

#include "src/rules/support.hpp"
#include "tests/unit/rules/rules_fixture.hpp"

namespace fg::rules::testing {
namespace {

TEST_CASE("Utf8Length counts code points, not bytes") {
    CHECK(Utf8Length("") == 0);
    CHECK(Utf8Length("hello") == 5);
    CHECK(Utf8Length("Привет") == 6);
    CHECK(Utf8Length("Ёж 🦔") == 4);
    CHECK(Utf8Length("\xC2\xA0") == 1);
}

TEST_CASE("IsOpen: a deal is open while its stage is of kind open") {
    Fixture f;
    CHECK(IsOpen(f.snapshot, &f.pipeline));
    for (const std::string& stage : {kWon, kLost, kIntake, std::string("Нет такого этапа")}) {
        CAPTURE(stage);
        f.snapshot.deal.stage = stage;
        CHECK_FALSE(IsOpen(f.snapshot, &f.pipeline));
    }
    SUBCASE("unknown pipeline or deleted deal: not open") {
        f.snapshot.deal.stage = kNew;
        CHECK_FALSE(IsOpen(f.snapshot, nullptr));
        f.snapshot.deal.deleted = true;
        CHECK_FALSE(IsOpen(f.snapshot, &f.pipeline));
    }
}

TEST_CASE("support::Trim strips ASCII whitespace and no-break spaces") {
    CHECK(support::Trim("  \t текст \xC2\xA0\n") == "текст");
    CHECK(support::Trim("a b") == "a b");
    CHECK(support::IsBlank(" \xC2\xA0\t"));
    CHECK_FALSE(support::IsBlank(" . "));
}

}  // namespace
}  // namespace fg::rules::testing
