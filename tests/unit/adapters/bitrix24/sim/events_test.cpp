#include <atomic>
#include <chrono>

#include <doctest/doctest.h>

#include "tests/support/fake_http_server.hpp"
#include "tests/unit/adapters/bitrix24/sim/support.hpp"

using fg::testing::FakeHttpServer;
using fg::testing::RecordedRequest;
using fg::testing::b24::Portal;
using nlohmann::json;
namespace sim = fg::adapters::bitrix24::sim;

namespace {

struct Handler {
    Handler() {
        server.ServeAll([this](const httplib::Request&, httplib::Response& res) {
            res.status = status.load();
            res.set_content("ok", "text/plain");
        });
        server.Start();
    }
    std::vector<RecordedRequest> Named(const std::string& event) const {
        std::vector<RecordedRequest> out;
        for (const RecordedRequest& request : server.Requests()) {
            if (request.Param("event") == event) {
                out.push_back(request);
            }
        }
        return out;
    }
    FakeHttpServer server;
    std::atomic<int> status{200};
};

void Bind(Portal& portal, const std::string& access, const std::string& event,
          const std::string& url) {
    const auto answer = portal.Post(
        "/rest/event.bind.json", json{{"auth", access}, {"event", event}, {"handler", url}}.dump(),
        "application/json");
    REQUIRE(answer.status == 200);
    CHECK(answer.body["result"] == true);
}

}  // namespace

TEST_SUITE("bitrix24 simulator: events") {
    TEST_CASE("a change through the API is posted form-encoded to the handler bound for it") {
        Portal portal({.deals = 2, .application_token = "apptoken"});
        Handler handler;
        const auto tokens = portal.sim->IssueTokens();
        Bind(portal, tokens.access_token, "onCrmDealUpdate", handler.server.Url("/hooks/b24"));
        REQUIRE(portal.Call("crm.deal.update", {{"id", 2}, {"fields", {{"TITLE", "t"}}}}).status ==
                200);
        REQUIRE(handler.server.WaitForRequests(1));
        REQUIRE(portal.sim->WaitEventsIdle());
        const RecordedRequest request = handler.server.Requests().at(0);
        CHECK(request.method == "POST");
        CHECK(request.path == "/hooks/b24");
        CHECK(request.Header("Content-Type") == "application/x-www-form-urlencoded");
        // PHP's http_build_query percent-encodes the brackets (bitrix24.md §1.2 I).
        CHECK(request.body.starts_with("event=ONCRMDEALUPDATE&event_handler_id="));
        CHECK(request.body.find("data%5BFIELDS%5D%5BID%5D=2&ts=") != std::string::npos);
        CHECK(request.Param("data[FIELDS][ID]") == "2");
        CHECK(request.Param("ts") == std::to_string(fg::ToEpoch(fg::testing::b24::T0())));
        CHECK(request.Param("auth[application_token]") == "apptoken");
        CHECK(request.Param("auth[domain]") == "sim.bitrix24.ru");
        CHECK_FALSE(request.Param("auth[access_token]").empty());  // an app's handler gets one
        CHECK(portal.sim->Stats().events.delivered == 1);

        const auto listed = portal.Post(
            "/rest/event.get.json", json{{"auth", tokens.access_token}}.dump(), "application/json");
        CHECK(listed.body["result"][0]["event"] == "ONCRMDEALUPDATE");
    }

    TEST_CASE("event.bind needs the app: an inbound webhook is refused") {
        Portal portal;
        const auto answer = portal.Call(
            "event.bind", {{"event", "ONCRMDEALADD"}, {"handler", "http://127.0.0.1:1/"}});
        CHECK(answer.status == 403);
        CHECK(answer.body["error"] == "WRONG_AUTH_TYPE");
        CHECK(portal.sim->Handlers().empty());
    }

    TEST_CASE("a failed delivery is counted and lost, never retried") {
        Handler handler;
        handler.status = 500;
        Portal portal({.deals = 2, .outbound = {{.url = handler.server.Url("/h"), .events = {}}}});
        REQUIRE(portal.sim->UpdateDeal(1, {{"TITLE", "a"}}));
        REQUIRE(handler.server.WaitForRequests(1));
        REQUIRE(portal.sim->WaitEventsIdle());
        handler.status = 200;
        portal.clock.Advance(fg::Duration{3600});  // whatever time passes, nothing comes again
        REQUIRE(portal.sim->UpdateDeal(2, {{"TITLE", "b"}}));
        REQUIRE(handler.server.WaitForRequests(2));
        REQUIRE(portal.sim->WaitEventsIdle());
        const auto requests = handler.server.Requests();
        REQUIRE(requests.size() == 2);
        CHECK(requests[0].Param("data[FIELDS][ID]") == "1");
        CHECK(requests[1].Param("data[FIELDS][ID]") == "2");
        // An outbound webhook's auth block has no OAuth tokens.
        CHECK(requests[1].Param("auth[access_token]").empty());
        CHECK_FALSE(requests[1].Param("auth[application_token]").empty());
        const auto stats = portal.sim->Stats().events;
        CHECK(stats.failed == 1);
        CHECK(stats.delivered == 1);

        // A handler that is not there at all: lost as well.
        Portal lonely({.deals = 1, .outbound = {{.url = "http://127.0.0.1:1/none", .events = {}}}});
        REQUIRE(lonely.sim->UpdateDeal(1, {{"TITLE", "c"}}));
        REQUIRE(lonely.sim->WaitEventsIdle());
        CHECK(lonely.sim->Stats().events.failed == 1);
    }

    TEST_CASE("a move to another pipeline fires no update event but records stage history") {
        Handler outbound;
        Handler app;
        Portal portal({.deals = 0, .outbound = {{.url = outbound.server.Url("/o"), .events = {}}}});
        const auto id = portal.sim->CreateDeal({.title = "move me"});
        REQUIRE(id);
        const auto tokens = portal.sim->IssueTokens();
        Bind(portal, tokens.access_token, "ONCRMDEALUPDATE", app.server.Url("/a"));
        Bind(portal, tokens.access_token, "ONCRMDEALMOVETOCATEGORY", app.server.Url("/a"));
        REQUIRE(outbound.server.WaitForRequests(1));  // the ONCRMDEALADD
        REQUIRE(portal.sim->WaitEventsIdle());

        portal.clock.Advance(fg::Duration{60});
        REQUIRE(portal.sim->MoveDealToCategory(*id, 1));
        REQUIRE(app.server.WaitForRequests(1));
        REQUIRE(portal.sim->WaitEventsIdle());
        CHECK(outbound.Named("ONCRMDEALUPDATE").empty());
        CHECK(outbound.server.Count() == 1);  // an outbound webhook cannot get the move event
        CHECK(app.Named("ONCRMDEALUPDATE").empty());
        const auto moves = app.Named("ONCRMDEALMOVETOCATEGORY");
        REQUIRE(moves.size() == 1);
        CHECK(moves[0].Param("data[FIELDS][CATEGORY_ID]") == "1");
        CHECK(moves[0].Param("data[FIELDS][STAGE_ID]") == "C1:NEW");

        const auto deal = portal.Call("crm.deal.get", {{"id", *id}}).body["result"];
        CHECK(deal["CATEGORY_ID"] == "1");
        CHECK(deal["STAGE_ID"] == "C1:NEW");
        const auto history = portal.Call(
            "crm.stagehistory.list",
            {{"entityTypeId", 2}, {"filter", {{"OWNER_ID", *id}}}, {"order", {{"ID", "ASC"}}}});
        const json& items = history.body["result"]["items"];
        REQUIRE(items.size() == 2);
        CHECK(items[1]["TYPE_ID"] == 5);
        CHECK(items[1]["CATEGORY_ID"] == 1);
        CHECK(items[1]["STAGE_ID"] == "C1:NEW");
        // A stage change inside the pipeline is an ordinary update.
        REQUIRE(portal.sim->MoveDeal(*id, "C1:PREPARATION"));
        REQUIRE(app.server.WaitForRequests(2));
        CHECK(app.Named("ONCRMDEALUPDATE").size() == 1);
    }

    TEST_CASE("task, activity, comment and ignored-entity events in their shapes") {
        Handler handler;
        Portal portal({.deals = 1,
                       .outbound = {{.url = handler.server.Url("/h"), .events = {}}},
                       .comment_id_shape = sim::CommentIdShape::kAlternate});
        const auto task = portal.sim->AddTask(1, "Позвонить", std::nullopt, 7);
        REQUIRE(task);
        REQUIRE(portal.sim->CompleteTask(*task));
        const auto todo = portal.sim->AddTodo(1, "Дело", fg::testing::b24::T0(), 7);
        REQUIRE(todo);
        REQUIRE(portal.sim->AddComment(1, "первый"));
        REQUIRE(portal.sim->AddComment(1, "второй"));
        portal.sim->RaiseOtherEvent("ONCRMLEADADD");
        REQUIRE(handler.server.WaitForRequests(6));
        REQUIRE(portal.sim->WaitEventsIdle());

        const auto added = handler.Named("ONTASKADD").at(0);
        CHECK(added.Param("data[FIELDS_BEFORE]") == "undefined");
        CHECK(added.Param("data[FIELDS_AFTER][ID]") == std::to_string(*task));
        CHECK(added.Param("data[IS_ACCESSIBLE_BEFORE]") == "N");
        CHECK(handler.Named("ONTASKUPDATE").at(0).Param("data[FIELDS_BEFORE][ID]") ==
              std::to_string(*task));
        CHECK(handler.Named("ONCRMACTIVITYADD").at(0).Param("data[FIELDS][ID]") ==
              std::to_string(*todo));
        const auto comments = handler.Named("ONCRMTIMELINECOMMENTADD");
        REQUIRE(comments.size() == 2);
        CHECK_FALSE(comments[0].Param("data[FIELDS][ID]").empty());  // the server code's shape
        CHECK(comments[0].Param("data[ID]").empty());
        CHECK_FALSE(comments[1].Param("data[ID]").empty());  // the docs' shape
        CHECK(handler.Named("ONCRMLEADADD").size() == 1);
    }

    TEST_CASE("dropped events are lost on purpose and counted") {
        Handler handler;
        Portal portal({.deals = 3, .outbound = {{.url = handler.server.Url("/h"), .events = {}}}});
        portal.sim->DropEvents(2);
        for (int id = 1; id <= 3; ++id) {
            REQUIRE(portal.sim->UpdateDeal(id, {{"TITLE", "x"}}));
        }
        REQUIRE(handler.server.WaitForRequests(1));
        REQUIRE(portal.sim->WaitEventsIdle());
        CHECK(handler.server.Count() == 1);
        CHECK(handler.server.Requests()[0].Param("data[FIELDS][ID]") == "3");
        CHECK(portal.sim->Stats().events.dropped == 2);

        Handler half;
        Portal lossy({.seed = 5,
                      .deals = 40,
                      .outbound = {{.url = half.server.Url("/h"), .events = {}}},
                      .drop_events = 0.5});
        for (int id = 1; id <= 40; ++id) {
            REQUIRE(lossy.sim->UpdateDeal(id, {{"TITLE", "y"}}));
        }
        REQUIRE(lossy.sim->WaitEventsIdle());
        const auto stats = lossy.sim->Stats().events;
        CHECK(stats.dropped > 5);
        CHECK(stats.dropped < 35);
        CHECK(stats.delivered + stats.dropped == 40);
    }

    TEST_CASE("Stop() returns promptly while a handler hangs") {
        FakeHttpServer slow;
        std::mutex mutex;
        std::condition_variable release;
        bool released = false;
        slow.ServeAll([&](const httplib::Request&, httplib::Response& res) {
            std::unique_lock lock(mutex);
            release.wait_for(lock, std::chrono::seconds{10}, [&] { return released; });
            res.status = 200;
        });
        slow.Start();
        Portal portal({.deals = 2,
                       .outbound = {{.url = slow.Url("/slow"), .events = {}}},
                       .delivery_timeout = std::chrono::milliseconds{300}});
        REQUIRE(portal.sim->UpdateDeal(1, {{"TITLE", "x"}}));
        REQUIRE(portal.sim->UpdateDeal(2, {{"TITLE", "y"}}));
        REQUIRE(slow.WaitForRequests(1));
        const auto before = std::chrono::steady_clock::now();
        portal.sim->Stop();
        CHECK(std::chrono::steady_clock::now() - before < std::chrono::seconds{3});
        {
            std::lock_guard lock(mutex);
            released = true;
        }
        release.notify_all();
        slow.Stop();
    }
}
