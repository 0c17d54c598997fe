#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "src/rules/catalog.hpp"
#include "tests/unit/rules/rules_fixture.hpp"

namespace fg::rules::testing {
namespace overdue_task_test_file {

using Names = std::vector<std::string>;

domain::Task DueTask(const std::string& id, Timestamp due, const std::string& responsible = "") {
    return {.id = id,
            .due = due,
            .responsible = responsible,
            .text = "Позвонить клиенту " + id,
            .created_at = At(-Days(7)),
            .updated_at = At(-Days(7))};
}

Fixture OpenDeal() {
    Fixture f;
    f.Create(At(-Days(7)), kQualified);
    return f;
}

TEST_CASE("overdue_task reports one finding per overdue open task") {
    Fixture f = OpenDeal();
    f.AddTask(DueTask("t1", At(-2h)));
    f.AddTask(DueTask("t2", At(-Days(1)), "u9"));
    f.AddTask(DueTask("t3", At(3h)));  // not due yet
    f.AddTask(DueTask("t4", At(1h)));  // not due yet, sooner
    domain::Task done = DueTask("t5", At(-Days(2)));
    done.done = true;
    done.closed_at = At(-Days(1));
    f.AddTask(done);
    domain::Task deleted = DueTask("t6", At(-Days(2)));
    deleted.deleted = true;
    deleted.closed_at = At(-Days(1));
    f.AddTask(deleted);
    domain::Task undated = DueTask("t7", At(0h));
    undated.due.reset();
    f.AddTask(undated);
    f.now = At(0h);

    const Evaluation evaluation = f.Run(kOverdueTask);
    CHECK(Keys(evaluation) == Names{"task:t1", "task:t2"});
    CHECK(evaluation.wake_at == At(1h) + 1s);
    REQUIRE(evaluation.findings.size() == 2);
    const Finding& first = evaluation.findings[0];
    CHECK(first.rule == "overdue_task");
    CHECK(first.since == At(-2h));
    CHECK(first.responsible == "u7");  // the task has none: the deal's
    CHECK(first.details.at("task_id") == "t1");
    CHECK(first.details.at("text") == "Позвонить клиенту t1");
    CHECK(first.details.at("due") == "2026-11-02T04:00:00Z");
    CHECK(first.details.at("overdue_for") == "2h");
    CHECK(first.details.at("reschedules") == 0);
    CHECK(first.details.at("by_funnelguard") == false);
    CHECK_FALSE(first.about_own_task);
    CHECK_FALSE(first.revert_to.has_value());
    CHECK(evaluation.findings[1].responsible == "u9");  // the task's own
}

TEST_CASE("overdue_task judges funnelguard's own task like any other, and marks it") {
    Fixture f = OpenDeal();
    domain::Task own = DueTask("t1", At(24h));
    own.text = "Запланируйте следующий шаг";
    own.created_at = At(0h);
    own.updated_at = At(0h);
    own.own = true;
    f.AddTask(own);
    f.now = At(1h);
    CHECK(f.Run(kOverdueTask).findings.empty());  // due a day after it was created
    f.now = At(24h) + 1s;
    const Evaluation evaluation = f.Run(kOverdueTask);
    REQUIRE(evaluation.findings.size() == 1);
    CHECK(evaluation.findings[0].key == "task:t1");
    CHECK(evaluation.findings[0].about_own_task);  // the engine plans no task about it
    CHECK(evaluation.findings[0].details.at("by_funnelguard") == true);
}

TEST_CASE("overdue_task is strict at the due time and honours the grace") {
    Fixture f = OpenDeal();
    f.AddTask(DueTask("t1", At(0h)));

    SUBCASE("grace 0: overdue one second after the due time") {
        f.now = At(0h);
        const Evaluation quiet = f.Run(kOverdueTask);
        CHECK(quiet.findings.empty());
        CHECK(quiet.wake_at == At(1s));
        f.now = At(1s);
        CHECK(Keys(f.Run(kOverdueTask)) == Names{"task:t1"});
    }
    SUBCASE("grace 1h: overdue once the grace has run out") {
        f.config.overdue_task.grace = 1h;
        f.now = At(1h);
        const Evaluation quiet = f.Run(kOverdueTask);
        CHECK(quiet.findings.empty());
        CHECK(quiet.wake_at == At(1h) + 1s);
        f.now = At(1h) + 1s;
        const Evaluation loud = f.Run(kOverdueTask);
        REQUIRE(loud.findings.size() == 1);
        CHECK(loud.findings[0].since == At(1h));
        CHECK(loud.findings[0].details.at("overdue_for") == "1h");
    }
}

TEST_CASE("overdue_task: rescheduling into the future stops the finding") {
    Fixture f = OpenDeal();
    domain::Task task = DueTask("t1", At(-1h));
    f.AddTask(task);
    f.now = At(0h);
    REQUIRE(Keys(f.Run(kOverdueTask)) == Names{"task:t1"});

    f.snapshot.tasks[0].due = At(Days(1));
    f.snapshot.tasks[0].reschedules = 1;
    const Evaluation rescheduled = f.Run(kOverdueTask);
    CHECK(rescheduled.findings.empty());
    CHECK(rescheduled.wake_at == At(Days(1)) + 1s);

    SUBCASE("overdue again: the count of reschedules travels in details") {
        f.now = At(Days(2));
        const Evaluation again = f.Run(kOverdueTask);
        REQUIRE(again.findings.size() == 1);
        CHECK(again.findings[0].key == "task:t1");
        CHECK(again.findings[0].details.at("reschedules") == 1);
    }
}

TEST_CASE("overdue_task judges open deals only") {
    for (const std::string& stage : {kWon, kLost}) {
        CAPTURE(stage);
        Fixture f = OpenDeal();
        f.Move(At(-Days(1)), stage);
        f.AddTask(DueTask("t1", At(-Days(2))));
        f.AddTask(DueTask("t2", At(Days(2))));
        f.now = At(0h);
        const Evaluation evaluation = f.Run(kOverdueTask);
        CHECK(evaluation.findings.empty());
        CHECK_FALSE(evaluation.wake_at.has_value());
    }
}

}  // namespace overdue_task_test_file
}  // namespace fg::rules::testing
