// adapters/bitrix24/api: the directory, the mapping and the fetcher, against a loopback portal
// serving reference/bitrix24.md's samples.
#include "adapters/bitrix24/api/fetcher.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "adapters/bitrix24/api/directory.hpp"
#include "adapters/bitrix24/wire/decoder.hpp"
#include "tests/support/fake_http_server.hpp"
#include "tests/unit/adapters/bitrix24/sample_portal.hpp"

namespace fg::adapters::bitrix24 {
namespace fetcher_test {

using nlohmann::json;
using testing::FakePortal;
using testing::SampleData;
using testing::SampleDeal;

struct Setup {
    ManualClock clock{*ParseIso8601("2026-11-02T09:00:00Z")};
    double now = 0;
    std::shared_ptr<PortalLimiter> limiter =
        std::make_shared<PortalLimiter>(2.0, 50, clock,
                                        Pace{.now_seconds = [this] { return now; },
                                             .sleep = [this](double seconds) { now += seconds; }});
    FakePortal portal;
    SampleData data;
    std::shared_ptr<Client> client;
    std::shared_ptr<CatalogCache> catalog = std::make_shared<CatalogCache>();

    Setup() {
        testing::ServeSamplePortal(portal, data);
        client = std::make_shared<Client>(ClientOptions{.tenant = "acme",
                                                        .portal_url = portal.Url(),
                                                        .webhook_user = 1,
                                                        .webhook_token = "tok"},
                                          limiter, clock);
    }

    Result<void> Refresh() {
        auto loaded = LoadCatalog(*client);
        if (!loaded) {
            return loaded.error();
        }
        catalog->Set(std::move(loaded).value());
        return Ok{};
    }

    Bitrix24Fetcher Fetcher(DealTasks deal_tasks = DealTasks::kBoth) {
        return Bitrix24Fetcher(client, catalog,
                               MapContext{.tenant = "acme",
                                          .time_zone = "Europe/Moscow",
                                          .catalog = nullptr,
                                          .deal_tasks = deal_tasks},
                               [this] { return Refresh(); });
    }
};

TEST_CASE("The directory: categories with their stages by semantics, users, field labels") {
    Setup setup;
    REQUIRE(setup.Refresh());
    const crm::Directory directory = setup.catalog->Get()->ToDirectory();
    REQUIRE(directory.pipelines.size() == 2);
    const domain::Pipeline* general = nullptr;
    for (const domain::Pipeline& pipeline : directory.pipelines) {
        if (pipeline.id == "0") {
            general = &pipeline;
        }
    }
    REQUIRE(general != nullptr);
    std::vector<std::string> names;
    for (const domain::Stage& stage : general->stages) {
        names.push_back(stage.name);
    }
    // Open stages in SORT order (SEMANTICS null or ""), the won one, then the failures.
    CHECK(names == std::vector<std::string>{"New", "Preparing", "In progress", "Deal successful",
                                            "Deal failed", "Analyze failure"});
    CHECK(general->Find("Deal successful")->kind == domain::StageKind::kWon);
    CHECK(general->Find("Analyze failure")->kind == domain::StageKind::kLost);
    CHECK(directory.users.at("1") == "Anna Ivanova");
    CHECK(directory.users.at("5") == "Boris");
    REQUIRE(directory.fields.has_value());
    CHECK(*directory.fields == std::vector<std::string>{"Комментарий клиента"});
    // One request for the categories, one batch for the rest.
    CHECK(setup.portal.Requests() == 2);
}

TEST_CASE("An older portal without crm.category.list: crm.dealcategory.list and category 0") {
    Setup setup;
    setup.portal.On("crm.category.list",
                    testing::Fail(404, "ERROR_METHOD_NOT_FOUND", "Method not found!"));
    setup.portal.On(
        "crm.dealcategory.list",
        testing::Ok(json::array({{{"ID", "1"}, {"NAME", "Seminars"}, {"SORT", "200"}}})));
    REQUIRE(setup.Refresh());
    const auto catalog = setup.catalog->Get();
    REQUIRE(catalog->categories.size() == 2);
    CHECK(catalog->Find("0") != nullptr);
    CHECK(catalog->Find("1")->ByStatus("C1:PAID")->name == "Paid");
}

TEST_CASE("A fetched deal comes with its to-dos, tasks and comments, in one batch") {
    Setup setup;
    setup.data.deals[410] = SampleDeal("410", "PREPARATION");
    setup.data.activities[77] = {{"ID", "77"},
                                 {"OWNER_ID", "410"},
                                 {"OWNER_TYPE_ID", "2"},
                                 {"PROVIDER_ID", "CRM_TODO"},
                                 {"SUBJECT", "Call back"},
                                 {"DEADLINE", "2024-09-02T13:25:00+03:00"},
                                 {"COMPLETED", "N"},
                                 {"RESPONSIBLE_ID", "1"},
                                 {"CREATED", "2024-08-30T15:00:00+02:00"},
                                 {"LAST_UPDATED", "2024-08-30T15:00:00+02:00"}};
    setup.data.tasks[5] = {{"id", "5"},
                           {"title", "Send the contract"},
                           {"deadline", "2024-09-03T18:00:00"},
                           {"status", "5"},
                           {"responsibleId", "5"},
                           {"ufCrmTask", {"C_7", "D_410"}},
                           {"createdDate", "2024-08-30T16:00:00+02:00"},
                           {"changedDate", "2024-08-31T10:00:00+02:00"}};
    setup.data.comments[12] = {{"ID", "12"},
                               {"ENTITY_ID", "410"},
                               {"ENTITY_TYPE", "deal"},
                               {"CREATED", "2024-08-30T17:00:00+02:00"},
                               {"COMMENT", "Client asked for a discount"}};
    REQUIRE(setup.Refresh());
    const std::size_t before = setup.portal.Requests();
    Bitrix24Fetcher fetcher = setup.Fetcher();
    const std::vector<crm::Fetched> fetched = fetcher.Fetch({"deal:410", "deal:999"});
    CHECK(setup.portal.Requests() == before + 1);
    REQUIRE(fetched.size() == 2);
    REQUIRE(fetched[0].outcome == crm::Fetched::Outcome::kEvents);
    CHECK(fetched[1].outcome == crm::Fetched::Outcome::kGone);
    const std::vector<domain::Event>& events = fetched[0].events;
    REQUIRE(events.size() == 4);
    const auto& deal = std::get<domain::DealUpserted>(events[0].body).deal;
    CHECK(deal.tenant == "acme");
    CHECK(deal.pipeline == "0");
    CHECK(deal.stage == "Preparing");
    CHECK(deal.responsible == "1");
    CHECK(deal.title == "New Deal #410");
    CHECK(deal.fields.at("Комментарий клиента") == "Hello world!");
    CHECK(FormatIso8601(events[0].at) == "2024-08-30T12:29:00Z");
    const auto& todo = std::get<domain::TaskUpserted>(events[1].body).task;
    CHECK(todo.id == "todo:77");
    CHECK(todo.deal_id == "410");
    CHECK(todo.IsOpen());
    CHECK(FormatIso8601(*todo.due) == "2024-09-02T10:25:00Z");
    const auto& task = std::get<domain::TaskUpserted>(events[2].body).task;
    CHECK(task.id == "task:5");
    CHECK(task.done);
    // No offset: the tenant's zone (Moscow, UTC+3).
    CHECK(FormatIso8601(*task.due) == "2024-09-03T15:00:00Z");
    const auto& note = std::get<domain::NoteAdded>(events[3].body).note;
    CHECK(note.id == "comment:12");
    CHECK(note.text == "Client asked for a discount");

    SUBCASE("deal_tasks = todos leaves the tasks out, and asks for none") {
        Bitrix24Fetcher todos = setup.Fetcher(DealTasks::kTodos);
        const std::vector<crm::Fetched> only = todos.Fetch({"deal:410"});
        REQUIRE(only[0].outcome == crm::Fetched::Outcome::kEvents);
        CHECK(only[0].events.size() == 3);
    }
}

// A long-lived deal: `count` activities, completed calls and to-dos, but for the newest one.
void AddActivities(SampleData& data, std::int64_t deal, std::int64_t first, int count) {
    for (int n = 0; n < count; ++n) {
        const std::int64_t id = first + n;
        const bool last = n == count - 1;
        data.activities[id] = {{"ID", std::to_string(id)},
                               {"OWNER_ID", std::to_string(deal)},
                               {"OWNER_TYPE_ID", "2"},
                               {"TYPE_ID", last ? "6" : "2"},
                               {"PROVIDER_ID", last ? "CRM_TODO" : "VOXIMPLANT_CALL"},
                               {"DIRECTION", last ? "0" : "2"},
                               {"SUBJECT", last ? "Send the offer" : "Call"},
                               {"DEADLINE", "2026-11-05T12:00:00+03:00"},
                               {"COMPLETED", last ? "N" : "Y"},
                               {"CREATED", "2026-10-01T10:00:00+03:00"},
                               {"LAST_UPDATED", "2026-10-01T10:00:00+03:00"}};
    }
}

std::vector<std::string> OpenTasks(const std::vector<domain::Event>& events, int& tasks) {
    std::vector<std::string> open;
    tasks = 0;
    for (const domain::Event& event : events) {
        if (const auto* upserted = std::get_if<domain::TaskUpserted>(&event.body)) {
            ++tasks;
            if (upserted->task.IsOpen()) {
                open.push_back(upserted->task.id);
            }
        }
    }
    return open;
}

TEST_CASE("A deal's to-dos beyond the first page are read: the only open one is the 120th") {
    Setup setup;
    setup.data.deals[410] = SampleDeal("410", "PREPARATION");
    AddActivities(setup.data, 410, 1, 120);
    REQUIRE(setup.Refresh());
    const std::size_t before = setup.portal.Requests();
    Bitrix24Fetcher fetcher = setup.Fetcher();
    const std::vector<crm::Fetched> fetched = fetcher.Fetch({"deal:410"});
    REQUIRE(fetched[0].outcome == crm::Fetched::Outcome::kEvents);
    int tasks = 0;
    CHECK(OpenTasks(fetched[0].events, tasks) == std::vector<std::string>{"todo:120"});
    CHECK(tasks == 120);
    // The deal's batch, then pages 51-100 and 101-120.
    CHECK(setup.portal.Requests() == before + 3);
    const std::vector<testing::Call> pages = setup.portal.CallsOf("crm.activity.list");
    REQUIRE(pages.size() == 3);
    CHECK(pages[1].params["filter"][">ID"] == "50");
    CHECK(pages[2].params["filter"][">ID"] == "100");

    SUBCASE("several long deals share their follow-up requests") {
        for (std::int64_t deal = 411; deal <= 415; ++deal) {
            setup.data.deals[deal] = SampleDeal(std::to_string(deal), "NEW");
            AddActivities(setup.data, deal, deal * 1000, 120);
        }
        const std::size_t start = setup.portal.Requests();
        const std::vector<crm::Fetched> many =
            fetcher.Fetch({"deal:410", "deal:411", "deal:412", "deal:413", "deal:414", "deal:415"});
        CHECK(setup.portal.Requests() == start + 3);
        for (std::size_t i = 1; i < many.size(); ++i) {
            REQUIRE(many[i].outcome == crm::Fetched::Outcome::kEvents);
            CHECK(OpenTasks(many[i].events, tasks) ==
                  std::vector<std::string>{fmt::format("todo:{}", (410 + i) * 1000 + 119)});
            CHECK(tasks == 120);
        }
    }
}

TEST_CASE(
    "A deal's plans are its to-dos, calls and meetings; incoming ones and task mirrors "
    "are not") {
    Setup setup;
    setup.data.deals[410] = SampleDeal("410", "PREPARATION");
    const auto activity = [&](std::int64_t id, const char* type, const char* provider,
                              const char* direction) {
        setup.data.activities[id] = {
            {"ID", std::to_string(id)}, {"OWNER_ID", "410"},
            {"OWNER_TYPE_ID", "2"},     {"TYPE_ID", type},
            {"PROVIDER_ID", provider},  {"DIRECTION", direction},
            {"COMPLETED", "N"},         {"DEADLINE", "2026-11-05T12:00:00+03:00"}};
    };
    activity(1, "6", "CRM_TODO", "0");         // a to-do
    activity(2, "2", "VOXIMPLANT_CALL", "2");  // a planned outgoing call
    activity(3, "1", "CRM_MEETING", "0");      // a meeting
    activity(4, "4", "CRM_EMAIL", "1");        // a received e-mail, still unanswered
    activity(5, "2", "VOXIMPLANT_CALL", "1");  // a missed incoming call
    activity(6, "3", "CRM_TASKS_TASK", "0");   // the mirror of a task bound to the deal
    CHECK(NotAPlan(setup.data.activities[4]) == "incoming");
    CHECK(NotAPlan(setup.data.activities[6]) == "a task's mirror");
    CHECK(NotAPlan(setup.data.activities[2]).empty());
    REQUIRE(setup.Refresh());
    Bitrix24Fetcher fetcher = setup.Fetcher();
    const std::vector<crm::Fetched> fetched = fetcher.Fetch({"deal:410", "activity:4"});
    REQUIRE(fetched[0].outcome == crm::Fetched::Outcome::kEvents);
    int tasks = 0;
    CHECK(OpenTasks(fetched[0].events, tasks) ==
          std::vector<std::string>{"todo:1", "todo:2", "todo:3"});
    CHECK(tasks == 3);
    REQUIRE(fetched[1].outcome == crm::Fetched::Outcome::kEvents);
    CHECK(fetched[1].events.empty());
}

TEST_CASE("A limit on a later page retries the deal; a portal ignoring >ID fails it, no loop") {
    Setup setup;
    setup.data.deals[410] = SampleDeal("410", "PREPARATION");
    REQUIRE(setup.Refresh());
    json full_page = json::array();
    for (int id = 1; id <= 50; ++id) {
        full_page.push_back({{"ID", std::to_string(id)},
                             {"OWNER_ID", "410"},
                             {"OWNER_TYPE_ID", "2"},
                             {"COMPLETED", "Y"}});
    }
    SUBCASE("a limit") {
        setup.portal.On("crm.activity.list", [&](const json& params) {
            return params.value("filter", json::object()).contains(">ID")
                       ? testing::Fail(503, "QUERY_LIMIT_EXCEEDED", "Too many requests")
                       : testing::Ok(full_page);
        });
        const std::vector<crm::Fetched> fetched = setup.Fetcher().Fetch({"deal:410"});
        CHECK(fetched[0].outcome == crm::Fetched::Outcome::kRetry);
        CHECK(fetched[0].reason.find("crm.activity.list") != std::string::npos);
    }
    SUBCASE(">ID ignored") {
        setup.portal.On("crm.activity.list", testing::Ok(full_page));
        const std::vector<crm::Fetched> fetched = setup.Fetcher().Fetch({"deal:410"});
        CHECK(fetched[0].outcome == crm::Fetched::Outcome::kFailed);
        CHECK(fetched[0].reason.find(">ID") != std::string::npos);
        CHECK(setup.portal.CallsOf("crm.activity.list").size() == 2);
    }
}

TEST_CASE("Activities, tasks and comments fetched on their own; other owners add nothing") {
    Setup setup;
    setup.data.activities[78] = {{"ID", "78"},
                                 {"OWNER_ID", "3"},
                                 {"OWNER_TYPE_ID", "3"},
                                 {"SUBJECT", "A contact's call"},
                                 {"COMPLETED", "N"}};
    setup.data.activities[79] = {
        {"ID", "79"},        {"OWNER_ID", "410"}, {"OWNER_TYPE_ID", "2"},
        {"SUBJECT", "Meet"}, {"COMPLETED", "Y"},  {"LAST_UPDATED", "2024-08-30T15:00:00+02:00"}};
    setup.data.tasks[6] = {
        {"id", "6"}, {"title", "No deal"}, {"status", "2"}, {"ufCrmTask", json::array()}};
    setup.data.comments[13] = {
        {"ID", "13"}, {"ENTITY_ID", "3"}, {"ENTITY_TYPE", "contact"}, {"COMMENT", "x"}};
    REQUIRE(setup.Refresh());
    Bitrix24Fetcher fetcher = setup.Fetcher();
    const std::vector<crm::Fetched> fetched =
        fetcher.Fetch({"activity:78", "activity:79", "task:6", "comment:13", "task:404", "bogus"});
    REQUIRE(fetched.size() == 6);
    CHECK(fetched[0].outcome == crm::Fetched::Outcome::kEvents);
    CHECK(fetched[0].events.empty());
    REQUIRE(fetched[1].events.size() == 1);
    const auto& done = std::get<domain::TaskUpserted>(fetched[1].events[0].body).task;
    CHECK(done.done);
    CHECK(done.closed_at.has_value());
    CHECK(fetched[2].events.empty());
    CHECK(fetched[3].events.empty());
    CHECK(fetched[4].outcome == crm::Fetched::Outcome::kGone);
    CHECK(fetched[5].outcome == crm::Fetched::Outcome::kFailed);
}

TEST_CASE("A sub-call refused for the portal's rate inside the batch is kRetry") {
    Setup setup;
    setup.data.deals[410] = SampleDeal("410", "NEW");
    REQUIRE(setup.Refresh());
    setup.portal.On("crm.deal.get",
                    testing::Fail(503, "QUERY_LIMIT_EXCEEDED", "Too many requests"));
    Bitrix24Fetcher fetcher = setup.Fetcher();
    const std::vector<crm::Fetched> fetched = fetcher.Fetch({"deal:410"});
    REQUIRE(fetched.size() == 1);
    CHECK(fetched[0].outcome == crm::Fetched::Outcome::kRetry);
    CHECK(fetched[0].reason.find("QUERY_LIMIT_EXCEEDED") != std::string::npos);
}

TEST_CASE("A deal at a stage the directory lacks refreshes it once") {
    Setup setup;
    setup.data.deals[411] = SampleDeal("411", "C1:PAID", "1");
    // The directory was loaded before pipeline 1 existed.
    setup.catalog->Set(Catalog{});
    Bitrix24Fetcher fetcher = setup.Fetcher();
    const std::vector<crm::Fetched> fetched = fetcher.Fetch({"deal:411"});
    REQUIRE(fetched[0].outcome == crm::Fetched::Outcome::kEvents);
    const auto& deal = std::get<domain::DealUpserted>(fetched[0].events[0].body).deal;
    CHECK(deal.pipeline == "1");
    CHECK(deal.stage == "Paid");
}

TEST_CASE("An event's auth[client_endpoint] and server_endpoint are never called") {
    Setup setup;
    setup.data.deals[410] = SampleDeal("410", "PREPARATION");
    REQUIRE(setup.Refresh());
    // Another loopback server that answers like a portal, named by the event as its portal.
    fg::testing::FakeHttpServer elsewhere;
    elsewhere.ServeAll([](const httplib::Request&, httplib::Response& response) {
        response.set_content(R"({"result":{"result":{},"result_error":[]}})", "application/json");
    });
    elsewhere.Start();
    const std::string endpoint = httplib::detail::encode_query_param(elsewhere.Url("/rest/"));
    const std::string body =
        "event=ONCRMDEALUPDATE&data[FIELDS][ID]=410&ts=1793599200&"
        "auth[domain]=" +
        httplib::detail::encode_query_param(elsewhere.Url().substr(7)) +
        "&auth[client_endpoint]=" + endpoint + "&auth[server_endpoint]=" + endpoint +
        "&auth[member_id]=d897063e1ce7c5eb9f04b9751eef5915"
        "&auth[access_token]=at1&auth[application_token]=app";
    const Bitrix24Decoder decoder;
    auto decoded = decoder.DecodeElements({.tenant = "acme",
                                           .content_type = "application/x-www-form-urlencoded",
                                           .body = body,
                                           .received_at = setup.clock.Now()});
    REQUIRE(decoded);
    REQUIRE(decoded->fetch == std::vector<std::string>{"deal:410"});
    const std::size_t before = setup.portal.Requests();
    const std::vector<crm::Fetched> fetched = setup.Fetcher().Fetch(decoded->fetch);
    REQUIRE(fetched[0].outcome == crm::Fetched::Outcome::kEvents);
    CHECK(setup.portal.Requests() == before + 1);
    CHECK(elsewhere.Count() == 0);
}

}  // namespace fetcher_test
}  // namespace fg::adapters::bitrix24
