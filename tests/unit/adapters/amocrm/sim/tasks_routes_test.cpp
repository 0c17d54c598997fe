// The tasks routes of the amoCRM simulator (adapters/amocrm/sim/tasks_routes.cpp).
#include <string>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "adapters/amocrm/sim/simulator.hpp"
#include "tests/unit/adapters/amocrm/sim/support.hpp"

namespace fg::adapters::amocrm::sim {
namespace {

using nlohmann::json;
using testing::Client;
using testing::Json;
using testing::Quiet;

TEST_CASE("amoCRM simulator tasks: 50 per POST, required fields, filters and completion") {
    ManualClock clock(testing::Start());
    Simulator sim(Quiet(clock, 30));
    REQUIRE(sim.Start());
    auto client = Client(sim);
    const std::int64_t lead_id =
        Json(client.Get("/api/v4/leads?limit=1"))["_embedded"]["leads"][0]["id"];
    const std::int64_t due = ToEpoch(clock.Now()) + 3600;

    json fifty_one = json::array();
    for (int i = 0; i < 51; ++i) {
        fifty_one.push_back({{"text", "Позвонить"},
                             {"complete_till", due},
                             {"entity_id", lead_id},
                             {"entity_type", "leads"}});
    }
    const auto rejected = client.Post("/api/v4/tasks", fifty_one.dump(), "application/json");
    REQUIRE(rejected);
    CHECK(rejected->status == 400);

    const json missing = json::array(
        {{{"complete_till", due}, {"entity_id", lead_id}, {"entity_type", "leads"}},
         {{"text", "x"}, {"entity_id", lead_id}, {"entity_type", "leads"}},
         {{"text", "x"}, {"complete_till", due}, {"entity_id", 1}, {"entity_type", "leads"}}});
    const auto invalid = client.Post("/api/v4/tasks", missing.dump(), "application/json");
    REQUIRE(invalid);
    CHECK(invalid->status == 400);
    const json problem = json::parse(invalid->body);
    REQUIRE(problem["validation-errors"].size() == 3);
    CHECK(problem["validation-errors"][0]["errors"][0]["path"] == "text");
    CHECK(problem["validation-errors"][1]["errors"][0]["path"] == "complete_till");
    CHECK(problem["validation-errors"][2]["errors"][0]["path"] == "entity_id");

    const json good = json::array({{{"text", "Перезвонить клиенту"},
                                    {"complete_till", due},
                                    {"entity_id", lead_id},
                                    {"entity_type", "leads"},
                                    {"task_type_id", 1},
                                    {"request_id", "fg-1"}}});
    const auto created = client.Post("/api/v4/tasks", good.dump(), "application/json");
    REQUIRE(created);
    REQUIRE(created->status == 200);
    const json answer = json::parse(created->body);
    const std::int64_t task_id = answer["_embedded"]["tasks"][0]["id"];
    CHECK(answer["_embedded"]["tasks"][0]["request_id"] == "fg-1");

    const json open = Json(client.Get(fmt::format(
        "/api/v4/tasks?filter[entity_type]=leads&filter[entity_id][]={}&filter[is_completed]=0",
        lead_id)));
    bool found = false;
    for (const json& task : open["_embedded"]["tasks"]) {
        CHECK(task["entity_id"] == lead_id);
        CHECK(task["entity_type"] == "leads");
        CHECK(task["is_completed"] == false);
        CHECK(task["complete_till"].is_number_integer());
        found = found || task["id"] == task_id;
    }
    CHECK(found);
    CHECK(Json(client.Get(fmt::format("/api/v4/leads/{}", lead_id)))["closest_task_at"]
              .is_number_integer());

    clock.Advance(Duration{120});
    const json done = json::array(
        {{{"id", task_id}, {"is_completed", true}, {"result", {{"text", "Созвонились"}}}}});
    const auto patched = client.Patch("/api/v4/tasks", done.dump(), "application/json");
    REQUIRE(patched);
    REQUIRE(patched->status == 200);
    const json task = Json(client.Get(fmt::format("/api/v4/tasks/{}", task_id)));
    CHECK(task["is_completed"] == true);
    CHECK(task["result"]["text"] == "Созвонились");
    CHECK(task["updated_at"] == ToEpoch(clock.Now()));

    const json since = Json(
        client.Get(fmt::format("/api/v4/tasks?filter[updated_at][from]={}", ToEpoch(clock.Now()))));
    REQUIRE(since["_embedded"]["tasks"].size() == 1);
    CHECK(since["_embedded"]["tasks"][0]["id"] == task_id);
    CHECK(Json(client.Get("/api/v4/tasks?limit=100"))["_embedded"]["tasks"].size() == 100);
}

}  // namespace
}  // namespace fg::adapters::amocrm::sim
