#include <doctest/doctest.h>

#include "tests/unit/adapters/bitrix24/sim/support.hpp"

using fg::testing::b24::Portal;
using nlohmann::json;

TEST_SUITE("bitrix24 simulator: batch") {
    TEST_CASE("a failing sub-call lands in result_error and the others still run") {
        Portal portal({.deals = 3});
        const auto answer = portal.Call("batch", {{"halt", 0},
                                                  {"cmd",
                                                   {{"a", "crm.deal.get?id=1"},
                                                    {"missing", "crm.deal.get?id=999"},
                                                    {"list", "crm.deal.list?select[]=ID&start=0"},
                                                    {"nested", "batch?cmd[x]=user.get"}}}});
        REQUIRE(answer.status == 200);
        const json& result = answer.body["result"];
        CHECK(result["result"]["a"]["ID"] == "1");
        CHECK(result["result"]["list"].size() == 3);
        CHECK(result["result_error"]["missing"] ==
              json{{"error", ""}, {"error_description", "Not found"}});
        CHECK(result["result_error"]["nested"]["error"] == "ERROR_BATCH_METHOD_NOT_ALLOWED");
        CHECK(result["result_total"]["list"] == 3);
        CHECK(result["result_next"] == json::array());  // PHP's [] for an empty map
        CHECK(result["result_time"].contains("a"));
        // One HTTP request, four method calls counted.
        const auto stats = portal.sim->Stats();
        CHECK(stats.requests == 1);
        CHECK(stats.calls.at("crm.deal.get") == 2);
    }

    TEST_CASE("result_error is [] when every sub-call succeeds; $result references resolve") {
        Portal portal({.deals = 2});
        const auto answer =
            portal.Call("batch", {{"cmd",
                                   {{"deal", "crm.deal.get?id=2"},
                                    {"user", "user.get?ID=$result[deal][ASSIGNED_BY_ID]"}}}});
        REQUIRE(answer.status == 200);
        const json& result = answer.body["result"];
        CHECK(result["result_error"] == json::array());
        REQUIRE(result["result"]["user"].size() == 1);
        CHECK(result["result"]["user"][0]["ID"] == result["result"]["deal"]["ASSIGNED_BY_ID"]);
    }

    TEST_CASE("halt stops at the first failure; a list cmd answers lists; over 50 is refused") {
        Portal portal({.deals = 2});
        const auto halted = portal.Call(
            "batch", {{"halt", 1},
                      {"cmd", json::array({"crm.deal.get?id=1", "crm.deal.get?id=404",
                                           "crm.deal.update?id=2&fields[TITLE]=late"})}});
        REQUIRE(halted.status == 200);
        CHECK(halted.body["result"]["result"].is_array());
        CHECK(halted.body["result"]["result"].size() == 1);
        CHECK(halted.body["result"]["result_error"].contains("1"));
        CHECK(portal.sim->GetDeal(2)->title != "late");

        json cmd = json::object();
        for (int i = 0; i < 51; ++i) {
            cmd["c" + std::to_string(i)] = "user.get";
        }
        const auto too_long = portal.Call("batch", {{"cmd", cmd}});
        CHECK(too_long.status == 400);
        CHECK(too_long.body["error"] == "ERROR_BATCH_LENGTH_EXCEEDED");
    }
}
