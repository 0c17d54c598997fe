#include "adapters/amocrm/sim/activity.hpp"

#include <optional>
#include <set>
#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "adapters/amocrm/sim/simulator.hpp"
#include "tests/unit/adapters/amocrm/sim/support.hpp"

namespace fg::adapters::amocrm::sim {
namespace {

using nlohmann::json;
using testing::Client;
using testing::Json;
using testing::Quiet;

TEST_CASE("Simulator generates 100,000 leads with histories, tasks and notes") {
    ManualClock clock(testing::Start());
    Simulator sim(Quiet(clock, 100'000));
    const auto started = std::chrono::steady_clock::now();
    REQUIRE(sim.Start());
    MESSAGE("generated 100,000 leads in "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()
            << " s");
    CHECK(sim.LeadCount() == 100'000);
    CHECK(sim.TaskCount() >= 200'000);
    CHECK(sim.NoteCount() >= 100'000);
    CHECK(sim.EventCount() >= 200'000);

    auto client = Client(sim);
    const json last = Json(client.Get("/api/v4/leads?limit=250&page=400"));
    CHECK(last["_embedded"]["leads"].size() == 250);
    const auto beyond = client.Get("/api/v4/leads?limit=250&page=401");
    REQUIRE(beyond);
    CHECK(beyond->status == 204);
    const json tasks = Json(client.Get("/api/v4/tasks?filter[is_completed]=0&limit=250&page=10"));
    CHECK(tasks["_embedded"]["tasks"].size() == 250);

    // Every open lead of the main pipeline sits on one of its stages; histories are consistent.
    const SimPipeline main = sim.Pipelines().front();
    int overdue = 0;
    int without_task = 0;
    for (std::int64_t id = Model::kLeadBase + 1; id <= Model::kLeadBase + 300; ++id) {
        const SimLead lead = *sim.GetLead(id);
        const std::vector<SimEvent> events = sim.LeadEvents(id);
        REQUIRE_FALSE(events.empty());
        CHECK(events.front().type == EventType::kLeadAdded);
        if (events.size() > 1) {
            CHECK(events.back().after_a == lead.status_id);
        }
        if (lead.status_id == kWon || lead.status_id == kLost) {
            continue;
        }
        bool open_task = false;
        for (const SimTask& task : sim.LeadTasks(id)) {
            if (!task.is_completed) {
                open_task = true;
                overdue += task.complete_till < clock.Now() ? 1 : 0;
            }
        }
        without_task += open_task ? 0 : 1;
    }
    CHECK(overdue > 0);
    CHECK(without_task > 0);
}

TEST_CASE("Simulated managers work leads through the same path as the API, with webhooks") {
    ManualClock clock(testing::Start());
    Simulator sim(Quiet(clock, 50));
    REQUIRE(sim.Start());
    testing::Receiver receiver;
    testing::Subscribe(
        sim, receiver.Url(),
        {"add_lead", "update_lead", "status_lead", "note_lead", "add_task", "update_task"});
    const std::size_t leads_before = sim.LeadCount();
    ActivityOptions options;
    options.seed = 7;
    Activity activity(sim, options);
    int actions = 0;
    for (int minute = 0; minute < 8 * 60; minute += 5) {
        clock.Advance(Duration{300});
        actions += activity.Step();
    }
    const ActivityStats stats = activity.Stats();
    CHECK(actions > 20);
    CHECK(stats.actions == static_cast<std::uint64_t>(actions));
    CHECK(stats.moves > 0);
    CHECK(stats.notes > 0);
    CHECK(stats.tasks_added > 0);
    CHECK(stats.tasks_completed > 0);
    CHECK(sim.LeadCount() == leads_before + stats.leads_created);
    REQUIRE(sim.WaitWebhooksIdle());
    CHECK(receiver.WaitFor(static_cast<std::size_t>(stats.moves)));
    CHECK(sim.Stats().webhooks.delivered >= stats.moves);

    // The same seed and clock progression give the same account.
    ManualClock other_clock(testing::Start());
    Simulator other(Quiet(other_clock, 50));
    REQUIRE(other.Start());
    Activity replay(other, options);
    for (int minute = 0; minute < 8 * 60; minute += 5) {
        other_clock.Advance(Duration{300});
        replay.Step();
    }
    CHECK(replay.Stats().moves == stats.moves);
    CHECK(other.LeadCount() == sim.LeadCount());
    CHECK(other.EventCount() == sim.EventCount());
    for (std::int64_t id = Model::kLeadBase + 1;
         id <= Model::kLeadBase + static_cast<std::int64_t>(sim.LeadCount()); ++id) {
        CHECK(other.GetLead(id)->status_id == sim.GetLead(id)->status_id);
    }
}

TEST_CASE("TasksGoneOverdue counts the tasks whose deadline passed while they were open") {
    const Timestamp t0 = testing::Start();
    ManualClock clock(t0);
    Simulator sim(Quiet(clock));
    REQUIRE(sim.Start());
    const auto lead = sim.CreateLead(LeadDraft{.name = "ООО «Тест»"}, 0);
    REQUIRE(lead);
    auto add = [&](Timestamp due) {
        const auto id = sim.AddTask(*lead, "Позвонить", due, 0, 0);
        REQUIRE(id);
        return *id;
    };
    const Duration hour{3600};
    const std::int64_t done_in_time = add(t0 + hour);
    const std::int64_t done_late = add(t0 + hour);
    const std::int64_t never_done = add(t0 + hour);
    const std::int64_t moved_in_time = add(t0 + hour);
    const std::int64_t moved_late = add(t0 + hour);
    const std::int64_t deleted_late = add(t0 + hour);
    const std::int64_t due_after = add(t0 + 5 * hour);

    clock.Advance(hour / 2);
    REQUIRE(sim.CompleteTask(done_in_time, "", 0));
    const std::int64_t made_overdue = add(t0);  // created already past its deadline
    clock.Advance(hour / 3);
    REQUIRE(sim.RescheduleTask(moved_in_time, t0 + 5 * hour, 0));
    clock.Advance(hour + hour / 6);  // t0 + 2h
    REQUIRE(sim.CompleteTask(done_late, "", 0));
    REQUIRE(sim.RescheduleTask(moved_late, t0 + 5 * hour, 0));
    clock.Advance(hour);  // t0 + 3h
    REQUIRE(sim.DeleteTask(deleted_late, 0));
    clock.Advance(hour);  // t0 + 4h

    const std::vector<OverdueTask> all = TasksGoneOverdue(sim, t0, t0 + 4 * hour);
    std::vector<std::int64_t> ids;
    for (const OverdueTask& task : all) {
        ids.push_back(task.task_id);
    }
    CHECK(ids ==
          std::vector<std::int64_t>{made_overdue, done_late, never_done, moved_late, deleted_late});
    REQUIRE(all.size() == 5);
    CHECK(all[0].overdue_at == t0 + hour / 2);
    CHECK(all[0].due == t0);
    CHECK(all[1].due == t0 + hour);
    CHECK(all[1].overdue_at == t0 + hour);
    CHECK(all[1].closed_at == t0 + 2 * hour);
    CHECK_FALSE(all[2].closed_at.has_value());
    CHECK(all[3].due == t0 + hour);  // the deadline that passed, not the later one
    CHECK(all[3].closed_at == std::nullopt);
    CHECK(all[4].deleted);
    CHECK(all[4].closed_at == t0 + 3 * hour);
    CHECK(all[4].lead_id == *lead);

    // From t0 + 2h30m: what was overdue then or went overdue later.
    ids.clear();
    for (const OverdueTask& task : TasksGoneOverdue(sim, t0 + 2 * hour + hour / 2, t0 + 4 * hour)) {
        ids.push_back(task.task_id);
    }
    CHECK(ids == std::vector<std::int64_t>{made_overdue, never_done, deleted_late});
    // Until t0 + 6h, the task due at t0 + 5h and the one moved in time to t0 + 5h went overdue too.
    ids.clear();
    for (const OverdueTask& task : TasksGoneOverdue(sim, t0, t0 + 6 * hour)) {
        ids.push_back(task.task_id);
    }
    CHECK(ids == std::vector<std::int64_t>{made_overdue, done_late, never_done, moved_late,
                                           deleted_late, moved_in_time, due_after});
}

TEST_CASE("TasksGoneOverdue agrees with watching the account minute by minute") {
    const Timestamp t0 = testing::Start();
    ManualClock clock(t0);
    Simulator sim(Quiet(clock, 30));
    REQUIRE(sim.Start());
    // Managers who put tasks off most of the time, so that many deadlines pass.
    Activity activity(sim, ActivityOptions{.seed = 5, .let_overdue = 0.7});
    std::set<std::int64_t> seen_overdue;
    const Duration minute{60};
    for (int step = 0; step < 10 * 60; ++step) {
        clock.Advance(minute);
        activity.Step();
        const Timestamp now = clock.Now();
        const auto leads = static_cast<std::int64_t>(sim.LeadCount());
        for (std::int64_t id = Model::kLeadBase + 1; id <= Model::kLeadBase + leads; ++id) {
            for (const SimTask& task : sim.LeadTasks(id)) {
                if (!task.is_completed && task.complete_till < now) {
                    seen_overdue.insert(task.id);
                }
            }
        }
    }
    const Timestamp end = clock.Now() + Duration{1};
    const std::vector<OverdueTask> counted = TasksGoneOverdue(sim, t0, end);
    std::set<std::int64_t> counted_ids;
    for (const OverdueTask& task : counted) {
        counted_ids.insert(task.task_id);
        CHECK(task.overdue_at >= task.due);
        CHECK(task.closed_at.value_or(end) > task.overdue_at);
        // Overdue for more than a minute: one of the minute looks must have seen it.
        if (task.closed_at.value_or(end) - std::max(task.overdue_at, t0) > minute) {
            CHECK_MESSAGE(seen_overdue.count(task.task_id) == 1, "task " << task.task_id);
        }
    }
    for (const std::int64_t id : seen_overdue) {
        CHECK_MESSAGE(counted_ids.count(id) == 1, "task " << id);
    }
    CHECK(seen_overdue.size() > 3);
    // The managers' put-off counter counts visits, not tasks gone overdue.
    MESSAGE(counted.size() << " tasks went overdue; " << activity.Stats().tasks_put_off
                           << " visits put a task off");
}

TEST_CASE("Simulated managers run on their own thread and stop cleanly") {
    FastClock clock(testing::Start(), 600.0);
    Simulator sim(Quiet(clock, 20));
    REQUIRE(sim.Start());
    Activity activity(sim, ActivityOptions{.seed = 3});
    activity.Start();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{20};
    while (activity.Stats().actions < 5 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
    activity.Stop();
    CHECK(activity.Stats().actions >= 5);
    sim.Stop();
}

TEST_CASE("Activity says when its next action is due, so a caller can step the clock to it") {
    const Timestamp t0 = testing::Start();
    ManualClock clock(t0);
    Simulator sim(Quiet(clock, 20));
    REQUIRE(sim.Start());
    Activity activity(sim, ActivityOptions{.seed = 4});
    CHECK_FALSE(activity.NextActionAt().has_value());  // the managers are picked by Step
    CHECK(activity.Step() == 0);                       // the first actions are ahead
    for (int i = 0; i < 20; ++i) {
        const std::optional<Timestamp> next = activity.NextActionAt();
        REQUIRE(next.has_value());
        CHECK(*next > clock.Now());
        clock.Set(*next - Duration{1});
        CHECK(activity.Step() == 0);  // not yet
        clock.Set(*next);
        CHECK(activity.Step() >= 1);  // due now
    }
    CHECK(activity.Stats().actions >= 20);
    sim.Stop();
}

}  // namespace
}  // namespace fg::adapters::amocrm::sim
