#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "src/rules/catalog.hpp"
#include "src/rules/rule.hpp"
#include "tests/unit/rules/rules_fixture.hpp"

namespace fg::rules::testing {
namespace card_filled_test_file {

using Names = std::vector<std::string>;

const std::string kBudget = "Бюджет";
const std::string kDecisionMaker = "ЛПР";
const std::string kOfferSum = "Сумма КП";

/// required = { Новая = [ЛПР], Квалификация = [Бюджет], КП отправлено = [Сумма КП] }.
Fixture WithRequirements() {
    Fixture f;
    f.config.card_filled.required = {
        {kNew, {kDecisionMaker}}, {kQualified, {kBudget}}, {kProposal, {kOfferSum}}};
    f.Field(kDecisionMaker, "Иванов");
    return f;
}

Names Missing(const Finding& finding) { return finding.details.at("missing").get<Names>(); }

TEST_CASE("card_filled requirements accumulate along the funnel") {
    Fixture f = WithRequirements();
    f.Create(At(0h), kNew).Move(At(1h), kQualified).Move(At(2h), kProposal).Move(At(3h), kInvoice);
    f.now = At(4h);

    SUBCASE("every earlier stage's fields are required, one finding per requiring stage") {
        const Evaluation evaluation = f.Run(kCardFilled);
        CHECK(Keys(evaluation) == Names{"required:Квалификация", "required:КП отправлено"});
        REQUIRE(evaluation.findings.size() == 2);
        const Finding& budget = evaluation.findings[0];
        CHECK(budget.rule == "card_filled");
        CHECK(budget.responsible == "u7");
        CHECK(Missing(budget) == Names{kBudget});
        CHECK(budget.details.at("stage") == kQualified);
        CHECK(budget.details.at("current_stage") == kInvoice);
        CHECK(budget.since == At(1h));
        CHECK(budget.revert_to == kNew);
        const Finding& offer = evaluation.findings[1];
        CHECK(Missing(offer) == Names{kOfferSum});
        CHECK(offer.since == At(2h));
        CHECK(offer.revert_to == kQualified);
    }
    SUBCASE("filled fields clear them; blank ones do not") {
        f.Field(kBudget, "500 000").Field(kOfferSum, "  ");
        CHECK(Keys(f.Run(kCardFilled)) == Names{"required:КП отправлено"});
        f.Field(kOfferSum, "480 000");
        CHECK(f.Run(kCardFilled).findings.empty());
    }
    SUBCASE("a stage not yet reached requires nothing") {
        Fixture g = WithRequirements();
        g.Create(At(0h), kNew).Move(At(1h), kQualified);
        g.now = At(2h);
        CHECK(Keys(g.Run(kCardFilled)) == Names{"required:Квалификация"});
    }
    SUBCASE("a requirement of the first stage has nowhere to revert to") {
        f.snapshot.deal.fields.clear();
        f.Field(kBudget, "1").Field(kOfferSum, "1");
        const Evaluation evaluation = f.Run(kCardFilled);
        REQUIRE(evaluation.findings.size() == 1);
        CHECK(evaluation.findings[0].key == "required:Новая");
        CHECK_FALSE(evaluation.findings[0].revert_to.has_value());
    }
}

TEST_CASE("card_filled requirement holds since the deal last reached the stage") {
    Fixture f = WithRequirements();
    f.Create(At(0h), kNew)
        .Move(At(1h), kQualified)
        .Move(At(2h), kNew)  // back below it
        .Move(At(3h), kQualified)
        .Move(At(4h), kProposal);
    f.Field(kOfferSum, "1");
    f.now = At(5h);
    const Evaluation evaluation = f.Run(kCardFilled);
    REQUIRE(evaluation.findings.size() == 1);
    CHECK(evaluation.findings[0].since == At(3h));
}

TEST_CASE("card_filled keeps judging closed deals") {
    SUBCASE("a won deal with an empty required field") {
        Fixture f = WithRequirements();
        f.Field(kOfferSum, "1");
        f.Create(At(0h), kNew).Move(At(1h), kQualified).Move(At(2h), kWon);
        f.now = At(3h);
        CHECK(Keys(f.Run(kCardFilled)) == Names{"required:Квалификация"});
    }
    SUBCASE("a lost deal is judged at the last stage it reached") {
        Fixture f = WithRequirements();
        f.Create(At(0h), kNew).Move(At(1h), kQualified).Move(At(2h), kLost);
        f.now = At(3h);
        CHECK(Keys(f.Run(kCardFilled)) == Names{"required:Квалификация"});
    }
    SUBCASE("a deal lost straight from the first stage owes only its fields") {
        Fixture f = WithRequirements();
        f.Create(At(0h), kNew).Move(At(1h), kLost);
        f.now = At(2h);
        CHECK(f.Run(kCardFilled).findings.empty());
    }
}

TEST_CASE("card_filled judges nothing when the pipeline is unknown") {
    Fixture f = WithRequirements();
    f.Create(At(0h), kNew).Move(At(1h), kProposal);
    f.now = At(2h);
    REQUIRE_FALSE(f.Run(kCardFilled).findings.empty());
    f.pipeline_known = false;
    CHECK(f.Run(kCardFilled).findings.empty());
}

/// New at 0h, Квалификация at 2h, КП отправлено at 4h; note_per_stage on.
Fixture ThreeStages() {
    Fixture f;
    f.config.card_filled.note_per_stage = true;
    f.Create(At(0h), kNew).Move(At(2h), kQualified).Move(At(4h), kProposal);
    f.now = At(5h);
    return f;
}

TEST_CASE("card_filled note_per_stage: each stage left forward needs a note") {
    Fixture f = ThreeStages();

    SUBCASE("off by default") {
        f.config.card_filled.note_per_stage = false;
        CHECK(f.Run(kCardFilled).findings.empty());
    }
    SUBCASE("no notes: one finding per stage left, none for the current one") {
        const Evaluation evaluation = f.Run(kCardFilled);
        CHECK(Keys(evaluation) ==
              Names{"note:Новая:" + Epoch(At(2h)), "note:Квалификация:" + Epoch(At(4h))});
        REQUIRE(evaluation.findings.size() == 2);
        const Finding& finding = evaluation.findings[0];
        CHECK(finding.since == At(2h));
        CHECK(finding.details.at("kind") == "note");
        CHECK(finding.details.at("stage") == kNew);
        CHECK(finding.details.at("min_note_chars") == 10);
        CHECK_FALSE(finding.revert_to.has_value());  // the deal has moved on since
        CHECK(evaluation.findings[1].revert_to == kQualified);
    }
    SUBCASE("a note written in the stage satisfies only that stage") {
        f.AddNote(At(1h), "Клиент ждёт КП к пятнице");
        CHECK(Keys(f.Run(kCardFilled)) == Names{"note:Квалификация:" + Epoch(At(4h))});
    }
    SUBCASE("a note from the second before entering a stage does not count for it") {
        f.AddNote(At(2h) - 1s, "Бюджет подтверждён");
        CHECK(Keys(f.Run(kCardFilled)) == Names{"note:Квалификация:" + Epoch(At(4h))});
    }
    SUBCASE("a note written right at entering a stage counts for it (and late for the one left)") {
        f.AddNote(At(2h), "Бюджет подтверждён");
        CHECK(f.Run(kCardFilled).findings.empty());
    }
}

TEST_CASE("card_filled note_per_stage counts characters, not bytes, after trimming") {
    Fixture f = ThreeStages();
    const std::string nine_cyrillic = "Позвонить";  // 9 characters, 18 bytes
    const std::string ten_cyrillic = "Позвонили!";  // 10 characters
    REQUIRE(nine_cyrillic.size() >= 10);
    REQUIRE(Utf8Length(nine_cyrillic) == 9);

    f.AddNote(At(1h), nine_cyrillic);
    f.AddNote(At(3h), "   Привет!    ");  // 7 characters once trimmed
    CHECK(f.Run(kCardFilled).findings.size() == 2);

    f.AddNote(At(1h), ten_cyrillic);
    CHECK(Keys(f.Run(kCardFilled)) == Names{"note:Квалификация:" + Epoch(At(4h))});

    SUBCASE("min_note_chars is configurable") {
        f.config.card_filled.min_note_chars = 7;
        CHECK(f.Run(kCardFilled).findings.empty());
        f.config.card_filled.min_note_chars = 30;
        const Evaluation evaluation = f.Run(kCardFilled);
        REQUIRE(evaluation.findings.size() == 2);
        CHECK(evaluation.findings[0].details.at("min_note_chars") == 30);
    }
}

TEST_CASE("card_filled note_per_stage ignores funnelguard's own notes") {
    Fixture f = ThreeStages();
    f.AddNote(At(1h), "funnelguard: сделка перешла на этап с нарушением порядка", /*own=*/true);
    f.AddNote(At(3h), "funnelguard: заполните карточку сделки перед переходом", /*own=*/true);
    CHECK(f.Run(kCardFilled).findings.size() == 2);
}

TEST_CASE("card_filled note_per_stage: a late note clears the finding") {
    Fixture f = ThreeStages();
    f.AddNote(At(1h), "Клиент ждёт КП к пятнице");  // covers Новая
    REQUIRE(f.Run(kCardFilled).findings.size() == 1);

    f.AddNote(At(6h), "Итоги квалификации: бюджет есть");
    SUBCASE("not before it is written") {
        f.now = At(5h);
        CHECK(f.Run(kCardFilled).findings.size() == 1);
    }
    SUBCASE("once written") {
        f.now = At(7h);
        CHECK(f.Run(kCardFilled).findings.empty());
    }
}

TEST_CASE("card_filled note_per_stage does not judge moves that are not forward") {
    Fixture f;
    f.config.card_filled.note_per_stage = true;
    f.Create(At(0h), kNew).Move(At(1h), kQualified).Move(At(2h), kNew).Move(At(3h), kLost);
    f.AddNote(At(0h) + 30min, "Первый звонок, интерес есть");
    f.now = At(4h);
    // Квалификация → Новая (backward) and Новая → lost need no note.
    CHECK(f.Run(kCardFilled).findings.empty());

    SUBCASE("the stage reported again is one stay") {
        Fixture g;
        g.config.card_filled.note_per_stage = true;
        g.Create(At(0h), kNew).Move(At(1h), kNew).Move(At(2h), kQualified);
        g.AddNote(At(0h) + 30min, "Первый звонок, интерес есть");
        g.now = At(3h);
        CHECK(g.Run(kCardFilled).findings.empty());
    }
    SUBCASE("a win is a forward move") {
        Fixture g;
        g.config.card_filled.note_per_stage = true;
        g.Create(At(0h), kPaid).Move(At(1h), kWon);
        g.now = At(2h);
        CHECK(Keys(g.Run(kCardFilled)) == Names{"note:Оплачено:" + Epoch(At(1h))});
    }
}

}  // namespace card_filled_test_file
}  // namespace fg::rules::testing
