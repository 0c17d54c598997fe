// GET /api/v4/events of the amoCRM simulator (adapters/amocrm/sim/events_routes.cpp).
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

TEST_CASE("amoCRM simulator events: 100 per page, filters, newest first") {
    ManualClock clock(testing::Start());
    Simulator sim(Quiet(clock, 200));
    REQUIRE(sim.Start());
    auto client = Client(sim);
    const auto too_many = client.Get("/api/v4/events?limit=101");
    REQUIRE(too_many);
    CHECK(too_many->status == 422);

    const json page = Json(client.Get("/api/v4/events?filter[type]=lead_status_changed&limit=100"));
    const json& events = page["_embedded"]["events"];
    REQUIRE(events.size() == 100);
    std::int64_t previous = ToEpoch(clock.Now());
    for (const json& event : events) {
        CHECK(event["type"] == "lead_status_changed");
        CHECK(event["id"].is_string());
        CHECK(event["created_at"].get<std::int64_t>() <= previous);
        previous = event["created_at"];
        CHECK(event["value_before"][0]["lead_status"]["id"].is_number_integer());
        CHECK(event["value_after"][0]["lead_status"]["pipeline_id"].is_number_integer());
        CHECK(event["_embedded"]["entity"]["id"] == event["entity_id"]);
    }
    const std::int64_t from = ToEpoch(clock.Now()) - 86400 * 7;
    const json asc = Json(client.Get(fmt::format(
        "/api/v4/events?filter[created_at][from]={}&order[created_at]=asc&limit=100", from)));
    std::int64_t last = from;
    for (const json& event : asc["_embedded"]["events"]) {
        CHECK(event["created_at"].get<std::int64_t>() >= last);
        last = event["created_at"];
    }
    const auto no_entity = client.Get("/api/v4/events?filter[entity_id][]=20000001");
    REQUIRE(no_entity);
    CHECK(no_entity->status == 400);
    const json one_lead =
        Json(client.Get("/api/v4/events?filter[entity]=lead&filter[entity_id][]=20000001"));
    for (const json& event : one_lead["_embedded"]["events"]) {
        CHECK(event["entity_id"] == 20000001);
    }
    const auto none = client.Get(
        fmt::format("/api/v4/events?filter[created_at][from]={}", ToEpoch(clock.Now()) + 10));
    REQUIRE(none);
    CHECK(none->status == 204);
}

}  // namespace
}  // namespace fg::adapters::amocrm::sim
