#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "src/rules/catalog.hpp"
#include "tests/unit/rules/rules_fixture.hpp"

namespace fg::rules::testing {
namespace deal_without_task_test_file {

using Names = std::vector<std::string>;

domain::Task OpenTask(const std::string& id, Timestamp created) {
    return {.id = id, .text = "Позвонить", .created_at = created, .updated_at = created};
}

domain::Task ClosedTask(const std::string& id, Timestamp created, Timestamp closed,
                        bool deleted = false) {
    return {.id = id,
            .done = !deleted,
            .deleted = deleted,
            .text = "Позвонить",
            .created_at = created,
            .updated_at = closed,
            .closed_at = closed};
}

/// Checks the grace counted from `start` (15m default): quiet with a wake-up until it runs out,
/// then exactly one finding keyed by the start.
void CheckGraceFrom(Fixture f, Timestamp start) {
    f.now = start + 15min;
    const Evaluation quiet = f.Run(kDealWithoutTask);
    CHECK(quiet.findings.empty());
    REQUIRE(quiet.wake_at.has_value());
    CHECK(*quiet.wake_at == start + 15min + 1s);

    f.now = start + 15min + 1s;
    const Evaluation loud = f.Run(kDealWithoutTask);
    REQUIRE(loud.findings.size() == 1);
    const Finding& finding = loud.findings[0];
    CHECK(finding.rule == "deal_without_task");
    CHECK(finding.key == "since:" + Epoch(start));
    CHECK(finding.since == start + 15min);
    CHECK(finding.responsible == "u7");
    CHECK(finding.details.at("grace") == "15m");
    CHECK(finding.details.at("without_task_for") == "15m 1s");
    CHECK_FALSE(finding.revert_to.has_value());
}

TEST_CASE("deal_without_task counts the grace from the deal's creation") {
    Fixture f;
    f.Create(At(0h), kNew);
    CheckGraceFrom(f, At(0h));
}

TEST_CASE("deal_without_task counts the grace from reopening a closed deal") {
    for (const std::string& closed : {kLost, kWon, kIntake}) {
        CAPTURE(closed);
        Fixture f;
        f.Create(At(-Days(10)), kNew).Move(At(-Days(5)), closed).Move(At(0h), kQualified);
        CheckGraceFrom(f, At(0h));
    }
}

TEST_CASE("deal_without_task counts the grace from the last task being completed") {
    Fixture f;
    f.Create(At(-Days(3)), kNew);
    f.AddTask(ClosedTask("t1", At(-Days(3)), At(-Days(2))));
    f.AddTask(ClosedTask("t2", At(-Days(2)), At(0h)));
    CheckGraceFrom(f, At(0h));
}

TEST_CASE("deal_without_task counts the grace from the last task being deleted") {
    Fixture f;
    f.Create(At(-Days(3)), kNew);
    f.AddTask(ClosedTask("t1", At(-Days(3)), At(0h), /*deleted=*/true));
    CheckGraceFrom(f, At(0h));

    SUBCASE("a deleted task without closed_at counts from its last change") {
        Fixture g;
        g.Create(At(-Days(3)), kNew);
        domain::Task task = ClosedTask("t1", At(-Days(3)), At(0h), true);
        task.closed_at.reset();
        g.AddTask(task);
        CheckGraceFrom(g, At(0h));
    }
}

TEST_CASE("deal_without_task takes the latest of its start points") {
    Fixture f;
    f.Create(At(-Days(5)), kNew).Move(At(-Days(3)), kLost).Move(At(-Days(2)), kNew);
    f.AddTask(ClosedTask("t1", At(-Days(2)), At(-1h)));
    CheckGraceFrom(f, At(-1h));

    SUBCASE("a task completed before the reopening does not win") {
        Fixture g;
        g.Create(At(-Days(5)), kNew).Move(At(-2h), kLost).Move(At(-1h), kNew);
        g.AddTask(ClosedTask("t1", At(-Days(5)), At(-Days(4))));
        CheckGraceFrom(g, At(-1h));
    }
}

TEST_CASE("deal_without_task does not restart the grace on a move between open stages") {
    Fixture f;
    f.Create(At(0h), kNew).Move(At(1h), kQualified);
    f.now = At(1h) + 5min;
    const Evaluation evaluation = f.Run(kDealWithoutTask);
    CHECK(Keys(evaluation) == Names{"since:" + Epoch(At(0h))});
}

TEST_CASE("deal_without_task is quiet while an open task exists, due time or not") {
    Fixture f;
    f.Create(At(-Days(2)), kNew);
    f.AddTask(OpenTask("t1", At(-Days(2))));
    f.now = At(0h);
    const Evaluation evaluation = f.Run(kDealWithoutTask);
    CHECK(evaluation.findings.empty());
    CHECK_FALSE(evaluation.wake_at.has_value());

    SUBCASE("a task created after `now` does not count yet") {
        Fixture g;
        g.Create(At(-Days(2)), kNew);
        g.AddTask(OpenTask("t1", At(1h)));
        g.now = At(0h);
        CHECK(g.Run(kDealWithoutTask).findings.size() == 1);
    }
    SUBCASE("a task closed after `now` was still open then") {
        Fixture g;
        g.Create(At(-Days(2)), kNew);
        g.AddTask(ClosedTask("t1", At(-Days(2)), At(1h)));
        g.now = At(0h);
        CHECK(g.Run(kDealWithoutTask).findings.empty());
    }
}

TEST_CASE("deal_without_task uses the configured grace") {
    Fixture f;
    f.config.deal_without_task.grace = 2h;
    f.Create(At(0h), kNew);
    f.now = At(2h);
    const Evaluation quiet = f.Run(kDealWithoutTask);
    CHECK(quiet.findings.empty());
    CHECK(quiet.wake_at == At(2h) + 1s);
    f.now = At(3h);
    const Evaluation loud = f.Run(kDealWithoutTask);
    REQUIRE(loud.findings.size() == 1);
    CHECK(loud.findings[0].since == At(2h));
    CHECK(loud.findings[0].details.at("grace") == "2h");
    CHECK(loud.findings[0].details.at("without_task_for") == "3h");
}

TEST_CASE("deal_without_task judges open deals only") {
    for (const std::string& stage : {kWon, kLost, kIntake}) {
        CAPTURE(stage);
        Fixture f;
        f.Create(At(-Days(2)), kNew).Move(At(-Days(1)), stage);
        f.now = At(0h);
        const Evaluation evaluation = f.Run(kDealWithoutTask);
        CHECK(evaluation.findings.empty());
        CHECK_FALSE(evaluation.wake_at.has_value());
    }
    SUBCASE("nor a deal whose pipeline is unknown") {
        Fixture f;
        f.Create(At(-Days(2)), kNew);
        f.now = At(0h);
        REQUIRE(f.Run(kDealWithoutTask).findings.size() == 1);
        f.pipeline_known = false;
        CHECK(f.Run(kDealWithoutTask).findings.empty());
    }
}

}  // namespace deal_without_task_test_file
}  // namespace fg::rules::testing
