#include "src/rules/catalog.hpp"

#include <regex>
#include <set>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "tests/unit/rules/rules_fixture.hpp"

namespace fg::rules::testing {
namespace catalog_test_file {

using config::ConsistencyCheck;
using Names = std::vector<std::string>;

TEST_CASE("The catalog lists the five rules of DESIGN.md §1 in order") {
    Names ids;
    for (const RuleSpec* spec : AllRules()) {
        ids.emplace_back(spec->id);
    }
    CHECK(ids ==
          Names{"stage_order", "deal_without_task", "actual_stage", "card_filled", "overdue_task"});
    CHECK(FindRule("card_filled") == &kCardFilled);
    CHECK(FindRule("no_such_rule") == nullptr);
}

TEST_CASE("Each rule declares its scope, resolution and config section") {
    CHECK_FALSE(kStageOrder.open_deals_only);
    CHECK(kStageOrder.resolution == "corrected");
    CHECK(kDealWithoutTask.open_deals_only);
    CHECK(kDealWithoutTask.resolution == "cleared");
    CHECK(kActualStage.open_deals_only);
    CHECK(kActualStage.resolution == "cleared");
    CHECK_FALSE(kCardFilled.open_deals_only);
    CHECK(kCardFilled.resolution == "cleared");
    CHECK(kOverdueTask.open_deals_only);
    CHECK(kOverdueTask.resolution == "cleared");

    config::RulesConfig config;
    CHECK(&kStageOrder.common(config) == &config.stage_order.common);
    CHECK(&kDealWithoutTask.common(config) == &config.deal_without_task.common);
    CHECK(&kActualStage.common(config) == &config.actual_stage.common);
    CHECK(&kCardFilled.common(config) == &config.card_filled.common);
    CHECK(&kOverdueTask.common(config) == &config.overdue_task.common);
}

/// A deal that breaks every rule it can: created a week ago, skipped to "Счёт выставлен" a day
/// later, stale there, with an empty required field and no notes; with an overdue task or none.
Fixture Troubled(bool with_overdue_task) {
    Fixture f;
    f.config.actual_stage.max_age_default = Days(3);
    f.config.card_filled.required = {{kQualified, {"Бюджет"}}};
    f.config.card_filled.note_per_stage = true;
    f.Create(At(-Days(7)), kNew).Move(At(-Days(6)), kInvoice);
    if (with_overdue_task) {
        f.AddTask({.id = "t1",
                   .due = At(-Days(1)),
                   .text = "Позвонить",
                   .created_at = At(-Days(6)),
                   .updated_at = At(-Days(6))});
    }
    f.now = At(0h);
    return f;
}

TEST_CASE("EvaluateAll runs every rule over an open deal") {
    CHECK(Rules(Troubled(true).RunAll()) ==
          Names{"actual_stage", "card_filled", "overdue_task", "stage_order"});
    CHECK(Rules(Troubled(false).RunAll()) ==
          Names{"actual_stage", "card_filled", "deal_without_task", "stage_order"});
}

TEST_CASE("A closed deal is judged only by stage_order and card_filled") {
    for (const bool with_task : {true, false}) {
        for (const std::string& closed : {kWon, kLost}) {
            CAPTURE(with_task);
            CAPTURE(closed);
            Fixture f = Troubled(with_task);
            f.Move(At(-1h), closed);
            const Evaluation evaluation = f.RunAll();
            CHECK(Rules(evaluation) == Names{"card_filled", "stage_order"});
            CHECK_FALSE(evaluation.wake_at.has_value());
        }
    }
}

TEST_CASE("EvaluateAll skips disabled rules") {
    Fixture f = Troubled(true);
    f.config.stage_order.common.enabled = false;
    f.config.card_filled.common.enabled = false;
    CHECK(Rules(f.RunAll()) == Names{"actual_stage", "overdue_task"});

    f.config.actual_stage.common.enabled = false;
    f.config.overdue_task.common.enabled = false;
    f.config.deal_without_task.common.enabled = false;
    CHECK(f.RunAll().findings.empty());
}

TEST_CASE("EvaluateAll wakes at the earliest wake-up of the enabled rules") {
    Fixture f;
    f.config.actual_stage.max_age_default = Days(3);
    f.Create(At(0h), kNew);
    f.AddTask({.id = "t1", .due = At(1h), .created_at = At(0h), .updated_at = At(0h)});
    f.now = At(30min);
    CHECK(f.RunAll().wake_at == At(1h) + 1s);  // overdue_task
    f.config.overdue_task.common.enabled = false;
    CHECK(f.RunAll().wake_at == At(Days(3)) + 1s);  // actual_stage
    f.config.actual_stage.common.enabled = false;
    CHECK_FALSE(f.RunAll().wake_at.has_value());
}

/// The {placeholders} of a template.
std::set<std::string> Placeholders(std::string_view text) {
    std::set<std::string> names;
    static const std::regex kPlaceholder(R"(\{([a-z_]+)\})");
    const std::string copy(text);
    for (auto it = std::sregex_iterator(copy.begin(), copy.end(), kPlaceholder);
         it != std::sregex_iterator(); ++it) {
        names.insert((*it)[1].str());
    }
    return names;
}

/// Findings of every kind each rule has.
std::vector<Finding> EveryKindOfFinding() {
    std::vector<Finding> all;
    auto collect = [&all](const Evaluation& evaluation) {
        all.insert(all.end(), evaluation.findings.begin(), evaluation.findings.end());
    };
    for (const bool with_task : {true, false}) {
        collect(Troubled(with_task).RunAll());
    }
    Fixture created;
    created.config.stage_order.allow_backward = false;
    created.config.stage_order.lost_from_any = false;
    created.config.actual_stage.consistency = {
        {.kind = ConsistencyCheck::Kind::kFilled, .field = "Дата оплаты", .stage_at_least = kPaid}};
    created.Field("Дата оплаты", "2026-11-01");
    created.Create(At(-Days(3)), kProposal).Move(At(-Days(2)), kQualified);
    created.now = At(0h);
    collect(created.RunAll());
    created.Move(At(-Days(1)), kLost);
    collect(created.RunAll());
    return all;
}

TEST_CASE("Every placeholder of a rule's texts is filled by each of its findings") {
    const std::set<std::string> from_engine = {"deal", "deal_id", "stage", "responsible"};
    const std::vector<Finding> findings = EveryKindOfFinding();
    std::set<std::string> kinds;
    for (const Finding& finding : findings) {
        kinds.insert(finding.rule + "/" + finding.details.value("kind", ""));
    }
    // Every kind of every rule shows up, so the check below covers them all.
    CHECK(kinds == std::set<std::string>{"actual_stage/consistency", "actual_stage/stale",
                                         "card_filled/note", "card_filled/required",
                                         "deal_without_task/", "overdue_task/",
                                         "stage_order/backward", "stage_order/created",
                                         "stage_order/lost_early", "stage_order/skip"});
    for (const Finding& finding : findings) {
        const RuleSpec* spec = FindRule(finding.rule);
        REQUIRE(spec != nullptr);
        for (const std::string_view text : {spec->texts.message_ru, spec->texts.message_en,
                                            spec->texts.task_ru, spec->texts.task_en}) {
            CHECK_FALSE(text.empty());
            for (const std::string& name : Placeholders(text)) {
                CAPTURE(finding.key);
                CAPTURE(name);
                CHECK((from_engine.count(name) == 1 || finding.details.contains(name)));
            }
        }
    }
}

}  // namespace catalog_test_file
}  // namespace fg::rules::testing
