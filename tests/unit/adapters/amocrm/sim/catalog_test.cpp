// The catalog routes: account with=users_groups, users by id, pipeline statuses (list, by id).
#include "adapters/amocrm/sim/catalog.hpp"

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

/// The path of one of the simulator's own absolute `_links` hrefs.
std::string PathOf(const Simulator& sim, const json& links) {
    const std::string href = links["self"]["href"].get<std::string>();
    REQUIRE(href.rfind(sim.BaseUrl(), 0) == 0);
    return href.substr(sim.BaseUrl().size());
}

TEST_CASE("amoCRM simulator account: with=users_groups embeds the default group") {
    ManualClock clock(testing::Start());
    Simulator sim(Quiet(clock));
    REQUIRE(sim.Start());
    auto client = Client(sim);

    const json plain = Json(client.Get("/api/v4/account"));
    CHECK_FALSE(plain.contains("_embedded"));

    const json account = Json(client.Get("/api/v4/account?with=users_groups,datetime_settings"));
    const json& groups = account["_embedded"]["users_groups"];
    REQUIRE(groups.is_array());
    REQUIRE(groups.size() == 1);
    CHECK(groups[0]["id"] == 0);
    CHECK(groups[0]["name"] == "Отдел продаж");
    CHECK(groups[0].contains("uuid"));
    CHECK(groups[0]["uuid"].is_null());
    // The docs' sample puts datetime_settings under _embedded too.
    CHECK(account["_embedded"]["datetime_settings"]["timezone"] == "Europe/Moscow");
    CHECK_FALSE(account.contains("datetime_settings"));
}

TEST_CASE("amoCRM simulator users: GET /api/v4/users/{id} answers what the list links to") {
    ManualClock clock(testing::Start());
    Simulator sim(Quiet(clock));
    REQUIRE(sim.Start());
    auto client = Client(sim);

    const json list = Json(client.Get("/api/v4/users"));
    const json& users = list["_embedded"]["users"];
    REQUIRE(users.size() == sim.Users().size());
    for (const json& user : users) {
        const auto one = client.Get(PathOf(sim, user["_links"]));
        REQUIRE(one);
        CHECK(one->status == 200);
        CHECK(one->get_header_value("Content-Type") == "application/hal+json");
        CHECK(json::parse(one->body) == user);
    }

    const std::int64_t manager = sim.Users().back().id;
    const json with =
        Json(client.Get(fmt::format("/api/v4/users/{}?with=group,role,uuid", manager)));
    CHECK(with["id"] == manager);
    CHECK(with["rights"]["is_admin"] == false);
    CHECK(with["_embedded"]["roles"] == json::array());
    REQUIRE(with["_embedded"]["groups"].size() == 1);
    CHECK(with["_embedded"]["groups"][0]["name"] == "Отдел продаж");
    CHECK(with["uuid"].is_null());

    const json listed = Json(client.Get("/api/v4/users?with=group"));
    CHECK(listed["_embedded"]["users"][0]["_embedded"]["groups"][0]["id"] == 0);

    const auto unknown = client.Get("/api/v4/users/1");
    REQUIRE(unknown);
    CHECK(unknown->status == 204);
    CHECK(unknown->body.empty());
    CHECK(sim.Stats().endpoints.at("GET /api/v4/users/{id}") == users.size() + 2);
}

TEST_CASE("amoCRM simulator statuses: list and by id, where the pipelines' _links point") {
    ManualClock clock(testing::Start());
    Simulator sim(Quiet(clock));
    REQUIRE(sim.Start());
    auto client = Client(sim);

    const json pipelines = Json(client.Get("/api/v4/leads/pipelines"));
    REQUIRE(pipelines["_embedded"]["pipelines"].size() == 2);
    for (const json& pipeline : pipelines["_embedded"]["pipelines"]) {
        const std::string base = PathOf(sim, pipeline["_links"]);
        CHECK(Json(client.Get(base)) == pipeline);

        const auto list = client.Get(base + "/statuses");
        REQUIRE(list);
        CHECK(list->status == 200);
        CHECK(list->get_header_value("Content-Type") == "application/hal+json");
        const json statuses = json::parse(list->body);
        CHECK(statuses["_total_items"] == pipeline["_embedded"]["statuses"].size());
        CHECK(statuses["_embedded"]["statuses"] == pipeline["_embedded"]["statuses"]);

        for (const json& status : pipeline["_embedded"]["statuses"]) {
            const auto one = client.Get(PathOf(sim, status["_links"]));
            REQUIRE(one);
            CHECK(one->status == 200);
            CHECK(json::parse(one->body) == status);
        }
    }

    const json& main = pipelines["_embedded"]["pipelines"][0];
    const json& other = pipelines["_embedded"]["pipelines"][1];
    const std::int64_t open_stage = main["_embedded"]["statuses"][1]["id"];
    const json described =
        Json(client.Get(fmt::format("/api/v4/leads/pipelines/{}/statuses/{}?with=descriptions",
                                    main["id"].get<std::int64_t>(), open_stage)));
    CHECK(described["descriptions"] == json::array());
    const json all_described = Json(client.Get(fmt::format(
        "/api/v4/leads/pipelines/{}/statuses?with=descriptions", main["id"].get<std::int64_t>())));
    CHECK(all_described["_embedded"]["statuses"][0]["descriptions"] == json::array());

    // A stage belongs to one pipeline (142 and 143 are in every one, with its pipeline_id).
    const auto foreign = client.Get(fmt::format("/api/v4/leads/pipelines/{}/statuses/{}",
                                                other["id"].get<std::int64_t>(), open_stage));
    REQUIRE(foreign);
    CHECK(foreign->status == 204);
    const json won = Json(client.Get(
        fmt::format("/api/v4/leads/pipelines/{}/statuses/142", other["id"].get<std::int64_t>())));
    CHECK(won["pipeline_id"] == other["id"]);
    const auto no_pipeline = client.Get("/api/v4/leads/pipelines/1/statuses");
    REQUIRE(no_pipeline);
    CHECK(no_pipeline->status == 204);
}

}  // namespace
}  // namespace fg::adapters::amocrm::sim
