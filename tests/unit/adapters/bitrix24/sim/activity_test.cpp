#include "adapters/bitrix24/sim/activity.hpp"

#include <doctest/doctest.h>

#include "tests/support/fake_http_server.hpp"
#include "tests/unit/adapters/bitrix24/sim/support.hpp"

using fg::testing::FakeHttpServer;
using fg::testing::b24::Portal;
namespace sim = fg::adapters::bitrix24::sim;

namespace {

// Steps the managers through `hours` of the portal's clock, action by action.
sim::ActivityStats Run(Portal& portal, sim::Activity& managers, int hours) {
    (void)managers.Step();  // picks the managers
    const fg::Timestamp end = portal.clock.Now() + fg::Duration{hours * 3600};
    while (const auto next = managers.NextActionAt()) {
        if (*next > end) {
            break;
        }
        portal.clock.Set(*next);
        (void)managers.Step();
    }
    return managers.Stats();
}

}  // namespace

TEST_SUITE("bitrix24 simulator: managers") {
    TEST_CASE("managers work the portal on its clock, and every change raises its event") {
        FakeHttpServer handler;
        handler.ServeAll([](const httplib::Request&, httplib::Response& res) { res.status = 200; });
        handler.Start();
        Portal portal({.deals = 20, .outbound = {{.url = handler.Url("/h"), .events = {}}}});
        sim::Activity managers(*portal.sim, {.seed = 3});
        const sim::ActivityStats stats = Run(portal, managers, 8);
        CHECK(stats.actions > 20);
        CHECK(stats.moves > 0);
        CHECK(stats.comments + stats.short_comments > 0);
        CHECK(stats.todos_added + stats.tasks_added > 0);
        REQUIRE(portal.sim->WaitEventsIdle());
        const auto events = portal.sim->Stats().events;
        CHECK(events.delivered == events.queued);
        CHECK(events.delivered >= stats.moves + stats.comments);
        // A moved deal's stage history grew past its creation row.
        bool moved = false;
        for (std::int64_t id = 1; id <= 20 && !moved; ++id) {
            for (const auto& row : portal.sim->DealHistory(id)) {
                moved = moved || row.created > fg::testing::b24::T0();
            }
        }
        CHECK(moved);
    }

    TEST_CASE("the same seed and clock give the same day") {
        Portal first({.deals = 10});
        Portal second({.deals = 10});
        sim::Activity a(*first.sim, {.seed = 9});
        sim::Activity b(*second.sim, {.seed = 9});
        const auto sa = Run(first, a, 6);
        const auto sb = Run(second, b, 6);
        CHECK(sa.actions == sb.actions);
        CHECK(sa.moves == sb.moves);
        CHECK(sa.skips == sb.skips);
        CHECK(first.sim->DealCount() == second.sim->DealCount());
        for (std::int64_t id = 1; id <= 10; ++id) {
            CHECK(first.sim->GetDeal(id)->stage_id == second.sim->GetDeal(id)->stage_id);
        }
    }

    TEST_CASE("ItemsGoneOverdue counts a to-do whose deadline passed while open") {
        Portal portal({.deals = 1});
        const fg::Timestamp t0 = fg::testing::b24::T0();
        const auto late = portal.sim->AddTodo(1, "Позвонить", t0 + fg::Duration{3600}, 7);
        const auto done = portal.sim->AddTodo(1, "Написать", t0 + fg::Duration{7200}, 7);
        REQUIRE(late);
        REQUIRE(done);
        portal.clock.Advance(fg::Duration{1800});
        REQUIRE(portal.sim->CompleteTodo(*done));
        portal.clock.Advance(fg::Duration{3 * 3600});
        std::vector<std::string> ids;
        for (const auto& item : sim::ItemsGoneOverdue(*portal.sim, t0, portal.clock.Now())) {
            if (item.deal_id == 1) {
                ids.push_back(item.id);
                if (item.id == std::to_string(*late)) {
                    CHECK(item.overdue_at == t0 + fg::Duration{3600});
                    CHECK_FALSE(item.closed_at);
                }
            }
        }
        CHECK(std::find(ids.begin(), ids.end(), std::to_string(*late)) != ids.end());
        CHECK(std::find(ids.begin(), ids.end(), std::to_string(*done)) == ids.end());
    }
}
