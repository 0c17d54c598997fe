// The notes routes of the amoCRM simulator (adapters/amocrm/sim/notes_routes.cpp).
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

TEST_CASE("amoCRM simulator notes: common notes on a lead") {
    ManualClock clock(testing::Start());
    Simulator sim(Quiet(clock, 5));
    REQUIRE(sim.Start());
    auto client = Client(sim);
    const std::int64_t lead_id =
        Json(client.Get("/api/v4/leads?limit=1"))["_embedded"]["leads"][0]["id"];

    const json note =
        json::array({{{"note_type", "common"}, {"params", {{"text", "Сделка пропустила этап"}}}}});
    const auto created = client.Post(fmt::format("/api/v4/leads/{}/notes", lead_id), note.dump(),
                                     "application/json");
    REQUIRE(created);
    REQUIRE(created->status == 200);
    const std::int64_t note_id = json::parse(created->body)["_embedded"]["notes"][0]["id"];

    const json both = json::array(
        {{{"entity_id", lead_id}, {"note_type", "common"}, {"params", {{"text", "Вторая"}}}}});
    const auto second = client.Post("/api/v4/leads/notes", both.dump(), "application/json");
    REQUIRE(second);
    CHECK(second->status == 200);

    const json list =
        Json(client.Get(fmt::format("/api/v4/leads/{}/notes?filter[note_type]=common", lead_id)));
    bool found = false;
    for (const json& item : list["_embedded"]["notes"]) {
        CHECK(item["entity_id"] == lead_id);
        CHECK(item["note_type"] == "common");
        CHECK(item["params"]["text"].is_string());
        found =
            found || (item["id"] == note_id && item["params"]["text"] == "Сделка пропустила этап");
    }
    CHECK(found);
    const json recent = Json(client.Get(
        fmt::format("/api/v4/leads/notes?filter[updated_at][from]={}", ToEpoch(clock.Now()))));
    CHECK(recent["_embedded"]["notes"].size() == 2);

    const json bad = json::array(
        {{{"entity_id", lead_id}, {"note_type", "sticker"}, {"params", {{"text", "x"}}}}});
    const auto refused = client.Post("/api/v4/leads/notes", bad.dump(), "application/json");
    REQUIRE(refused);
    CHECK(refused->status == 400);
    CHECK(json::parse(refused->body)["validation-errors"][0]["errors"][0]["path"] == "note_type");
}

}  // namespace
}  // namespace fg::adapters::amocrm::sim
