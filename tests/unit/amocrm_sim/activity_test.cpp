#include "adapters/amocrm/sim/activity.hpp"

#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "adapters/amocrm/sim/simulator.hpp"
#include "tests/unit/amocrm_sim/support.hpp"

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

}  // namespace
}  // namespace fg::adapters::amocrm::sim
