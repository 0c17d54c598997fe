#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "tests/unit/adapters/bitrix24/sim/support.hpp"

using fg::Duration;
using fg::testing::b24::Portal;
using nlohmann::json;

namespace {

// The same portal twice (seed, deals, the same changes on the same clock), one answering lists
// through their shortcuts (ID-order walk, owner indexes), the other through the general path.
struct Twins {
    Twins()
        : fast({.seed = 7, .deals = 400}), general({.seed = 7, .deals = 400, .fast_lists = false}) {
        for (Portal* portal : {&fast, &general}) {
            auto& sim = *portal->sim;
            portal->clock.Advance(Duration{3600});
            REQUIRE(sim.DeleteDeal(10));
            REQUIRE(sim.MoveDealToCategory(20, 1));
            const auto todo = sim.AddTodo(5, "Позвонить", portal->clock.Now() + Duration{600}, 7);
            REQUIRE(todo);
            REQUIRE(sim.AddTodo(5, "Второе дело", portal->clock.Now() + Duration{900}, 9));
            REQUIRE(sim.AddTodo(300, "Отправить КП", portal->clock.Now() - Duration{60}, 7));
            const auto task = sim.AddTask(7, "Задача", portal->clock.Now() + Duration{60}, 7);
            REQUIRE(task);
            REQUIRE(sim.AddTask(7, "Ещё задача", std::nullopt, 9));
            REQUIRE(sim.AddComment(4, "Комментарий"));
            REQUIRE(sim.AddComment(4, "Второй"));
            portal->clock.Advance(Duration{600});
            REQUIRE(sim.DeleteTodo(*todo));
            REQUIRE(sim.CompleteTask(*task));
            const auto deal = sim.GetDeal(30);
            REQUIRE(deal);
            REQUIRE(sim.MoveDeal(30, deal->category_id == 0 ? "EXECUTING" : "C1:EXECUTING"));
        }
    }

    Portal fast;
    Portal general;
};

json Ids(int from, int to, const std::string& prefix = "") {
    json ids = json::array();
    for (int id = from; id <= to; ++id) {
        ids.push_back(prefix + std::to_string(id));
    }
    return ids;
}

// The parts of an answer that must not depend on the path: everything but the timing.
json Comparable(json body) {
    body.erase("time");
    if (body.contains("result") && body["result"].is_object()) {
        body["result"].erase("result_time");
    }
    return body;
}

}  // namespace

TEST_SUITE("bitrix24 simulator: list shortcuts") {
    TEST_CASE("every list answers the same through the shortcuts and through the general path") {
        Twins twins;
        const std::vector<std::pair<std::string, json>> queries = {
            {"crm.deal.list", json::object()},
            {"crm.deal.list", {{"start", 50}}},
            {"crm.deal.list",
             {{"order", {{"ID", "ASC"}}}, {"filter", {{">ID", 120}}}, {"start", -1}}},
            {"crm.deal.list",
             {{"order", {{"ID", "ASC"}}}, {"filter", {{">ID", "395"}}}, {"start", -1}}},
            {"crm.deal.list",
             {{"order", {{"ID", "asc"}}}, {"filter", {{">=ID", 99.5}}}, {"start", -1}}},
            {"crm.deal.list", {{"order", {{"ID", "DESC"}}}, {"start", -1}}},
            {"crm.deal.list", {{"filter", {{">ID", "abc"}}}, {"start", -1}}},
            {"crm.deal.list",
             {{"order", {{"DATE_MODIFY", "ASC"}}},
              {"filter", {{">=DATE_MODIFY", "2026-10-20"}}},
              {"select", {"ID", "DATE_MODIFY"}},
              {"start", -1}}},
            {"crm.deal.list",
             {{"order", {{"ID", "ASC"}}},
              {"filter", {{">ID", 0}, {"=CATEGORY_ID", 1}}},
              {"select", {"*", "UF_*"}},
              {"start", 50}}},
            {"crm.deal.list", {{"filter", {{"@ID", {3, 5, 10, 7}}}}}},
            {"crm.activity.list",
             {{"filter", {{"OWNER_TYPE_ID", 2}, {"OWNER_ID", Ids(1, 120)}}},
              {"order", {{"ID", "ASC"}}},
              {"start", -1}}},
            {"crm.activity.list",
             {{"filter", {{"OWNER_TYPE_ID", 2}, {"OWNER_ID", Ids(1, 120)}, {">ID", 40}}},
              {"order", {{"ID", "ASC"}}},
              {"start", -1}}},
            {"crm.activity.list", {{"filter", {{"OWNER_ID", 5}}}}},
            {"crm.activity.list", {{"filter", {{"@OWNER_ID", {"5", "300"}}}}, {"start", 0}}},
            {"crm.activity.list", {{"filter", {{"OWNER_ID", "05"}}}}},
            {"crm.activity.list", {{"filter", {{"=OWNER_ID", 5.0}}}}},
            {"crm.activity.list", {{"filter", {{"OWNER_ID", "x"}}}}},
            {"crm.activity.list", {{"filter", {{"OWNER_ID", json::array()}}}, {"start", -1}}},
            {"crm.activity.list", json::object()},
            {"crm.activity.list", {{"start", 100}}},
            {"crm.activity.list",
             {{"filter", {{"COMPLETED", "N"}}}, {"order", {{"DEADLINE", "DESC"}}}, {"start", -1}}},
            {"tasks.task.list",
             {{"filter", {{"UF_CRM_TASK", Ids(1, 200, "D_")}}},
              {"order", {{"ID", "asc"}}},
              {"select", {"ID", "TITLE", "DEADLINE", "STATUS", "UF_CRM_TASK"}},
              {"start", -1}}},
            {"tasks.task.list", {{"filter", {{"UF_CRM_TASK", "D_7"}}}}},
            {"tasks.task.list", {{"filter", {{"UF_CRM_TASK", "7"}}}}},
            {"tasks.task.list", {{"filter", {{"STATUS", -1}}}, {"start", 0}}},
            {"tasks.task.list", {{"order", {{"DEADLINE", "desc"}}}, {"start", 50}}},
            {"tasks.task.list", json::object()},
            {"crm.timeline.comment.list",
             {{"filter", {{"ENTITY_TYPE", "deal"}, {"ENTITY_ID", Ids(1, 150)}}},
              {"order", {{"ID", "ASC"}}},
              {"start", -1}}},
            {"crm.timeline.comment.list",
             {{"filter", {{"ENTITY_TYPE", "deal"}, {"ENTITY_ID", 4}}}}},
            {"crm.stagehistory.list",
             {{"entityTypeId", 2},
              {"order", {{"ID", "ASC"}}},
              {"filter", {{">ID", 100}}},
              {"start", -1}}},
            {"crm.stagehistory.list", {{"entityTypeId", 2}, {"filter", {{"OWNER_ID", 20}}}}},
            {"crm.stagehistory.list",
             {{"entityTypeId", 2}, {"filter", {{"@OWNER_ID", {7, 8, 9}}}}, {"start", 0}}},
            {"crm.stagehistory.list",
             {{"entityTypeId", 2}, {"order", {{"CREATED_TIME", "DESC"}}}, {"start", 50}}},
            // The reconciliation's chained read: each sub-call after the previous one's 50th ID.
            {"batch",
             {{"cmd",
               {{"l00", "crm.deal.list?order[ID]=ASC&filter[>ID]=0&start=-1"},
                {"l01", "crm.deal.list?order[ID]=ASC&start=-1&filter[>ID]=$result[l00][49][ID]"},
                {"l02",
                 "crm.deal.list?order[ID]=ASC&start=-1&filter[>ID]=$result[l01][49][ID]"}}}}},
        };
        int non_empty = 0;
        for (const auto& query : queries) {
            // Not a structured binding: clang 14 cannot capture one in CAPTURE's lambda.
            const std::string& method = query.first;
            const json& params = query.second;
            CAPTURE(method);
            CAPTURE(params.dump());
            const auto fast = twins.fast.Call(method, params);
            const auto general = twins.general.Call(method, params);
            CHECK(fast.status == general.status);
            CHECK(Comparable(fast.body) == Comparable(general.body));
            const json& result = general.body["result"];
            const json& rows = result.is_object() && result.contains("tasks")   ? result["tasks"]
                               : result.is_object() && result.contains("items") ? result["items"]
                                                                                : result;
            non_empty += rows.empty() ? 0 : 1;
        }
        // The comparison is not between empty answers: only the four filters that match nothing
        // (">ID" "abc", OWNER_ID "x" and [], UF_CRM_TASK "7") answer none.
        CHECK(non_empty >= static_cast<int>(queries.size()) - 4);
    }

    TEST_CASE("an ID-ordered page with start=-1 starts after the >ID bound and stops at 50") {
        Portal portal({.deals = 400});
        const auto answer = portal.Call("crm.deal.list", {{"order", {{"ID", "ASC"}}},
                                                          {"filter", {{">ID", 120}}},
                                                          {"select", {"ID"}},
                                                          {"start", -1}});
        REQUIRE(answer.status == 200);
        REQUIRE(answer.body["result"].size() == 50);
        CHECK(answer.body["result"][0]["ID"] == "121");
        CHECK(answer.body["result"][49]["ID"] == "170");
        CHECK_FALSE(answer.body.contains("total"));
        CHECK_FALSE(answer.body.contains("next"));
    }

    TEST_CASE("children added after a list still show in the next one (the index catches up)") {
        Portal portal({.deals = 50});
        const json filter = {{"OWNER_TYPE_ID", 2}, {"OWNER_ID", {3}}};
        const auto before = portal.Call("crm.activity.list", {{"filter", filter}});
        REQUIRE(portal.sim->AddTodo(3, "Новое дело", portal.clock.Now() + Duration{60}, 7));
        const auto after = portal.Call("crm.activity.list", {{"filter", filter}});
        CHECK(after.body["result"].size() == before.body["result"].size() + 1);
        REQUIRE(portal.sim->AddTask(3, "Новая задача", std::nullopt, 7));
        const auto tasks = portal.Call("tasks.task.list", {{"filter", {{"UF_CRM_TASK", "D_3"}}}});
        CHECK_FALSE(tasks.body["result"]["tasks"].empty());
    }
}
