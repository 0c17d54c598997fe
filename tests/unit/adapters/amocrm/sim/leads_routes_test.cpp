// The leads routes of the amoCRM simulator (adapters/amocrm/sim/leads_routes.cpp).
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

TEST_CASE("amoCRM simulator pages leads by 250 at most and ends with 204") {
    ManualClock clock(testing::Start());
    Simulator sim(Quiet(clock, 100));
    REQUIRE(sim.Start());
    auto client = Client(sim);

    const auto first = client.Get("/api/v4/leads?limit=50&page=1");
    REQUIRE(first);
    CHECK(first->status == 200);
    const json page1 = json::parse(first->body);
    CHECK(page1["_page"] == 1);
    CHECK(page1["_embedded"]["leads"].size() == 50);
    REQUIRE(page1["_links"].contains("next"));
    const std::string next = page1["_links"]["next"]["href"];
    CHECK(next.find("page=2") != std::string::npos);
    CHECK(next.rfind(sim.BaseUrl(), 0) == 0);

    // Following next as a client would: path and query from the href.
    const json page2 = Json(client.Get(next.substr(sim.BaseUrl().size())));
    CHECK(page2["_embedded"]["leads"].size() == 50);
    REQUIRE(page2["_links"].contains("next"));  // full page: next may lead to an empty one
    const auto page3 = client.Get("/api/v4/leads?limit=50&page=3");
    REQUIRE(page3);
    CHECK(page3->status == 204);
    CHECK(page3->body.empty());

    const json all = Json(client.Get("/api/v4/leads?limit=250"));
    CHECK(all["_embedded"]["leads"].size() == 100);
    CHECK_FALSE(all["_links"].contains("next"));

    const auto too_many = client.Get("/api/v4/leads?limit=251");
    REQUIRE(too_many);
    CHECK(too_many->status == 422);
    CHECK(json::parse(too_many->body)["detail"] == "Limit 250 per page");
    const auto bad_page = client.Get("/api/v4/leads?page=0");
    REQUIRE(bad_page);
    CHECK(bad_page->status == 400);

    // Default limit is 50.
    CHECK(Json(client.Get("/api/v4/leads"))["_embedded"]["leads"].size() == 50);
}

TEST_CASE("amoCRM simulator leads carry the documented fields and filters work") {
    ManualClock clock(testing::Start());
    Simulator sim(Quiet(clock, 300));
    REQUIRE(sim.Start());
    auto client = Client(sim);

    const json page = Json(client.Get("/api/v4/leads?limit=250"));
    bool saw_fields = false;
    bool saw_closed = false;
    for (const json& lead : page["_embedded"]["leads"]) {
        for (const char* key :
             {"id", "price", "responsible_user_id", "status_id", "pipeline_id", "created_by",
              "updated_by", "created_at", "updated_at", "account_id", "group_id"}) {
            CHECK_MESSAGE(lead[key].is_number_integer(), key);
        }
        CHECK(lead["name"].is_string());
        CHECK(lead["is_deleted"] == false);
        CHECK((lead["closed_at"].is_null() || lead["closed_at"].is_number_integer()));
        CHECK((lead["closest_task_at"].is_null() || lead["closest_task_at"].is_number_integer()));
        CHECK((lead["custom_fields_values"].is_null() || lead["custom_fields_values"].is_array()));
        CHECK(lead["_links"]["self"]["href"].is_string());
        CHECK(lead["_embedded"]["tags"].is_array());
        if (lead["closed_at"].is_number_integer()) {
            saw_closed = true;
            CHECK((lead["status_id"] == 142 || lead["status_id"] == 143));
        }
        if (lead["custom_fields_values"].is_array()) {
            for (const json& value : lead["custom_fields_values"]) {
                saw_fields = true;
                CHECK(value["field_id"].is_number_integer());
                CHECK(value["field_name"].is_string());
                CHECK(value.contains("field_code"));
                CHECK(value["values"].is_array());
                if (value["field_type"] == "date") {
                    CHECK(value["values"][0]["value"].is_number_integer());
                }
                if (value["field_type"] == "select") {
                    CHECK(value["values"][0]["enum_id"].is_number_integer());
                }
            }
        }
    }
    CHECK(saw_fields);
    CHECK(saw_closed);

    const std::int64_t id = page["_embedded"]["leads"][0]["id"];
    const json one = Json(client.Get(fmt::format("/api/v4/leads/{}", id)));
    CHECK(one["id"] == id);
    const auto unknown = client.Get("/api/v4/leads/999");
    REQUIRE(unknown);
    CHECK(unknown->status == 204);

    // filter[updated_at][from] with order desc.
    const std::int64_t from = ToEpoch(clock.Now()) - 10 * 86400;
    const json recent = Json(client.Get(fmt::format(
        "/api/v4/leads?filter[updated_at][from]={}&order[updated_at]=desc&limit=250", from)));
    std::int64_t previous = ToEpoch(clock.Now()) + 1;
    for (const json& lead : recent["_embedded"]["leads"]) {
        CHECK(lead["updated_at"].get<std::int64_t>() >= from);
        CHECK(lead["updated_at"].get<std::int64_t>() <= previous);
        previous = lead["updated_at"];
    }
    // filter[id][] picks leads.
    const json picked =
        Json(client.Get(fmt::format("/api/v4/leads?filter[id][]={}&filter[id][]={}", id, id + 1)));
    CHECK(picked["_embedded"]["leads"].size() == 2);
    // filter[statuses]
    const json won =
        Json(client.Get("/api/v4/"
                        "leads?filter[statuses][0][pipeline_id]=7000001&filter[statuses][0][status_"
                        "id]=142&limit=250"));
    for (const json& lead : won["_embedded"]["leads"]) {
        CHECK(lead["status_id"] == 142);
        CHECK(lead["pipeline_id"] == 7000001);
    }
}

TEST_CASE("amoCRM simulator validates lead writes like amoCRM and applies valid ones") {
    ManualClock clock(testing::Start());
    Simulator sim(Quiet(clock, 20));
    REQUIRE(sim.Start());
    auto client = Client(sim);
    const std::int64_t lead_id =
        Json(client.Get("/api/v4/leads?limit=1"))["_embedded"]["leads"][0]["id"];

    SUBCASE("unknown status and field give validation-errors") {
        const json body = json::array(
            {{{"id", lead_id},
              {"status_id", 12345},
              {"custom_fields_values", {{{"field_id", 1}, {"values", {{{"value", "x"}}}}}}}}});
        const auto result = client.Patch("/api/v4/leads", body.dump(), "application/json");
        REQUIRE(result);
        CHECK(result->status == 400);
        const json problem = json::parse(result->body);
        CHECK(problem["title"] == "Bad Request");
        CHECK(problem["detail"] == "Request validation failed");
        REQUIRE(problem["validation-errors"].size() == 1);
        CHECK(problem["validation-errors"][0]["request_id"] == "0");
        const json& errors = problem["validation-errors"][0]["errors"];
        REQUIRE(errors.size() >= 1);
        CHECK(errors[0]["code"] == "NotSupportedChoice");
        CHECK(errors[0]["path"] == "custom_fields_values.0.field_id");
    }
    SUBCASE("wrong types") {
        const json body = json::array({{{"id", lead_id}, {"status_id", "abc"}}});
        const auto result = client.Patch("/api/v4/leads", body.dump(), "application/json");
        REQUIRE(result);
        CHECK(result->status == 400);
        CHECK(json::parse(result->body)["validation-errors"][0]["errors"][0]["code"] ==
              "InvalidType");
        const auto object = client.Patch("/api/v4/leads", R"({"id":1})", "application/json");
        REQUIRE(object);
        CHECK(object->status == 400);
        const auto garbage = client.Patch("/api/v4/leads", "{not json", "application/json");
        REQUIRE(garbage);
        CHECK(garbage->status == 400);
    }
    SUBCASE("unknown lead on PATCH /leads/{id} is 404") {
        const auto result =
            client.Patch("/api/v4/leads/777", R"({"status_id":142})", "application/json");
        REQUIRE(result);
        CHECK(result->status == 404);
    }
    SUBCASE("a stage move, fields and the event log") {
        const SimPipeline main = sim.Pipelines().front();
        const std::int64_t target = main.OpenStages()[2];
        const json body = {
            {"status_id", target},
            {"pipeline_id", main.id},
            {"updated_by", 0},
            {"custom_fields_values",
             {{{"field_id", 900001}, {"values", {{{"value", 750000}}}}},
              {{"field_id", 900003}, {"values", {{{"enum_id", 950002}}}}},
              {{"field_id", 900002}, {"values", {{{"value", "2026-11-05T00:00:00+03:00"}}}}}}}};
        const std::int64_t before_status = sim.GetLead(lead_id)->status_id;
        clock.Advance(Duration{60});
        const auto result =
            client.Patch(fmt::format("/api/v4/leads/{}", lead_id), body.dump(), "application/json");
        REQUIRE(result);
        REQUIRE(result->status == 200);
        const json answer = json::parse(result->body);
        CHECK(answer["id"] == lead_id);
        CHECK(answer["updated_at"] == ToEpoch(clock.Now()));
        const SimLead lead = *sim.GetLead(lead_id);
        CHECK(lead.status_id == target);
        CHECK(lead.updated_by == 0);
        REQUIRE(lead.Field(900003) != nullptr);
        CHECK(lead.Field(900003)->values[0].value == "Звонок");
        CHECK(lead.Field(900002)->values[0].value ==
              std::to_string(ToEpoch(*ParseIso8601("2026-11-05T00:00:00+03:00"))));

        const json lead_json = Json(client.Get(fmt::format("/api/v4/leads/{}", lead_id)));
        for (const json& value : lead_json["custom_fields_values"]) {
            if (value["field_id"] == 900001) {
                CHECK(value["values"][0]["value"] == "750000");
            }
        }
        if (before_status != target) {
            const json events =
                Json(client.Get(fmt::format("/api/v4/"
                                            "events?filter[type]=lead_status_changed&filter[entity]"
                                            "=lead&filter[entity_id][]={}",
                                            lead_id)));
            const json& newest = events["_embedded"]["events"][0];
            CHECK(newest["id"].is_string());
            CHECK(newest["type"] == "lead_status_changed");
            CHECK(newest["entity_type"] == "lead");
            CHECK(newest["created_by"] == 0);
            CHECK(newest["created_at"] == ToEpoch(clock.Now()));
            CHECK(newest["value_after"][0]["lead_status"]["id"] == target);
            CHECK(newest["value_after"][0]["lead_status"]["pipeline_id"] == main.id);
            CHECK(newest["value_before"][0]["lead_status"]["id"] == before_status);
        }
    }
    SUBCASE("create in batch; the unsorted stage is refused") {
        const SimPipeline main = sim.Pipelines().front();
        const json ok =
            json::array({{{"name", "ООО «Тест»"}, {"price", 1000}, {"request_id", "a"}},
                         {{"name", "АО «Проба»"}, {"status_id", main.OpenStages()[0]}}});
        const auto created = client.Post("/api/v4/leads", ok.dump(), "application/json");
        REQUIRE(created);
        REQUIRE(created->status == 200);
        const json answer = json::parse(created->body);
        REQUIRE(answer["_embedded"]["leads"].size() == 2);
        CHECK(answer["_embedded"]["leads"][0]["request_id"] == "a");
        CHECK(answer["_embedded"]["leads"][1]["request_id"] == "1");
        const std::int64_t id = answer["_embedded"]["leads"][0]["id"];
        CHECK(sim.GetLead(id)->status_id == main.OpenStages()[0]);
        CHECK(sim.GetLead(id)->name == "ООО «Тест»");

        const json unsorted =
            json::array({{{"name", "x"}, {"status_id", main.statuses.front().id}}});
        const auto refused = client.Post("/api/v4/leads", unsorted.dump(), "application/json");
        REQUIRE(refused);
        CHECK(refused->status == 400);
        json many = json::array();
        for (int i = 0; i < 251; ++i) {
            many.push_back({{"name", "x"}});
        }
        const auto too_many = client.Post("/api/v4/leads", many.dump(), "application/json");
        REQUIRE(too_many);
        CHECK(too_many->status == 422);
    }
}

}  // namespace
}  // namespace fg::adapters::amocrm::sim
