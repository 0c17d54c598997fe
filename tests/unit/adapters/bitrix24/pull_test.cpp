// adapters/bitrix24/api: the connector's batched reconciliation pull against the simulator, whose
// `batch` resolves $result references and whose lists filter by ID arrays as the portal does.
#include <memory>
#include <set>
#include <string>

#include <doctest/doctest.h>

#include "adapters/bitrix24/api/connector.hpp"
#include "adapters/bitrix24/sim/simulator.hpp"
#include "tests/support/sanitized.hpp"

namespace fg::adapters::bitrix24 {
namespace pull_test {

struct Setup {
    explicit Setup(int deals) : clock(*ParseIso8601("2026-11-02T09:00:00+03:00")) {
        portal = std::make_unique<sim::Simulator>(sim::SimulatorOptions{
            .seed = 7, .deals = deals, .clock = &clock, .webhook_token = "hooktoken", .rate = 0});
        REQUIRE(portal->Start());
        client = std::make_shared<Client>(ClientOptions{.tenant = "acme",
                                                        .portal_url = portal->Url(),
                                                        .webhook_user = 1,
                                                        .webhook_token = "hooktoken"},
                                          limiter, clock);
        connector = std::make_unique<Bitrix24Connector>(client, catalog,
                                                        MapContext{.tenant = "acme",
                                                                   .time_zone = "UTC",
                                                                   .catalog = nullptr,
                                                                   .deal_tasks = DealTasks::kBoth},
                                                        WriteTasksAs::kTodo);
    }

    ManualClock clock;
    double now = 0;
    std::shared_ptr<PortalLimiter> limiter =
        std::make_shared<PortalLimiter>(2.0, 50, clock,
                                        Pace{.now_seconds = [this] { return now; },
                                             .sleep = [this](double seconds) { now += seconds; }});
    std::unique_ptr<sim::Simulator> portal;
    std::shared_ptr<Client> client;
    std::shared_ptr<CatalogCache> catalog = std::make_shared<CatalogCache>();
    std::unique_ptr<Bitrix24Connector> connector;
};

struct Seen {
    std::set<std::string> deals, tasks, notes;
    std::size_t stages = 0;
    void Add(const std::vector<domain::Event>& events) {
        for (const domain::Event& event : events) {
            if (const auto* deal = std::get_if<domain::DealUpserted>(&event.body)) {
                CHECK(deals.insert(deal->deal.id).second);
            } else if (const auto* task = std::get_if<domain::TaskUpserted>(&event.body)) {
                CHECK(tasks.insert(task->task.id).second);
            } else if (const auto* note = std::get_if<domain::NoteAdded>(&event.body)) {
                CHECK(notes.insert(note->note.id).second);
            } else if (std::holds_alternative<domain::StageObserved>(event.body)) {
                ++stages;
            }
        }
    }
};

TEST_CASE(
    "Pull reads up to 2,500 deals a request with their children by ID lists, then the history") {
    Setup setup(600);
    // A pipeline move fires no update event for a webhook: only the history has it.
    REQUIRE(setup.portal->MoveDealToCategory(590, 1));
    std::size_t todos = 0, tasks = 0, comments = 0, history = 0;
    for (std::int64_t id = 1; id <= 600; ++id) {
        todos += setup.portal->DealActivities(id).size();
        tasks += setup.portal->DealTasks(id).size();
        comments += setup.portal->DealComments(id).size();
        history += setup.portal->DealHistory(id).size();
    }
    REQUIRE(todos > 0);
    REQUIRE(tasks > 0);
    REQUIRE(comments > 0);

    Seen seen;
    const std::uint64_t before = setup.portal->Stats().requests;
    auto first = setup.connector->Pull({.since = std::nullopt, .cursor = ""});
    REQUIRE_MESSAGE(first, (first ? "" : first.error().message));
    seen.Add(first->events);
    CHECK_FALSE(first->done);
    CHECK(seen.deals.size() == 600);  // 12 full chained pages and a short one, in one batch
    CHECK(seen.tasks.size() == todos + tasks);
    CHECK(seen.notes.size() == comments);
    // One request for the deals, and the children of 600 deals in a few more (the first page
    // sizes its ID lists for one row a deal; later pages for what the last one had).
    CHECK(setup.portal->Stats().requests - before <= 4);

    auto stages = setup.connector->Pull({.since = std::nullopt, .cursor = first->cursor});
    REQUIRE_MESSAGE(stages, (stages ? "" : stages.error().message));
    seen.Add(stages->events);
    CHECK(stages->done);
    CHECK(seen.stages == history);
    CHECK(setup.portal->Stats().limit_errors == 0);

    // Resumed from a cursor alone, by a connector that has seen nothing (another process).
    Bitrix24Connector resumed(setup.client, std::make_shared<CatalogCache>(),
                              MapContext{.tenant = "acme",
                                         .time_zone = "UTC",
                                         .catalog = nullptr,
                                         .deal_tasks = DealTasks::kBoth},
                              WriteTasksAs::kTodo);
    auto rest = resumed.Pull({.since = std::nullopt, .cursor = R"({"phase":"deals","after":300})"});
    REQUIRE_MESSAGE(rest, (rest ? "" : rest.error().message));
    Seen later;
    later.Add(rest->events);
    CHECK(later.deals.size() == 300);
    CHECK(later.deals.count("300") == 0);
    CHECK(later.deals.count("301") == 1);
}

TEST_CASE("Pull since a time reads the deals modified since, and a foreign cursor is refused") {
    Setup setup(120);
    REQUIRE(setup.portal->UpdateDeal(42, {{"TITLE", "Renamed"}}));
    const Timestamp since = setup.clock.Now();
    auto page = setup.connector->Pull({.since = since, .cursor = ""});
    REQUIRE(page);
    std::set<std::string> deals;
    for (const domain::Event& event : page->events) {
        if (const auto* deal = std::get_if<domain::DealUpserted>(&event.body)) {
            deals.insert(deal->deal.id);
        }
    }
    CHECK(deals == std::set<std::string>{"42"});
    CHECK_FALSE(setup.connector->Pull({.since = std::nullopt, .cursor = "page=2"}));
}

// Pulls every page to the end: through `connector` alone, or (null) through a new connector for
// each page, which knows nothing but the cursor (another process resuming every time).
Seen PullAll(Setup& setup, Bitrix24Connector* connector, std::uint64_t* requests,
             std::size_t* pages) {
    Seen seen;
    std::string cursor;
    const std::uint64_t before = setup.portal->Stats().requests;
    for (bool done = false; !done; ++*pages) {
        std::unique_ptr<Bitrix24Connector> fresh;
        if (connector == nullptr) {
            fresh = std::make_unique<Bitrix24Connector>(setup.client, setup.catalog,
                                                        MapContext{.tenant = "acme",
                                                                   .time_zone = "UTC",
                                                                   .catalog = nullptr,
                                                                   .deal_tasks = DealTasks::kBoth},
                                                        WriteTasksAs::kTodo);
        }
        auto page = (connector != nullptr ? connector : fresh.get())
                        ->Pull({.since = std::nullopt, .cursor = cursor});
        REQUIRE_MESSAGE(page, (page ? "" : page.error().message));
        seen.Add(page->events);
        cursor = page->cursor;
        done = page->done;
    }
    *requests = setup.portal->Stats().requests - before;
    return seen;
}

// Two full pulls of 2,600 deals: 8 s in the optimized build, 23 s under ASan, where the first
// case already runs the read-ahead (of the history's first pages).
TEST_CASE(
    "the room the children's last request leaves reads the next page ahead: the same rows in "
    "fewer requests, and a cursor alone still resumes" *
    doctest::skip(fg::testing::kSanitized)) {
    Setup setup(2600);                           // two pages of deals, the second short
    REQUIRE(setup.connector->FetchDirectory());  // the catalog's requests counted by neither run
    std::uint64_t ahead_requests = 0, fresh_requests = 0;
    std::size_t ahead_pages = 0, fresh_pages = 0;
    const Seen ahead = PullAll(setup, setup.connector.get(), &ahead_requests, &ahead_pages);
    const Seen fresh = PullAll(setup, nullptr, &fresh_requests, &fresh_pages);
    CHECK(ahead.deals.size() == 2600);
    CHECK(ahead.deals == fresh.deals);
    CHECK(ahead.tasks == fresh.tasks);
    CHECK(ahead.notes == fresh.notes);
    CHECK(ahead.stages == fresh.stages);
    CHECK(ahead.stages > 2600);
    // Without read-ahead every page of deals and the history's first page cost a request of
    // their own; the connector that keeps what it read ahead saves at least one of them.
    CHECK(ahead_requests < fresh_requests);
    CHECK(setup.portal->Stats().limit_errors == 0);
}

}  // namespace pull_test
}  // namespace fg::adapters::bitrix24
