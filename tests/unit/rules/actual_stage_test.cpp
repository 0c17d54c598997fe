#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "src/rules/catalog.hpp"
#include "tests/unit/rules/rules_fixture.hpp"

namespace fg::rules::testing {
namespace actual_stage_test_file {

using config::ConsistencyCheck;
using Names = std::vector<std::string>;

const std::string kPaymentDate = "Дата оплаты";
const std::string kPaymentStatus = "Статус оплаты";
const std::string kBudget = "Бюджет";

/// A deal sitting in `stage` since T0 (created a day earlier), judged a minute later.
Fixture DealAt(const std::string& stage) {
    Fixture f;
    f.Create(At(-Days(1)), kNew);
    if (stage != kNew) {
        f.Move(At(0h), stage);
    }
    f.snapshot.deal.updated_at = At(30s);
    f.now = At(1min);
    return f;
}

TEST_CASE("actual_stage consistency: when_filled") {
    Fixture f = DealAt(kInvoice);
    f.config.actual_stage.consistency = {
        {.kind = ConsistencyCheck::Kind::kFilled, .field = kPaymentDate, .stage_at_least = kPaid}};

    SUBCASE("a filled field ahead of the stage is reported") {
        f.Field(kPaymentDate, "2026-11-01");
        const Evaluation evaluation = f.Run(kActualStage);
        REQUIRE(evaluation.findings.size() == 1);
        const Finding& finding = evaluation.findings[0];
        CHECK(finding.rule == "actual_stage");
        CHECK(finding.key == "consistency:0");
        CHECK(finding.since == At(30s));  // the card that says so
        CHECK(finding.responsible == "u7");
        CHECK(finding.details.at("kind") == "consistency");
        CHECK(finding.details.at("field") == kPaymentDate);
        CHECK(finding.details.at("stage_at_least") == kPaid);
        CHECK(finding.details.at("stage") == kInvoice);
    }
    SUBCASE("blank or absent: nothing") {
        CHECK(f.Run(kActualStage).findings.empty());
        f.Field(kPaymentDate, " \t\xC2\xA0 ");
        CHECK(f.Run(kActualStage).findings.empty());
    }
    SUBCASE("the deal at that stage or later: nothing") {
        Fixture g = DealAt(kPaid);
        g.config = f.config;
        g.Field(kPaymentDate, "2026-11-01");
        CHECK(g.Run(kActualStage).findings.empty());
    }
    SUBCASE("a stage_at_least the pipeline does not know judges nothing") {
        f.config.actual_stage.consistency[0].stage_at_least = "Нет такого этапа";
        f.Field(kPaymentDate, "2026-11-01");
        CHECK(f.Run(kActualStage).findings.empty());
    }
}

TEST_CASE("actual_stage consistency: when_equals compares the exact value") {
    Fixture f = DealAt(kProposal);
    f.config.actual_stage.consistency = {{.kind = ConsistencyCheck::Kind::kEquals,
                                          .field = kPaymentStatus,
                                          .value = "Оплачен",
                                          .stage_at_least = kPaid}};
    f.Field(kPaymentStatus, "Оплачен");
    CHECK(Keys(f.Run(kActualStage)) == Names{"consistency:0"});
    f.Field(kPaymentStatus, "Ожидает оплаты");
    CHECK(f.Run(kActualStage).findings.empty());
    f.Field(kPaymentStatus, "оплачен");
    CHECK(f.Run(kActualStage).findings.empty());
}

TEST_CASE("actual_stage consistency: when_at_least reads numbers as managers type them") {
    Fixture f = DealAt(kNew);
    f.config.actual_stage.consistency = {{.kind = ConsistencyCheck::Kind::kAtLeast,
                                          .field = kBudget,
                                          .number = 500000,
                                          .stage_at_least = kQualified}};
    const std::vector<std::pair<std::string, bool>> cases = {
        {"500000", true},
        {"500 000", true},
        {"500000.50", true},
        {"500 000,50", true},
        {"500\xC2\xA0"
         "000",
         true},
        {"1,500,000", true},
        {"1 000 000.00", true},
        {"499999", false},
        {"499 999,99", false},
        {"5e5x", false},
        {"пятьсот тысяч", false},
        {"", false},
    };
    // Named, not bound: doctest's CAPTURE captures by reference, which clang 14 refuses for a
    // structured binding.
    for (const auto& entry : cases) {
        const auto& value = entry.first;
        const bool reported = entry.second;
        CAPTURE(value);
        f.Field(kBudget, value);
        CHECK(f.Run(kActualStage).findings.size() == (reported ? 1U : 0U));
    }
}

TEST_CASE("actual_stage consistency: each entry is its own finding, keyed by its index") {
    Fixture f = DealAt(kQualified);
    f.config.actual_stage.consistency = {
        {.kind = ConsistencyCheck::Kind::kFilled, .field = kPaymentDate, .stage_at_least = kPaid},
        {.kind = ConsistencyCheck::Kind::kFilled,
         .field = "Номер счёта",
         .stage_at_least = kInvoice},
    };
    f.Field("Номер счёта", "С-17");
    CHECK(Keys(f.Run(kActualStage)) == Names{"consistency:1"});
    f.Field(kPaymentDate, "2026-11-01");
    CHECK(Keys(f.Run(kActualStage)) == Names{"consistency:0", "consistency:1"});
}

TEST_CASE("actual_stage staleness: per-stage max_age overrides the default") {
    Fixture f = DealAt(kInvoice);
    f.config.actual_stage.max_age_default = Days(14);
    f.config.actual_stage.max_age = {{kInvoice, Days(5)}};

    f.now = At(Days(5));
    const Evaluation quiet = f.Run(kActualStage);
    CHECK(quiet.findings.empty());
    CHECK(quiet.wake_at == At(Days(5)) + 1s);

    f.now = At(Days(6));
    const Evaluation loud = f.Run(kActualStage);
    REQUIRE(loud.findings.size() == 1);
    const Finding& finding = loud.findings[0];
    CHECK(finding.key == "stale:Счёт выставлен:" + Epoch(At(0h)));
    CHECK(finding.since == At(Days(5)));
    CHECK(finding.details.at("kind") == "stale");
    CHECK(finding.details.at("stage") == kInvoice);
    CHECK(finding.details.at("in_stage_for") == "6d");
    CHECK(finding.details.at("max_age") == "5d");
    CHECK_FALSE(loud.wake_at.has_value());
}

TEST_CASE("actual_stage staleness: other stages fall back to the default") {
    Fixture f = DealAt(kProposal);
    f.config.actual_stage.max_age_default = Days(14);
    f.config.actual_stage.max_age = {{kInvoice, Days(5)}};
    f.now = At(Days(6));
    const Evaluation quiet = f.Run(kActualStage);
    CHECK(quiet.findings.empty());
    CHECK(quiet.wake_at == At(Days(14)) + 1s);
    f.now = At(Days(15));
    CHECK(Keys(f.Run(kActualStage)) == Names{"stale:КП отправлено:" + Epoch(At(0h))});
}

TEST_CASE("actual_stage staleness is off without a max_age for the stage") {
    Fixture f = DealAt(kProposal);
    f.now = At(Days(365));
    Evaluation evaluation = f.Run(kActualStage);
    CHECK(evaluation.findings.empty());
    CHECK_FALSE(evaluation.wake_at.has_value());

    f.config.actual_stage.max_age = {{kInvoice, Days(5)}};
    evaluation = f.Run(kActualStage);
    CHECK(evaluation.findings.empty());
    CHECK_FALSE(evaluation.wake_at.has_value());
}

TEST_CASE("actual_stage staleness counts from entering the current stage") {
    Fixture f;
    f.config.actual_stage.max_age_default = Days(2);

    SUBCASE("the stage reported again does not restart the clock") {
        f.Create(At(0h), kNew).Move(At(Days(1)), kQualified).Move(At(Days(2)), kQualified);
        f.now = At(Days(3)) + 1s;
        CHECK(Keys(f.Run(kActualStage)) == Names{"stale:Квалификация:" + Epoch(At(Days(1)))});
    }
    SUBCASE("without history it counts from the creation") {
        f.snapshot.deal.created_at = At(0h);
        f.snapshot.deal.stage = kQualified;
        f.now = At(Days(1));
        CHECK(f.Run(kActualStage).wake_at == At(Days(2)) + 1s);
    }
    SUBCASE("moving to another stage restarts it") {
        f.Create(At(0h), kNew).Move(At(Days(3)), kQualified);
        f.now = At(Days(4));
        const Evaluation evaluation = f.Run(kActualStage);
        CHECK(evaluation.findings.empty());
        CHECK(evaluation.wake_at == At(Days(5)) + 1s);
    }
}

TEST_CASE("actual_stage judges open deals only") {
    for (const std::string& stage : {kWon, kLost}) {
        CAPTURE(stage);
        Fixture f = DealAt(stage);
        f.config.actual_stage.max_age_default = Days(1);
        f.config.actual_stage.consistency = {{.kind = ConsistencyCheck::Kind::kFilled,
                                              .field = kPaymentDate,
                                              .stage_at_least = kPaid}};
        f.Field(kPaymentDate, "2026-11-01");
        f.now = At(Days(30));
        const Evaluation evaluation = f.Run(kActualStage);
        CHECK(evaluation.findings.empty());
        CHECK_FALSE(evaluation.wake_at.has_value());
    }
}

}  // namespace actual_stage_test_file
}  // namespace fg::rules::testing
