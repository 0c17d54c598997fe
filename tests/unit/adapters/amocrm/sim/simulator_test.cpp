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

TEST_CASE("amoCRM simulator exchanges authorization codes and rotates refresh tokens") {
    ManualClock clock(testing::Start());
    SimOptions options = Quiet(clock);
    options.oauth.codes = {"known-code"};
    Simulator sim(options);
    REQUIRE(sim.Start());
    auto anonymous = Client(sim, false);
    const OAuthOptions& oauth = options.oauth;
    auto exchange = [&](json body) {
        body["client_id"] = oauth.client_id;
        body["client_secret"] = oauth.client_secret;
        body["redirect_uri"] = oauth.redirect_uri;
        return anonymous.Post("/oauth2/access_token", body.dump(), "application/json");
    };

    const auto unknown = exchange({{"grant_type", "authorization_code"}, {"code", "nope"}});
    REQUIRE(unknown);
    CHECK(unknown->status == 400);
    CHECK(json::parse(unknown->body)["type"] ==
          "https://developers.amocrm.ru/v3/errors/OAuthProblemJson");

    const auto granted = exchange({{"grant_type", "authorization_code"}, {"code", "known-code"}});
    REQUIRE(granted);
    REQUIRE(granted->status == 200);
    const json tokens = json::parse(granted->body);
    CHECK(tokens["token_type"] == "Bearer");
    CHECK(tokens["expires_in"] == 86400);
    const std::string access = tokens["access_token"];
    const std::string refresh = tokens["refresh_token"];
    CHECK(std::count(access.begin(), access.end(), '.') == 2);  // JWT-shaped

    // A code works once.
    const auto reused = exchange({{"grant_type", "authorization_code"}, {"code", "known-code"}});
    REQUIRE(reused);
    CHECK(reused->status == 400);

    // The access token is accepted as Bearer.
    auto client = Client(sim, false);
    client.set_bearer_token_auth(access.c_str());
    const auto with_access = client.Get("/api/v4/account");
    REQUIRE(with_access);
    CHECK(with_access->status == 200);

    // Refresh: a new pair; the old refresh token stops working.
    const auto refreshed = exchange({{"grant_type", "refresh_token"}, {"refresh_token", refresh}});
    REQUIRE(refreshed);
    REQUIRE(refreshed->status == 200);
    const json fresh = json::parse(refreshed->body);
    CHECK(fresh["refresh_token"] != refresh);
    const auto old_refresh =
        exchange({{"grant_type", "refresh_token"}, {"refresh_token", refresh}});
    REQUIRE(old_refresh);
    CHECK(old_refresh->status == 400);

    // Access tokens expire on the simulator's clock.
    clock.Advance(Duration{86400 + 1});
    const auto expired = client.Get("/api/v4/account");
    REQUIRE(expired);
    CHECK(expired->status == 401);

    // A code issued through the test hook, and a wrong secret.
    const std::string code = sim.IssueAuthorizationCode();
    json bad = {{"client_id", oauth.client_id},
                {"client_secret", "wrong"},
                {"redirect_uri", oauth.redirect_uri},
                {"grant_type", "authorization_code"},
                {"code", code}};
    const auto wrong_secret =
        anonymous.Post("/oauth2/access_token", bad.dump(), "application/json");
    REQUIRE(wrong_secret);
    CHECK(wrong_secret->status == 401);
    const auto issued = exchange({{"grant_type", "authorization_code"}, {"code", code}});
    REQUIRE(issued);
    CHECK(issued->status == 200);
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

TEST_CASE("amoCRM simulator webhook registrations: add, update in place, list, delete") {
    ManualClock clock(testing::Start());
    Simulator sim(Quiet(clock));
    REQUIRE(sim.Start());
    auto client = Client(sim);
    const auto empty = client.Get("/api/v4/webhooks");
    REQUIRE(empty);
    CHECK(empty->status == 204);

    const json first = {{"destination", "http://127.0.0.1:1/hooks/amocrm/t/s"},
                        {"settings", {"status_lead"}}};
    const json a = Json(client.Post("/api/v4/webhooks", first.dump(), "application/json"));
    CHECK(a["destination"] == first["destination"]);
    CHECK(a["disabled"] == false);
    const json second = {{"destination", first["destination"]},
                         {"settings", {"status_lead", "add_task", "note_lead"}}};
    const json b = Json(client.Post("/api/v4/webhooks", second.dump(), "application/json"));
    CHECK(b["id"] == a["id"]);
    CHECK(b["settings"].size() == 3);
    const json list = Json(client.Get("/api/v4/webhooks"));
    CHECK(list["_embedded"]["webhooks"].size() == 1);

    const json bad = {{"destination", "ftp://x"}, {"settings", {"not_a_setting"}}};
    const auto refused = client.Post("/api/v4/webhooks", bad.dump(), "application/json");
    REQUIRE(refused);
    CHECK(refused->status == 400);

    const auto removed = client.Delete(
        "/api/v4/webhooks", json{{"destination", first["destination"]}}.dump(), "application/json");
    REQUIRE(removed);
    CHECK(removed->status == 204);
    CHECK(sim.Webhooks().empty());
    CHECK(sim.Stats().endpoints.at("POST /api/v4/webhooks") == 3);
}

}  // namespace
}  // namespace fg::adapters::amocrm::sim
