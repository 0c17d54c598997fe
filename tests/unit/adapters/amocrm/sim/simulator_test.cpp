#include "adapters/amocrm/sim/simulator.hpp"

#include <string>

#include <doctest/doctest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tests/unit/adapters/amocrm/sim/support.hpp"

namespace fg::adapters::amocrm::sim {
namespace {

using nlohmann::json;
using testing::Client;
using testing::Json;
using testing::Quiet;

TEST_CASE(
    "amoCRM simulator serves the account, pipelines, custom fields and users in the v4 shapes") {
    ManualClock clock(testing::Start());
    Simulator sim(Quiet(clock));
    REQUIRE(sim.Start());
    auto client = Client(sim);

    const auto account =
        client.Get("/api/v4/account?with=datetime_settings,task_types,is_api_filter_enabled");
    REQUIRE(account);
    CHECK(account->status == 200);
    CHECK(account->get_header_value("Content-Type") == "application/hal+json");
    const json a = json::parse(account->body);
    CHECK(a["id"].is_number_integer());
    CHECK(a["subdomain"] == "sim");
    CHECK(a["current_user_id"].is_number_integer());
    CHECK(a["is_api_filter_enabled"] == true);
    CHECK(a["_embedded"]["datetime_settings"]["timezone"] == "Europe/Moscow");
    CHECK(a["_embedded"]["task_types"].size() == 2);

    const json pipelines = Json(client.Get("/api/v4/leads/pipelines"));
    CHECK(pipelines["_total_items"] == 2);
    const json& list = pipelines["_embedded"]["pipelines"];
    REQUIRE(list.size() == 2);
    CHECK(list[0]["name"] == "Продажи");
    CHECK(list[0]["is_main"] == true);
    for (const json& pipeline : list) {
        const json& statuses = pipeline["_embedded"]["statuses"];
        CHECK(statuses.front()["type"] == 1);  // Неразобранное
        CHECK(statuses.front()["name"] == "Неразобранное");
        bool won = false;
        bool lost = false;
        int previous_sort = -1;
        for (const json& status : statuses) {
            CHECK(status["pipeline_id"] == pipeline["id"]);
            CHECK(status["sort"].get<int>() > previous_sort);
            previous_sort = status["sort"].get<int>();
            won = won || status["id"] == 142;
            lost = lost || status["id"] == 143;
            CHECK(status.contains("color"));
            CHECK(status.contains("is_editable"));
        }
        CHECK(won);
        CHECK(lost);
    }
    CHECK(list[0]["_embedded"]["statuses"].size() == 9);  // unsorted, 6 open, 142, 143

    const json fields = Json(client.Get("/api/v4/leads/custom_fields"));
    bool has_select = false;
    for (const json& field : fields["_embedded"]["custom_fields"]) {
        CHECK(field["id"].is_number_integer());
        CHECK(field["required_statuses"].is_array());
        if (field["name"] == "Источник") {
            has_select = true;
            CHECK(field["type"] == "select");
            CHECK(field["enums"].size() == 5);
        }
    }
    CHECK(has_select);
    CHECK(fields["_total_items"] == 6);

    const json users = Json(client.Get("/api/v4/users"));
    REQUIRE(users["_embedded"]["users"].size() == 5);
    CHECK(users["_embedded"]["users"][0]["name"] == "Анна Смирнова");
    CHECK(users["_embedded"]["users"][0]["rights"]["is_admin"] == true);
}

TEST_CASE("amoCRM simulator refuses requests without a valid token") {
    ManualClock clock(testing::Start());
    Simulator sim(Quiet(clock));
    REQUIRE(sim.Start());

    auto anonymous = Client(sim, false);
    const auto none = anonymous.Get("/api/v4/leads");
    REQUIRE(none);
    CHECK(none->status == 401);
    CHECK(none->get_header_value("Content-Type") == "application/problem+json");
    const json problem = json::parse(none->body);
    CHECK(problem["title"] == "Unauthorized");
    CHECK(problem["status"] == 401);

    anonymous.set_bearer_token_auth("wrong");
    const auto wrong = anonymous.Get("/api/v4/account");
    REQUIRE(wrong);
    CHECK(wrong->status == 401);
    CHECK(sim.Stats().unauthorized == 2);

    auto client = Client(sim);
    const auto unknown_route = client.Get("/api/v4/nothing");
    REQUIRE(unknown_route);
    CHECK(unknown_route->status == 404);
}

TEST_CASE("amoCRM simulator answers 429 above its rate, as HTML without Retry-After or as JSON") {
    ManualClock clock(testing::Start());
    SimOptions options = Quiet(clock);
    options.rps = 2;
    SUBCASE("html") { options.html_429_share = 1.0; }
    SUBCASE("json") { options.html_429_share = 0.0; }
    Simulator sim(options);
    REQUIRE(sim.Start());
    auto client = Client(sim);
    std::optional<httplib::Response> limited;
    for (int i = 0; i < 50 && !limited; ++i) {
        const auto result = client.Get("/api/v4/account");
        REQUIRE(result);
        if (result->status == 429) {
            limited = *result;
        } else {
            CHECK(result->status == 200);
        }
    }
    REQUIRE(limited);
    CHECK_FALSE(limited->has_header("Retry-After"));
    if (options.html_429_share > 0.5) {
        CHECK(limited->get_header_value("Content-Type") == "text/html");
        CHECK(limited->body.find("<html>") != std::string::npos);
        CHECK(limited->body.find("429 Too Many Requests") != std::string::npos);
    } else {
        const json body = json::parse(limited->body);
        CHECK(body["status"] == 429);
        CHECK(body["retry_after"] == 300);
    }
    CHECK(sim.Stats().rate_limited >= 1);
}

TEST_CASE("amoCRM simulator blocks the account with an HTML 403 after repeated 429s") {
    ManualClock clock(testing::Start());
    SimOptions options = Quiet(clock);
    options.rps = 1;
    options.block_after_429 = 3;
    Simulator sim(options);
    REQUIRE(sim.Start());
    auto client = Client(sim);
    int status = 0;
    for (int i = 0; i < 100 && status != 403; ++i) {
        const auto result = client.Get("/api/v4/account");
        REQUIRE(result);
        status = result->status;
        if (status == 403) {
            CHECK(result->body.find("403 Forbidden") != std::string::npos);
            CHECK(result->body.find("nginx") != std::string::npos);
        }
    }
    CHECK(status == 403);
    CHECK(sim.Blocked());
    const auto still = client.Get("/api/v4/leads");
    REQUIRE(still);
    CHECK(still->status == 403);
    CHECK(sim.Stats().blocked >= 2);
    sim.Unblock();
    const auto again = client.Get("/api/v4/account");
    REQUIRE(again);
    CHECK(again->status == 200);
}

TEST_CASE("amoCRM simulator counts the requests in its current rate window") {
    ManualClock clock(testing::Start());
    SimOptions options = Quiet(clock);
    options.rps = 100;
    options.rate_window = std::chrono::milliseconds{60'000};  // nothing leaves it during the test
    Simulator sim(options);
    REQUIRE(sim.Start());
    CHECK(sim.RequestsInRateWindow() == 0);
    auto client = Client(sim);
    REQUIRE(client.Get("/api/v4/account"));
    REQUIRE(client.Get("/api/v4/users"));
    CHECK(sim.RequestsInRateWindow() == 2);
}

}  // namespace
}  // namespace fg::adapters::amocrm::sim
