#include "adapters/amocrm/sim/webhooks.hpp"

#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "adapters/amocrm/sim/simulator.hpp"
#include "tests/unit/adapters/amocrm/sim/support.hpp"

namespace fg::adapters::amocrm::sim {
namespace {

using nlohmann::json;
using testing::Client;
using testing::FormMap;
using testing::Json;
using testing::Quiet;
using testing::Receiver;

const std::vector<std::string> kAll = {
    "add_lead",     "update_lead", "status_lead", "responsible_lead", "delete_lead",
    "restore_lead", "note_lead",   "add_task",    "update_task",      "delete_task"};

TEST_CASE("Webhook form encoding percent-encodes brackets and UTF-8 and uses + for spaces") {
    CHECK(FormEncode("leads[status][0][id]") == "leads%5Bstatus%5D%5B0%5D%5Bid%5D");
    CHECK(FormEncode("Some test lead") == "Some+test+lead");
    CHECK(FormEncode("Сайт") == "%D0%A1%D0%B0%D0%B9%D1%82");
    CHECK(FormEncode("a&b=c") == "a%26b%3Dc");

    Model model;
    model.subdomain = "test000002";
    model.account_id = 10216991;
    model.base_url = "https://test000002.amocrm.ru";
    const HookItem first{"status_lead", "leads[status]", {{"id", "1"}, {"old_status_id", "5"}}};
    const HookItem second{"status_lead", "leads[status]", {{"id", "2"}}};
    const HookItem note{"note_lead", "leads[note]", {{"note[text]", "ок"}}};
    const std::string body = EncodeWebhookBody({&first, &note, &second}, model);
    CHECK(body ==
          "leads%5Bstatus%5D%5B0%5D%5Bid%5D=1&leads%5Bstatus%5D%5B0%5D%5Bold_status_id%5D=5&"
          "leads%5Bstatus%5D%5B1%5D%5Bid%5D=2&leads%5Bnote%5D%5B0%5D%5Bnote%5D%5Btext%5D=%D0%BE%D0%"
          "BA&"
          "account%5Bsubdomain%5D=test000002&account%5Bid%5D=10216991&"
          "account%5B_links%5D%5Bself%5D=https%3A%2F%2Ftest000002.amocrm.ru");
}

TEST_CASE(
    "Webhook retry schedule follows amoCRM: 5 min, 15 min, then 15 min and 1 h after 499/5xx") {
    CHECK(RetryDelay(1, 0) == Duration{300});
    CHECK(RetryDelay(1, 404) == Duration{300});
    CHECK(RetryDelay(2, 302) == Duration{900});
    CHECK_FALSE(RetryDelay(3, 404).has_value());
    CHECK_FALSE(RetryDelay(3, 0).has_value());
    CHECK(RetryDelay(3, 500) == Duration{900});
    CHECK(RetryDelay(3, 499) == Duration{900});
    CHECK(RetryDelay(4, 503) == Duration{3600});
    CHECK_FALSE(RetryDelay(5, 503).has_value());
}

TEST_CASE("Simulator sends a status change as a legacy v2 form webhook") {
    ManualClock clock(testing::Start());
    Simulator sim(Quiet(clock, 10));
    REQUIRE(sim.Start());
    Receiver receiver;
    testing::Subscribe(sim, receiver.Url(), {"status_lead"});

    const SimPipeline main = sim.Pipelines().front();
    const std::vector<std::int64_t> open = main.OpenStages();
    const auto created =
        sim.CreateLead(LeadDraft{.name = "ООО «Ромашка»: поставка",
                                 .price = 500000,
                                 .status_id = open[0],
                                 .responsible_user_id = 8000002,
                                 .fields = {{900003, {FieldValue{.enum_id = 950001}}},
                                            {900002, {FieldValue{.value = "1793577600"}}},
                                            {900001, {FieldValue{.value = "500000"}}}}},
                       8000002);
    REQUIRE(created);
    clock.Advance(Duration{600});
    REQUIRE(sim.MoveLead(*created, open[1], 0, 8000002));
    REQUIRE(receiver.WaitFor(1));
    REQUIRE(sim.WaitWebhooksIdle());

    const std::vector<testing::Received> all = receiver.All();
    REQUIRE(all.size() == 1);  // add_lead is not subscribed
    CHECK(all[0].content_type == "application/x-www-form-urlencoded");
    CHECK(all[0].user_agent == "amoCRM-WebHook-client/1.0");
    CHECK(all[0].body.find("leads%5Bstatus%5D%5B0%5D%5Bid%5D=") == 0);
    const auto form = FormMap(all[0].body);
    CHECK(form.at("leads[status][0][id]") == std::to_string(*created));
    CHECK(form.at("leads[status][0][name]") == "ООО «Ромашка»: поставка");
    CHECK(form.at("leads[status][0][status_id]") == std::to_string(open[1]));
    CHECK(form.at("leads[status][0][old_status_id]") == std::to_string(open[0]));
    CHECK(form.at("leads[status][0][pipeline_id]") == std::to_string(main.id));
    CHECK(form.at("leads[status][0][price]") == "500000");
    CHECK(form.at("leads[status][0][responsible_user_id]") == "8000002");
    CHECK(form.at("leads[status][0][modified_user_id]") == "8000002");
    CHECK(form.at("leads[status][0][last_modified]") == std::to_string(ToEpoch(clock.Now())));
    CHECK(form.at("leads[status][0][updated_at]") == std::to_string(ToEpoch(clock.Now())));
    CHECK(form.at("leads[status][0][date_create]") == std::to_string(ToEpoch(clock.Now()) - 600));
    CHECK(form.at("account[subdomain]") == "sim");
    CHECK(form.at("account[id]") == std::to_string(sim.AccountId()));
    // Custom fields: select with [enum], date without the [value] level.
    CHECK(form.at("leads[status][0][custom_fields][0][name]") == "Источник");
    CHECK(form.at("leads[status][0][custom_fields][0][values][0][value]") == "Сайт");
    CHECK(form.at("leads[status][0][custom_fields][0][values][0][enum]") == "950001");
    CHECK(form.at("leads[status][0][custom_fields][1][name]") == "Дата оплаты");
    CHECK(form.at("leads[status][0][custom_fields][1][values][0]") == "1793577600");
    CHECK(form.count("leads[status][0][custom_fields][1][values][0][value]") == 0);
    CHECK(sim.Stats().webhooks.delivered == 1);
}

TEST_CASE("Simulator sends webhooks for funnelguard's own API writes too") {
    ManualClock clock(testing::Start());
    Simulator sim(Quiet(clock, 5));
    REQUIRE(sim.Start());
    Receiver receiver;
    testing::Subscribe(sim, receiver.Url(), kAll);
    auto client = Client(sim);
    const SimPipeline main = sim.Pipelines().front();
    const std::int64_t lead_id =
        Json(client.Get("/api/v4/leads?limit=1"))["_embedded"]["leads"][0]["id"];
    const std::int64_t old_status = sim.GetLead(lead_id)->status_id;
    const std::int64_t target =
        old_status == main.OpenStages()[0] ? main.OpenStages()[1] : main.OpenStages()[0];

    // A revert by the robot (updated_by 0): one POST with leads[update] and leads[status].
    const json patch = json::array(
        {{{"id", lead_id}, {"status_id", target}, {"pipeline_id", main.id}, {"updated_by", 0}}});
    const auto patched = client.Patch("/api/v4/leads", patch.dump(), "application/json");
    REQUIRE(patched);
    REQUIRE(patched->status == 200);
    REQUIRE(receiver.WaitFor(1));
    auto form = FormMap(receiver.All()[0].body);
    CHECK(form.at("leads[update][0][id]") == std::to_string(lead_id));
    CHECK(form.at("leads[update][0][modified_user_id]") == "0");
    CHECK(form.at("leads[status][0][status_id]") == std::to_string(target));
    CHECK(form.at("leads[status][0][old_status_id]") == std::to_string(old_status));

    // A task and a note posted by funnelguard.
    const std::int64_t due = ToEpoch(clock.Now()) + 86400;
    const json task = json::array({{{"text", "Запланируйте следующий шаг"},
                                    {"complete_till", due},
                                    {"entity_id", lead_id},
                                    {"entity_type", "leads"}}});
    REQUIRE(client.Post("/api/v4/tasks", task.dump(), "application/json")->status == 200);
    REQUIRE(receiver.WaitFor(2));
    form = FormMap(receiver.All()[1].body);
    CHECK(form.at("task[add][0][element_id]") == std::to_string(lead_id));
    CHECK(form.at("task[add][0][element_type]") == "2");
    CHECK(form.at("task[add][0][text]") == "Запланируйте следующий шаг");
    CHECK(form.at("task[add][0][status]") == "0");
    CHECK(form.at("task[add][0][complete_before]") == std::to_string(due));
    CHECK(form.at("task[add][0][complete_till]") ==
          "2026-11-03 09:00:00");  // UTC, as the reference sample

    const json note = json::array({{{"entity_id", lead_id},
                                    {"note_type", "common"},
                                    {"params", {{"text", "Этап пропущен"}}}}});
    REQUIRE(client.Post("/api/v4/leads/notes", note.dump(), "application/json")->status == 200);
    REQUIRE(receiver.WaitFor(3));
    form = FormMap(receiver.All()[2].body);
    CHECK(form.at("leads[note][0][note][text]") == "Этап пропущен");
    CHECK(form.at("leads[note][0][note][note_type]") == "4");
    CHECK(form.at("leads[note][0][note][element_id]") == std::to_string(lead_id));
    CHECK(form.at("leads[note][0][note][element_type]") == "2");

    // Completing the task.
    const std::int64_t task_id = sim.LeadTasks(lead_id).back().id;
    REQUIRE(sim.CompleteTask(task_id, "Готово", 8000003));
    REQUIRE(receiver.WaitFor(4));
    form = FormMap(receiver.All()[3].body);
    CHECK(form.at("task[update][0][id]") == std::to_string(task_id));
    CHECK(form.at("task[update][0][status]") == "1");
    CHECK(form.at("task[update][0][action_close]") == "1");

    // Deletion and restore.
    REQUIRE(sim.DeleteLead(lead_id, 8000001));
    REQUIRE(receiver.WaitFor(5));
    form = FormMap(receiver.All()[4].body);
    CHECK(form.at("leads[delete][0][id]") == std::to_string(lead_id));
    CHECK(form.count("leads[delete][0][name]") == 0);
    REQUIRE(sim.RestoreLead(lead_id, 8000001));
    REQUIRE(receiver.WaitFor(6));
    CHECK(FormMap(receiver.All()[5].body).at("leads[restore][0][id]") == std::to_string(lead_id));
}

TEST_CASE("Simulator retries a failed webhook on its clock and drops hooks on request") {
    ManualClock clock(testing::Start());
    Simulator sim(Quiet(clock, 3));
    REQUIRE(sim.Start());
    Receiver receiver;
    testing::Subscribe(sim, receiver.Url(), {"add_lead"});

    SUBCASE("retry after a 500") {
        receiver.Script({500});
        REQUIRE(sim.CreateLead(LeadDraft{.name = "Повтор"}, 8000002));
        REQUIRE(receiver.WaitFor(1));
        REQUIRE(sim.WaitWebhooksIdle());
        CHECK(sim.Stats().webhooks.failed == 1);
        CHECK(sim.Stats().webhooks.pending == 1);
        clock.Advance(Duration{299});
        REQUIRE(sim.WaitWebhooksIdle());
        CHECK(receiver.All().size() == 1);  // not due yet
        clock.Advance(Duration{1});
        REQUIRE(receiver.WaitFor(2));
        REQUIRE(sim.WaitWebhooksIdle());
        const auto all = receiver.All();
        CHECK(all[1].body == all[0].body);
        const WebhookStats stats = sim.Stats().webhooks;
        CHECK(stats.retried == 1);
        CHECK(stats.delivered == 1);
        CHECK(stats.pending == 0);
    }
    SUBCASE("a 404 is given up after the third attempt") {
        receiver.Script({404, 404, 404});
        REQUIRE(sim.CreateLead(LeadDraft{.name = "Потерянный"}, 8000002));
        // Each failure must be recorded (and its retry scheduled from the clock's time then)
        // before the clock moves on.
        REQUIRE(receiver.WaitFor(1));
        REQUIRE(sim.WaitWebhooksIdle());
        clock.Advance(Duration{300});
        REQUIRE(receiver.WaitFor(2));
        REQUIRE(sim.WaitWebhooksIdle());
        clock.Advance(Duration{900});
        REQUIRE(receiver.WaitFor(3));
        REQUIRE(sim.WaitWebhooksIdle());
        clock.Advance(Duration{7200});
        REQUIRE(sim.WaitWebhooksIdle());
        CHECK(receiver.All().size() == 3);
        CHECK(sim.Stats().webhooks.given_up == 1);
    }
    SUBCASE("DropWebhooks loses the next hook silently") {
        sim.DropWebhooks(1);
        REQUIRE(sim.CreateLead(LeadDraft{.name = "Пропал"}, 8000002));
        REQUIRE(sim.CreateLead(LeadDraft{.name = "Дошёл"}, 8000002));
        REQUIRE(receiver.WaitFor(1));
        REQUIRE(sim.WaitWebhooksIdle());
        const auto all = receiver.All();
        REQUIRE(all.size() == 1);
        CHECK(FormMap(all[0].body).at("leads[add][0][name]") == "Дошёл");
        CHECK(sim.Stats().webhooks.dropped == 1);
    }
}

TEST_CASE(
    "Simulator disables a webhook after more than 100 failures in two hours; registering it again "
    "re-enables it") {
    ManualClock clock(testing::Start());
    Simulator sim(Quiet(clock));
    REQUIRE(sim.Start());
    Receiver receiver;
    receiver.Script(std::vector<int>(101, 500));
    testing::Subscribe(sim, receiver.Url(), {"add_lead"});
    for (int i = 0; i < 101; ++i) {
        REQUIRE(sim.CreateLead(LeadDraft{.name = fmt::format("Сделка {}", i)}, 8000002));
    }
    REQUIRE(receiver.WaitFor(101));
    REQUIRE(sim.WaitWebhooksIdle());
    auto client = Client(sim);
    CHECK(Json(client.Get("/api/v4/webhooks"))["_embedded"]["webhooks"][0]["disabled"] == true);
    REQUIRE(sim.CreateLead(LeadDraft{.name = "Не отправится"}, 8000002));
    REQUIRE(sim.WaitWebhooksIdle());
    CHECK(receiver.All().size() == 101);
    CHECK(sim.Stats().webhooks.disabled >= 1);

    testing::Subscribe(sim, receiver.Url(), {"add_lead"});
    CHECK(Json(client.Get("/api/v4/webhooks"))["_embedded"]["webhooks"][0]["disabled"] == false);
    REQUIRE(sim.CreateLead(LeadDraft{.name = "Снова дошла"}, 8000002));
    REQUIRE(receiver.WaitFor(102));
}

TEST_CASE("Simulator webhook to an unreachable destination counts as a failure") {
    ManualClock clock(testing::Start());
    Simulator sim(Quiet(clock));
    REQUIRE(sim.Start());
    std::string url;
    {
        Receiver gone;  // bound then closed: nothing listens there any more
        url = gone.Url();
    }
    testing::Subscribe(sim, url, {"add_lead"});
    REQUIRE(sim.CreateLead(LeadDraft{.name = "x"}, 8000002));
    REQUIRE(sim.WaitWebhooksIdle());
    CHECK(sim.Stats().webhooks.failed == 1);
    CHECK(sim.Stats().webhooks.pending == 1);  // retried in 5 minutes
}

// The subscription routes (adapters/amocrm/sim/webhooks_routes.cpp).
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
