#include "src/rules/rule.hpp"

#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "src/rules/support.hpp"
#include "tests/unit/rules/rules_fixture.hpp"

namespace fg::rules::testing {
namespace rule_test_file {

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

std::vector<std::string> Stages(std::span<const domain::StageChange> history) {
    std::vector<std::string> stages;
    for (const domain::StageChange& entry : history) {
        stages.push_back(entry.stage + "@" + Epoch(entry.at));
    }
    return stages;
}

TEST_CASE("support::HistoryAsOf: a view of the stored history up to now, when in time order") {
    Fixture f;
    f.Create(At(-Days(3)), kNew).Move(At(-Days(2)), kQualified).Move(At(-Days(2)), kProposal);
    f.Move(At(0h), kInvoice).Move(At(1h), kPaid);  // one at `now` counts, one after it does not
    const support::HistoryAsOf history(f.snapshot, f.now);
    REQUIRE(history.entries().size() == 4);
    CHECK(history.entries().data() == f.snapshot.history.data());  // nothing copied
    CHECK(Stages(history.entries()) ==
          std::vector<std::string>{
              kNew + "@" + Epoch(At(-Days(3))), kQualified + "@" + Epoch(At(-Days(2))),
              kProposal + "@" + Epoch(At(-Days(2))), kInvoice + "@" + Epoch(At(0h))});
    CHECK(support::HistoryAsOf(f.snapshot, At(-Days(4))).entries().empty());
}

TEST_CASE("support::HistoryAsOf: a history out of time order is sorted, same-time entries kept") {
    Fixture f;
    f.Create(At(-Days(1)), kQualified).Move(At(2h), kPaid).Move(At(-Days(3)), kNew);
    f.Move(At(-Days(1)), kProposal).Move(At(-Days(2)), kIntake);
    const support::HistoryAsOf history(f.snapshot, f.now);
    CHECK(history.entries().data() != f.snapshot.history.data());
    CHECK(Stages(history.entries()) ==
          std::vector<std::string>{
              kNew + "@" + Epoch(At(-Days(3))), kIntake + "@" + Epoch(At(-Days(2))),
              kQualified + "@" + Epoch(At(-Days(1))), kProposal + "@" + Epoch(At(-Days(1)))});
}

TEST_CASE("support::HistoryAsOf takes the rule input's shared history when it is set") {
    Fixture f;
    f.Create(At(-Days(3)), kNew).Move(At(-Days(2)), kQualified);
    RuleInput input = f.Input();
    CHECK(support::HistoryAsOf(input).entries().size() == 2);
    const std::vector<domain::StageChange> shared = {f.snapshot.history.front()};
    input.history = shared;
    CHECK(support::HistoryAsOf(input).entries().data() == shared.data());
    CHECK(support::HistoryAsOf(input).entries().size() == 1);
}

TEST_CASE("EvaluateAll with its shared history finds what each rule finds on its own") {
    // Histories in and out of order, with entries after `now`, and every rule configured.
    for (const bool shuffled : {false, true}) {
        for (const bool future_entry : {false, true}) {
            CAPTURE(shuffled);
            CAPTURE(future_entry);
            Fixture f;
            f.config.actual_stage.max_age_default = Days(3);
            f.config.card_filled.required = {{kQualified, {"Бюджет"}}};
            f.config.card_filled.note_per_stage = true;
            f.config.stage_order.allow_backward = false;
            f.Create(At(-Days(9)), kIntake).Move(At(-Days(8)), kQualified);
            f.Move(At(-Days(7)), kNew).Move(At(-Days(6)), kInvoice).Move(At(-Days(6)), kProposal);
            if (future_entry) {
                f.Move(At(2h), kPaid);
                f.snapshot.deal.stage = kProposal;
            }
            if (shuffled) {
                std::swap(f.snapshot.history[1], f.snapshot.history[3]);
            }
            f.AddTask({.id = "t1",
                       .due = At(-Days(1)),
                       .text = "Позвонить",
                       .created_at = At(-Days(6)),
                       .updated_at = At(-Days(6))});
            std::vector<std::string> alone;
            for (const RuleSpec* spec : AllRules()) {
                for (const Finding& finding : f.Run(*spec).findings) {
                    alone.push_back(finding.rule + "/" + finding.key + "/" +
                                    finding.details.dump());
                }
            }
            std::vector<std::string> together;
            for (const Finding& finding : f.RunAll().findings) {
                together.push_back(finding.rule + "/" + finding.key + "/" + finding.details.dump());
            }
            CHECK(together.size() >= 4);
            CHECK(together == alone);
        }
    }
}

}  // namespace rule_test_file
}  // namespace fg::rules::testing
