#include <doctest/doctest.h>

#include "tests/unit/adapters/bitrix24/sim/support.hpp"

using fg::testing::b24::Portal;
using nlohmann::json;

TEST_SUITE("bitrix24 simulator: envelope and types") {
    TEST_CASE("crm.deal.get answers every scalar as a string inside the envelope") {
        Portal portal({.deals = 5});
        const auto answer = portal.Call("crm.deal.get", {{"id", 1}});
        REQUIRE(answer.status == 200);
        const json& deal = answer.body["result"];
        CHECK(deal["ID"] == "1");
        CHECK(deal["CATEGORY_ID"].is_string());
        CHECK(deal["ASSIGNED_BY_ID"].is_string());
        CHECK(deal["OPPORTUNITY"].get<std::string>().find('.') != std::string::npos);
        CHECK(deal["DATE_CREATE"].get<std::string>().ends_with("+03:00"));
        CHECK(deal.contains("UF_CRM_1700000000001"));
        CHECK(answer.body["time"].contains("date_start"));
        CHECK_FALSE(answer.body.contains("total"));
    }

    TEST_CASE("a category other than 0 carries the C<n>: prefix in STAGE_ID") {
        Portal portal;
        const auto id = portal.sim->CreateDeal({.title = "x", .category_id = 1});
        REQUIRE(id);
        const auto deal = portal.Call("crm.deal.get", {{"ID", *id}}).body["result"];
        CHECK(deal["CATEGORY_ID"] == "1");
        CHECK(deal["STAGE_ID"] == "C1:NEW");
    }

    TEST_CASE("an unknown deal is 400 with an empty error code; an unknown method 404") {
        Portal portal;
        const auto missing = portal.Call("crm.deal.get", {{"id", 999}});
        CHECK(missing.status == 400);
        CHECK(missing.body == json{{"error", ""}, {"error_description", "Not found"}});
        const auto unknown = portal.Call("crm.deal.frobnicate");
        CHECK(unknown.status == 404);
        CHECK(unknown.body["error"] == "ERROR_METHOD_NOT_FOUND");
    }

    TEST_CASE("a wrong webhook token is 401 and runs nothing") {
        Portal portal({.deals = 2});
        const auto answer =
            portal.Post("/rest/1/wrong/crm.deal.update.json",
                        json{{"id", 1}, {"fields", {{"TITLE", "x"}}}}.dump(), "application/json");
        CHECK(answer.status == 401);
        CHECK(answer.body["error"] == "NO_AUTH_FOUND");
        CHECK(portal.sim->GetDeal(1)->title != "x");
        CHECK(portal.sim->Stats().unauthorized == 1);
    }

    TEST_CASE("form-encoded bodies and GET queries are read like JSON, with or without .json") {
        Portal portal({.deals = 3});
        const auto form = portal.Post("/rest/1/hooktoken/crm.deal.update",
                                      "id=2&fields%5BTITLE%5D=%D0%A4%D0%BE%D1%80%D0%BC%D0%B0+1",
                                      "application/x-www-form-urlencoded");
        REQUIRE(form.status == 200);
        CHECK(form.body["result"] == true);
        CHECK(portal.sim->GetDeal(2)->title == "Форма 1");
        const auto query = portal.Get(
            "/rest/1/hooktoken/crm.deal.list?select[]=ID&select[]=TITLE"
            "&filter[%3EID]=1&order[ID]=DESC");
        REQUIRE(query.status == 200);
        REQUIRE(query.body["result"].size() == 2);
        CHECK(query.body["result"][0] ==
              json{{"ID", "3"}, {"TITLE", portal.sim->GetDeal(3)->title}});
        CHECK(query.body["result"][1]["ID"] == "2");
    }

    TEST_CASE("updates are validated: a stage of another pipeline or a bad amount is refused") {
        Portal portal({.deals = 1});
        const auto stage_before = portal.sim->GetDeal(1)->stage_id;
        const auto other = portal.sim->GetDeal(1)->category_id == 0 ? "C1:NEW" : "NEW";
        const auto wrong_stage =
            portal.Call("crm.deal.update", {{"id", 1}, {"fields", {{"STAGE_ID", other}}}});
        CHECK(wrong_stage.status == 400);
        const auto bad_amount =
            portal.Call("crm.deal.update", {{"id", 1}, {"fields", {{"OPPORTUNITY", "lots"}}}});
        CHECK(bad_amount.status == 400);
        CHECK(portal.sim->GetDeal(1)->stage_id == stage_before);
        CHECK(portal.sim->Stats().writes.count("crm.deal.update") == 0);
    }

    TEST_CASE("crm.deal.list pages by 50 with total and next; start=-1 counts nothing") {
        Portal portal({.deals = 120});
        const auto first = portal.Call("crm.deal.list", {{"order", {{"ID", "ASC"}}}});
        REQUIRE(first.status == 200);
        CHECK(first.body["result"].size() == 50);
        CHECK(first.body["total"] == 120);
        CHECK(first.body["next"] == 50);
        const auto last = portal.Call("crm.deal.list", {{"start", 100}});
        CHECK(last.body["result"].size() == 20);
        CHECK_FALSE(last.body.contains("next"));

        // The bulk pattern: ID paging with start=-1, until fewer than 50 come back.
        std::int64_t last_id = 0;
        std::size_t seen = 0;
        for (int guard = 0; guard < 10; ++guard) {
            const auto page = portal.Call("crm.deal.list", {{"order", {{"ID", "ASC"}}},
                                                            {"filter", {{">ID", last_id}}},
                                                            {"select", {"ID", "DATE_MODIFY"}},
                                                            {"start", -1}});
            REQUIRE(page.status == 200);
            CHECK_FALSE(page.body.contains("total"));
            CHECK_FALSE(page.body.contains("next"));
            seen += page.body["result"].size();
            if (page.body["result"].empty()) {
                break;
            }
            last_id = std::stoll(page.body["result"].back()["ID"].get<std::string>());
            if (page.body["result"].size() < 50) {
                break;
            }
        }
        CHECK(seen == 120);
        CHECK(last_id == 120);
    }

    TEST_CASE("filters: =CATEGORY_ID and >DATE_MODIFY") {
        Portal portal({.deals = 30});
        const auto in_one = portal.Call("crm.deal.list", {{"filter", {{"=CATEGORY_ID", 1}}}});
        for (const json& deal : in_one.body["result"]) {
            CHECK(deal["CATEGORY_ID"] == "1");
        }
        portal.clock.Advance(fg::Duration{60});
        REQUIRE(portal.sim->UpdateDeal(4, {{"TITLE", "changed"}}));
        const auto since = portal.Call(
            "crm.deal.list",
            {{"filter", {{">DATE_MODIFY", "2026-11-02T09:00:30+03:00"}}}, {"select", {"ID"}}});
        CHECK(since.body["result"] == json::array({{{"ID", "4"}}}));
    }

    TEST_CASE("pipelines, stages, stage history and users in their documented shapes") {
        Portal portal({.deals = 3});
        const auto categories = portal.Call("crm.category.list", {{"entityTypeId", 2}});
        REQUIRE(categories.status == 200);
        const json& list = categories.body["result"]["categories"];
        REQUIRE(list.size() == 2);
        CHECK(list[0]["id"] == 0);
        CHECK(list[0]["name"] == "Общая");
        CHECK(list[1]["id"].is_number_integer());

        const auto stages =
            portal.Call("crm.status.list", {{"filter", {{"ENTITY_ID", "DEAL_STAGE"}}}});
        REQUIRE(stages.status == 200);
        std::vector<std::string> names;
        for (const json& stage : stages.body["result"]) {
            names.push_back(stage["NAME"]);
        }
        CHECK(names.front() == "Новая заявка");
        CHECK(std::find(names.begin(), names.end(), "Счёт выставлен") != names.end());
        const json& won = stages.body["result"][6];
        CHECK(won["STATUS_ID"] == "WON");
        CHECK(won["SEMANTICS"] == "S");
        CHECK(stages.body["result"][0]["SEMANTICS"].is_null());
        const auto other =
            portal.Call("crm.status.list", {{"filter", {{"ENTITY_ID", "DEAL_STAGE_1"}}}});
        CHECK(other.body["result"][0]["STATUS_ID"] == "C1:NEW");

        const auto history = portal.Call("crm.stagehistory.list",
                                         {{"entityTypeId", 2}, {"filter", {{"OWNER_ID", 1}}}});
        REQUIRE(history.status == 200);
        const json& first = history.body["result"]["items"][0];
        CHECK(first["ID"].is_number_integer());
        CHECK(first["OWNER_ID"] == 1);
        CHECK(first["TYPE_ID"] == 1);
        CHECK(first["CATEGORY_ID"].is_number_integer());
        CHECK(history.body["total"].is_number_integer());

        const auto users = portal.Call("user.get", {{"ID", 7}});
        REQUIRE(users.body["result"].size() == 1);
        CHECK(users.body["result"][0]["NAME"] == "Алексей");

        const auto fields = portal.Call("crm.deal.userfield.list", {{"filter", {{"LANG", "ru"}}}});
        std::vector<std::string> labels;
        for (const json& field : fields.body["result"]) {
            labels.push_back(field["EDIT_FORM_LABEL"]);
        }
        CHECK(labels == std::vector<std::string>{"Бюджет", "Дата оплаты", "Источник", "ИНН",
                                                 "Сумма КП", "Город"});
    }

    TEST_CASE("to-dos and tasks bound to a deal, in their shapes") {
        Portal portal({.deals = 1});
        const auto todo =
            portal.Call("crm.activity.todo.add", {{"ownerTypeId", 2},
                                                  {"ownerId", 1},
                                                  {"deadline", "2026-11-03T15:00:00+03:00"},
                                                  {"title", "Позвонить"},
                                                  {"responsibleId", 7}});
        REQUIRE(todo.status == 200);
        const auto todo_id = todo.body["result"]["id"].get<std::int64_t>();
        const auto missing =
            portal.Call("crm.activity.todo.add", {{"ownerTypeId", 2}, {"ownerId", 1}});
        CHECK(missing.status == 400);
        const auto activities =
            portal.Call("crm.activity.list",
                        {{"filter", {{"OWNER_TYPE_ID", 2}, {"OWNER_ID", 1}, {"COMPLETED", "N"}}}});
        bool found = false;
        for (const json& activity : activities.body["result"]) {
            if (activity["ID"] == std::to_string(todo_id)) {
                found = true;
                CHECK(activity["DEADLINE"] == "2026-11-03T15:00:00+03:00");
                CHECK(activity["COMPLETED"] == "N");
                CHECK(activity["PROVIDER_ID"] == "CRM_TODO");
            }
        }
        CHECK(found);

        const auto task =
            portal.Call("tasks.task.add", {{"fields",
                                            {{"TITLE", "КП"},
                                             {"RESPONSIBLE_ID", 7},
                                             {"UF_CRM_TASK", {"D_1"}},
                                             {"DEADLINE", "2026-11-04T12:00:00+03:00"}}}});
        REQUIRE(task.status == 200);
        CHECK(task.body["result"]["task"]["responsibleId"] == "7");
        const auto no_title = portal.Call("tasks.task.add", {{"fields", {{"RESPONSIBLE_ID", 7}}}});
        CHECK(no_title.status == 400);
        const auto tasks = portal.Call(
            "tasks.task.list",
            {{"filter", {{"UF_CRM_TASK", "D_1"}}}, {"select", {"ID", "TITLE", "UF_CRM_TASK"}}});
        REQUIRE(tasks.status == 200);
        bool listed = false;
        for (const json& item : tasks.body["result"]["tasks"]) {
            CHECK(item["ufCrmTask"] == json::array({"D_1"}));
            listed = listed || item["title"] == "КП";
        }
        CHECK(listed);
        const auto unselected =
            portal.Call("tasks.task.list", {{"filter", {{"UF_CRM_TASK", "D_1"}}}});
        CHECK_FALSE(unselected.body["result"]["tasks"][0].contains("ufCrmTask"));

        const auto comment = portal.Call(
            "crm.timeline.comment.add",
            {{"fields", {{"ENTITY_ID", 1}, {"ENTITY_TYPE", "deal"}, {"COMMENT", "Заметка"}}}});
        REQUIRE(comment.status == 200);
        CHECK(comment.body["result"].is_number_integer());
        const auto upper = portal.Call(
            "crm.timeline.comment.add",
            {{"FIELDS", {{"ENTITY_ID", 1}, {"ENTITY_TYPE", "deal"}, {"COMMENT", "x"}}}});
        CHECK(upper.status == 400);  // only lower-case "fields" since crm 23.100.0

        const auto notify =
            portal.Call("im.notify.system.add", {{"USER_ID", 7}, {"MESSAGE", "Привет"}});
        CHECK(notify.status == 200);
        const auto empty = portal.Call("im.notify.system.add", {{"USER_ID", 7}});
        CHECK(empty.body["error"] == "MESSAGE_EMPTY");
        CHECK(portal.sim->Notifications().size() == 1);
        const auto stats = portal.sim->Stats();
        CHECK(stats.writes.at("crm.activity.todo.add") == 1);
        CHECK(stats.calls.at("crm.activity.todo.add") == 2);
    }
}
