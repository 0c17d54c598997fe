// adapters/bitrix24/api: the connector's pull and webhook registration, and the writer, against
// a loopback portal serving reference/bitrix24.md's samples.
#include "adapters/bitrix24/api/connector.hpp"

#include <set>

#include <doctest/doctest.h>

#include "tests/unit/adapters/bitrix24/sample_portal.hpp"

namespace fg::adapters::bitrix24 {
namespace connector_test {

using nlohmann::json;
using testing::FakePortal;
using testing::SampleData;
using testing::SampleDeal;

struct Setup {
    explicit Setup(bool oauth = false, WriteTasksAs tasks_as = WriteTasksAs::kTodo) {
        testing::ServeSamplePortal(portal, data);
        ClientOptions options{.tenant = "acme", .portal_url = portal.Url()};
        if (oauth) {
            options.client_id = "local.1";
            options.client_secret = "cs";
            options.token_file =
                dir.Write("b24.json", R"({"access_token":"at","refresh_token":"rt"})");
        } else {
            options.webhook_user = 1;
            options.webhook_token = "tok";
        }
        client = std::make_shared<Client>(options, limiter, clock);
        connector = std::make_unique<Bitrix24Connector>(client, catalog,
                                                        MapContext{.tenant = "acme",
                                                                   .time_zone = "UTC",
                                                                   .catalog = nullptr,
                                                                   .deal_tasks = DealTasks::kBoth},
                                                        tasks_as);
    }

    fg::testing::TempDir dir;
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
    std::unique_ptr<Bitrix24Connector> connector;
};

// The pull is tested against the simulator (pull_test.cpp): it needs `batch` $result references.

TEST_CASE("Connect for an inbound webhook: the outbound webhook's settings, bound by hand") {
    Setup setup;
    const Result<crm::Connection> connected =
        setup.connector->Connect("https://fg.example.com/hooks/bitrix24/acme");
    REQUIRE(connected);
    CHECK_FALSE(connected->changed);
    CHECK(connected->manual.find("https://fg.example.com/hooks/bitrix24/acme") !=
          std::string::npos);
    for (const char* event : {"ONCRMDEALADD", "ONCRMDEALUPDATE", "ONCRMDEALDELETE",
                              "ONCRMACTIVITYADD", "ONTASKUPDATE", "ONCRMTIMELINECOMMENTADD"}) {
        CHECK(connected->manual.find(event) != std::string::npos);
    }
    CHECK(connected->manual.find("secret") != std::string::npos);
    CHECK(setup.portal.Calls().empty());
    CHECK_FALSE(setup.connector->Disconnect("https://fg.example.com/hooks/bitrix24/acme"));
}

TEST_CASE("Connect for an OAuth app binds what is missing and unbinds an earlier address") {
    Setup setup(true);
    setup.portal.On(
        "event.get",
        testing::Ok(json::array(
            {{{"event", "ONCRMDEALADD"}, {"handler", "https://fg.example.com/hooks/bitrix24/acme"}},
             {{"event", "ONCRMDEALUPDATE"},
              {"handler", "https://old.example.com/hooks/bitrix24/acme"}},
             {{"event", "ONCRMDEALUPDATE"}, {"handler", "https://other-app.example.com/b24"}}})));
    setup.portal.On("event.bind", testing::Ok(true));
    setup.portal.On("event.unbind", testing::Ok({{"count", 1}}));
    const Result<crm::Connection> connected =
        setup.connector->Connect("https://fg.example.com/hooks/bitrix24/acme");
    REQUIRE_MESSAGE(connected, (connected ? "" : connected.error().message));
    CHECK(connected->changed);
    CHECK(connected->earlier_removed == 1);
    CHECK(connected->manual.empty());
    const auto binds = setup.portal.CallsOf("event.bind");
    CHECK(binds.size() == NeededEvents(true).size() - 1);
    for (const auto& bind : binds) {
        CHECK(bind.params["handler"] == "https://fg.example.com/hooks/bitrix24/acme");
        CHECK(bind.params["auth"] == "at");
        CHECK(bind.path == "/rest/event.bind.json");
    }
    const auto unbinds = setup.portal.CallsOf("event.unbind");
    REQUIRE(unbinds.size() == 1);
    CHECK(unbinds[0].params["handler"] == "https://old.example.com/hooks/bitrix24/acme");
}

outbox::Action Note(const std::string& deal, const std::string& text) {
    outbox::Action action;
    action.body.kind = outbox::ActionKind::kNote;
    action.body.tenant = "acme";
    action.body.deal = deal;
    action.body.text = text;
    action.body.detail = outbox::NoteBody{};
    return action;
}

outbox::Action Task(const std::string& deal, const std::string& text) {
    outbox::Action action = Note(deal, text);
    action.body.kind = outbox::ActionKind::kTask;
    action.body.detail =
        outbox::TaskBody{.responsible = "5", .due = *ParseIso8601("2026-11-03T09:00:00Z")};
    return action;
}

outbox::Action Revert(const std::string& deal, const std::string& to) {
    outbox::Action action = Note(deal, "returned");
    action.body.kind = outbox::ActionKind::kRevert;
    action.body.detail = outbox::RevertBody{.pipeline = "0", .from = "In progress", .to = to};
    return action;
}

TEST_CASE("The writer: a comment, a to-do, a revert; several of a kind in one batch") {
    Setup setup;
    setup.data.deals[410] = SampleDeal("410", "EXECUTING");
    outbox::ActionSink& sink = setup.connector->Sink();
    CHECK(sink.Deliver(Note("410", "Этап пропущен")).status == outbox::DeliveryStatus::kDelivered);
    const auto comments = setup.portal.CallsOf("crm.timeline.comment.add");
    REQUIRE(comments.size() == 1);
    CHECK(comments[0].params["fields"]["ENTITY_TYPE"] == "deal");
    CHECK(comments[0].params["fields"]["ENTITY_ID"] == 410);
    CHECK(comments[0].params["fields"]["COMMENT"] == "Этап пропущен");

    CHECK(sink.Deliver(Task("410", "Позвоните клиенту")).status ==
          outbox::DeliveryStatus::kDelivered);
    const auto todos = setup.portal.CallsOf("crm.activity.todo.add");
    REQUIRE(todos.size() == 1);
    CHECK(todos[0].params["ownerTypeId"] == 2);
    CHECK(todos[0].params["deadline"] == "2026-11-03T09:00:00Z");
    CHECK(todos[0].params["title"] == "Позвоните клиенту");
    CHECK(todos[0].params["responsibleId"] == 5);

    CHECK(sink.Deliver(Revert("410", "Preparing")).status == outbox::DeliveryStatus::kDelivered);
    CHECK(setup.data.deals[410]["STAGE_ID"] == "PREPARATION");

    SUBCASE("batched: one request, each answered from its own result or result_error") {
        const std::size_t before = setup.portal.Requests();
        CHECK(sink.MaxBatch(outbox::ActionKind::kNote) == 50);
        const std::vector<outbox::DeliveryResult> results =
            sink.DeliverBatch({Note("410", "a"), Note("410", "b"), Note("x", "c")});
        CHECK(setup.portal.Requests() == before + 1);
        REQUIRE(results.size() == 3);
        CHECK(results[0].status == outbox::DeliveryStatus::kDelivered);
        CHECK(results[1].status == outbox::DeliveryStatus::kDelivered);
        CHECK(results[2].status == outbox::DeliveryStatus::kRejected);
    }
    SUBCASE("a revert to a stage the portal lacks is rejected") {
        CHECK(sink.Deliver(Revert("410", "Nowhere")).status == outbox::DeliveryStatus::kRejected);
    }
    SUBCASE("after an ambiguous failure, a write that landed is not written again") {
        outbox::Action again = Note("410", "Этап пропущен");
        again.attempt = 2;
        CHECK(sink.Deliver(again).status == outbox::DeliveryStatus::kDelivered);
        CHECK(setup.portal.CallsOf("crm.timeline.comment.add").size() == 1);
    }
    SUBCASE("chat messages are not Bitrix24's") {
        outbox::Action message = Note("410", "hi");
        message.body.kind = outbox::ActionKind::kNotify;
        CHECK(sink.Deliver(message).status == outbox::DeliveryStatus::kRejected);
    }
}

TEST_CASE("The writer writes tasks as tasks.task.add bound to the deal when asked to") {
    Setup setup(false, WriteTasksAs::kTask);
    setup.data.deals[410] = SampleDeal("410", "EXECUTING");
    CHECK(setup.connector->Sink().Deliver(Task("410", "Send the offer")).status ==
          outbox::DeliveryStatus::kDelivered);
    const auto tasks = setup.portal.CallsOf("tasks.task.add");
    REQUIRE(tasks.size() == 1);
    CHECK(tasks[0].params["fields"]["TITLE"] == "Send the offer");
    CHECK(tasks[0].params["fields"]["UF_CRM_TASK"] == json::array({"D_410"}));
    CHECK(tasks[0].params["fields"]["RESPONSIBLE_ID"] == 5);
}

}  // namespace connector_test
}  // namespace fg::adapters::bitrix24
