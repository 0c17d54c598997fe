// End to end against the amoCRM simulator: the simulator runs in this process (real HTTP on
// 127.0.0.1, API v4, rate limit, form webhooks with amoCRM's retry schedule), `funnelguard serve`
// runs as a subprocess registered there by `funnelguard connect`, and managers act through the
// simulator's manager operations. Everything is checked where people would see it: in the CRM.
//
// Time-based rules (grace, overdue) are judged by the minute sweep, which also runs right after
// `serve` starts; the tests restart `serve` once the grace has passed instead of waiting for the
// next clock minute, so the file stays well under a minute.
#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <thread>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "adapters/amocrm/sim/simulator.hpp"
#include "src/common/time.hpp"
#include "tests/support/process.hpp"
#include "tests/support/service.hpp"

namespace {

namespace sim = fg::adapters::amocrm::sim;
using nlohmann::json;
using namespace std::chrono_literals;
using fg::testing::Eventually;

constexpr const char* kTenant = "acme";
constexpr const char* kSecret = "hook-secret-acme-0123";
constexpr const char* kAdmin = "admin-token-0123456789";
constexpr std::int64_t kManager = 8000002;  // Иван Петров in the simulator's catalog

// A port nobody listens on right now (serve keeps it across restarts, so the webhook URL
// registered by `connect` stays valid).
std::string Config(const fg::testing::TempDir& dir, const sim::Simulator& crm, int port,
                   const std::string& rules) {
    return fmt::format(R"(
[server]
listen = "127.0.0.1:{port}"
public_url = "http://127.0.0.1:{port}"
admin_token = "{admin}"
[storage]
path = "{db}"
[log]
level = "warn"

[[tenant]]
id = "{tenant}"
crm = "amocrm"
secret = "{secret}"
timezone = "Europe/Moscow"
mode = "enforce"
  [tenant.amocrm]
  base_url = "{base}"
  token = "{token}"
  rps = 7
  [tenant.rules.actual_stage]
  enabled = false
  [tenant.rules.card_filled]
  enabled = false
{rules}
)",
                       fmt::arg("port", port), fmt::arg("admin", kAdmin),
                       fmt::arg("db", dir.File("fg.db")), fmt::arg("tenant", kTenant),
                       fmt::arg("secret", kSecret), fmt::arg("base", crm.BaseUrl()),
                       fmt::arg("token", crm.Token()), fmt::arg("rules", rules));
}

// serve as these tests run it: the helpers address kTenant with kAdmin.
class Service : public fg::testing::Service {
public:
    Service(const std::string& config_path, int port)
        : fg::testing::Service(config_path, port,
                               {.binary = FG_BINARY, .tenant = kTenant, .admin_token = kAdmin}) {}
};

std::map<std::string, std::int64_t> MainStages(const sim::Simulator& crm) {
    std::map<std::string, std::int64_t> stages;
    for (const sim::SimPipeline& pipeline : crm.Pipelines()) {
        if (pipeline.is_main) {
            for (const sim::SimStatus& status : pipeline.statuses) {
                stages[status.name] = status.id;
            }
        }
    }
    return stages;
}

std::int64_t NewLead(sim::Simulator& crm, const std::string& name) {
    auto lead = crm.CreateLead({.name = name, .responsible_user_id = kManager}, kManager);
    REQUIRE_MESSAGE(lead, name);
    return *lead;
}

// Notes and tasks that funnelguard wrote (managers in these tests act as kManager only).
std::vector<sim::SimNote> NotesByFunnelguard(const sim::Simulator& crm, std::int64_t lead) {
    std::vector<sim::SimNote> notes;
    for (const sim::SimNote& note : crm.LeadNotes(lead)) {
        if (note.created_by != kManager) {
            notes.push_back(note);
        }
    }
    return notes;
}
std::vector<sim::SimTask> TasksByFunnelguard(const sim::Simulator& crm, std::int64_t lead) {
    std::vector<sim::SimTask> tasks;
    for (const sim::SimTask& task : crm.LeadTasks(lead)) {
        if (task.created_by != kManager) {
            tasks.push_back(task);
        }
    }
    return tasks;
}
int StageChanges(const sim::Simulator& crm, std::int64_t lead) {
    int changes = 0;
    for (const sim::SimEvent& event : crm.LeadEvents(lead)) {
        changes += event.type == sim::EventType::kLeadStatusChanged ? 1 : 0;
    }
    return changes;
}

std::uint64_t CatalogReads(const sim::Simulator& crm) {
    const auto endpoints = crm.Stats().endpoints;
    const auto found = endpoints.find("GET /api/v4/users");
    return found == endpoints.end() ? 0 : found->second;
}

// serve loads the account's catalog (pipelines, users, fields) as it starts. The test's own API
// calls, `connect` and serve share the account's 7 req/s, as all of one integration's callers do,
// and amoCRM's JSON 429 asks for 300 s: the managers start once that burst is over. (A webhook
// arriving during the load is parked and requeued by it; test_engine covers that.)
// WaitQuietAccount waits until the account's rate window holds no request.
void WaitQuietAccount(const sim::Simulator& crm) {
    REQUIRE(Eventually([&] { return crm.RequestsInRateWindow() == 0; }));
}
void WaitCatalog(const sim::Simulator& crm) {
    REQUIRE(Eventually([&] { return CatalogReads(crm) > 0; }));
    WaitQuietAccount(crm);
}

// True once everything that happened so far has been handled on both sides: the simulator has no
// webhook body to deliver now, serve has processed its whole inbox and delivered every action it
// planned, and the simulator queued no new webhook meanwhile. Any reaction to what happened (a
// wrong second revert, a duplicate note or task) has reached the CRM by then, so an absence can be
// asserted: the positive marker instead of leaving "room" for a reaction to show.
// What is still going on (empty: settled), kept by Settled for the failure's message.
std::string g_unsettled;

// A webhook whose delivery failed while serve was down (the kill -9) is retried by the simulator
// as amoCRM does, 5 minutes later: not due, so not waited for.
bool Settled(const sim::Simulator& crm, Service& service) {
    const sim::WebhookStats before = crm.Stats().webhooks;
    if (!crm.WaitWebhooksIdle(std::chrono::milliseconds{0})) {
        g_unsettled =
            fmt::format("the simulator has webhook(s) to deliver now ({} pending)", before.pending);
        return false;
    }
    if (std::string busy = service.Busy(); !busy.empty()) {
        g_unsettled = std::move(busy);
        return false;
    }
    const sim::WebhookStats after = crm.Stats().webhooks;
    g_unsettled =
        fmt::format("the simulator queued {} webhook(s) meanwhile", after.queued - before.queued);
    return crm.WaitWebhooksIdle(std::chrono::milliseconds{0}) && after.queued == before.queued;
}

std::string Connect(const std::string& config) {
    return fg::testing::Connect(FG_BINARY, config, kTenant);
}

}  // namespace

TEST_CASE("amocrm: a skip is reverted with a note; a dropped webhook is repaired by reconcile") {
    sim::Simulator crm({.token = "sim-token-e2e", .seed = 7});
    REQUIRE(crm.Start());
    const auto stages = MainStages(crm);
    fg::testing::TempDir dir;
    const int port = fg::testing::StablePort();
    const std::string config = dir.Write("fg.toml", Config(dir, crm, port, R"(
  [tenant.rules.stage_order]
  actions = ["note", "revert"]
  [tenant.rules.deal_without_task]
  enabled = false
  [tenant.rules.overdue_task]
  enabled = false
)"));
    Service service(config, port);
    WaitCatalog(crm);
    Connect(config);
    REQUIRE(crm.Webhooks().size() == 1);

    // 1. A manager skips "Квалификация": funnelguard moves the lead back and explains why.
    const std::int64_t skipper = NewLead(crm, "ООО «Ромашка»");
    REQUIRE(Eventually([&] {
        const auto deal = service.Deal(skipper);
        return deal && (*deal)["stage"] == "Новая заявка";
    }));
    REQUIRE(crm.MoveLead(skipper, stages.at("КП отправлено"), 0, kManager));
    REQUIRE(Eventually([&] {
        const auto lead = crm.GetLead(skipper);
        return lead && lead->status_id == stages.at("Квалификация") &&
               !NotesByFunnelguard(crm, skipper).empty();
    }));
    // The revert's own webhook comes back: it corrects the skip and raises nothing.
    REQUIRE(Eventually([&] {
        const json resolved = service.Violations(fmt::format("state=resolved&deal={}", skipper));
        return resolved.size() == 1 && resolved[0]["resolution"] == "corrected";
    }));
    REQUIRE_MESSAGE(Eventually([&] { return Settled(crm, service); }),
                    g_unsettled);  // a second reaction would show
    const json all = service.Violations(fmt::format("state=all&deal={}", skipper));
    REQUIRE(all.size() == 1);
    CHECK(all[0]["rule"] == "stage_order");
    CHECK(all[0]["details"]["skipped"] == json::array({"Квалификация"}));
    CHECK(NotesByFunnelguard(crm, skipper).size() == 1);
    CHECK(StageChanges(crm, skipper) == 2);  // the skip and one revert
    CHECK(crm.GetLead(skipper)->status_id == stages.at("Квалификация"));
    const auto mirrored = service.Deal(skipper);
    REQUIRE(mirrored);
    CHECK((*mirrored)["stage"] == "Квалификация");
    CHECK((*mirrored)["stage_history"].back()["by_funnelguard"] == true);

    // 4. A webhook lost on the way: the mirror misses a legit move until reconcile repairs it.
    const std::int64_t quiet = NewLead(crm, "ИП Васильев");
    REQUIRE(Eventually([&] {
        const auto deal = service.Deal(quiet);
        return deal && (*deal)["stage"] == "Новая заявка";
    }));
    CHECK(crm.WaitWebhooksIdle(10'000ms));
    const auto dropped_before = crm.Stats().webhooks.dropped;
    crm.DropWebhooks(1);
    REQUIRE(crm.MoveLead(quiet, stages.at("Квалификация"), 0, kManager));
    CHECK(crm.WaitWebhooksIdle(10'000ms));
    CHECK(crm.Stats().webhooks.dropped == dropped_before + 1);
    REQUIRE_MESSAGE(Eventually([&] { return Settled(crm, service); }), g_unsettled);
    REQUIRE(service.Deal(quiet));
    CHECK((*service.Deal(quiet))["stage"] == "Новая заявка");
    std::optional<fg::Timestamp> moved_at;
    for (const sim::SimEvent& event : crm.LeadEvents(quiet)) {
        if (event.type == sim::EventType::kLeadStatusChanged) {
            moved_at = event.created_at;
        }
    }
    REQUIRE(moved_at);

    // serve keeps running: SQLite in WAL mode lets reconcile write next to it. It shares the
    // account's 7 req/s with serve, which has just fetched the leads of the webhooks above.
    WaitQuietAccount(crm);
    const auto reconciled = fg::testing::Run(
        {FG_BINARY, "reconcile", "--config", config, "--tenant", kTenant}, /*merge_stderr=*/false);
    INFO("reconcile: " << reconciled.out);
    CHECK(reconciled.status == 0);
    CHECK(reconciled.out.find("stage change(s) recovered") != std::string::npos);
    CHECK(reconciled.out.find(" 0 stage change(s) recovered") == std::string::npos);
    REQUIRE(Eventually([&] {
        const auto deal = service.Deal(quiet);
        return deal && (*deal)["stage"] == "Квалификация";
    }));
    const json history = (*service.Deal(quiet))["stage_history"];
    bool found = false;
    for (const json& change : history) {
        if (change["stage"] == "Квалификация") {
            found = true;
            const auto at = fg::ParseIso8601(change["at"].get<std::string>());
            REQUIRE(at);
            CHECK(*at == *moved_at);  // its CRM time, not when reconcile found it
            CHECK(change["by_funnelguard"] == false);
        }
    }
    CHECK(found);
    // A legit one-stage move: nothing to judge.
    CHECK(service.Violations(fmt::format("state=all&deal={}", quiet)).empty());
    CHECK(service.Stop(SIGTERM) == 0);
}

TEST_CASE(
    "amocrm: deals without tasks get one and overdue tasks a note, through a 429 storm and "
    "a kill -9") {
    // The account allows 2 requests a second while funnelguard is allowed 7: a 429 storm.
    sim::Simulator crm({.token = "sim-token-e2e", .seed = 11, .rps = 2, .retry_after_seconds = 1});
    REQUIRE(crm.Start());
    fg::testing::TempDir dir;
    const int port = fg::testing::StablePort();
    const std::string config = dir.Write("fg.toml", Config(dir, crm, port, R"(
  [tenant.rules.stage_order]
  enabled = false
  [tenant.rules.deal_without_task]
  grace = "2s"
  actions = ["task"]
  [tenant.rules.overdue_task]
  actions = ["note"]
)"));
    auto service = std::make_unique<Service>(config, port);
    WaitCatalog(crm);
    Connect(config);

    // 2. Deals left without a task (amoCRM takes tasks in batches: one call for all of them);
    // 3. deals whose task falls due in a few seconds (one call per note: enough calls for a
    // 429 storm and for a kill -9 in the middle).
    constexpr int kBare = 10;
    constexpr int kLate = 12;
    std::vector<std::int64_t> bare;
    std::vector<std::int64_t> late;
    for (int i = 0; i < kBare; ++i) {
        bare.push_back(NewLead(crm, fmt::format("ООО «Без задачи {}»", i)));
    }
    const auto due = std::chrono::time_point_cast<fg::Duration>(std::chrono::system_clock::now()) +
                     std::chrono::seconds{3};
    for (int i = 0; i < kLate; ++i) {
        late.push_back(NewLead(crm, fmt::format("АО «Просрочка {}»", i)));
        REQUIRE(crm.AddTask(late.back(), "Позвонить клиенту", due, kManager, kManager));
    }
    REQUIRE(Eventually([&] {
        for (const std::int64_t id : bare) {
            if (!service->Deal(id)) {
                return false;
            }
        }
        for (const std::int64_t id : late) {
            const auto deal = service->Deal(id);
            if (!deal || (*deal)["tasks"].size() != 1) {
                return false;
            }
        }
        return true;
    }));
    // Let the grace and the due time pass, then restart: the sweep right after start judges them.
    while (std::chrono::system_clock::now() < due + 2s) {
        std::this_thread::sleep_for(100ms);
    }
    CHECK(service->Stop(SIGTERM) == 0);
    service = std::make_unique<Service>(config, port);

    // 6. kill -9 in the middle of delivering the notes, then start again.
    const auto notes_written = [&] {
        int notes = 0;
        for (const std::int64_t id : late) {
            notes += static_cast<int>(NotesByFunnelguard(crm, id).size());
        }
        return notes;
    };
    REQUIRE(Eventually([&] { return notes_written() >= 3; }));
    const int before_kill = notes_written();
    CHECK(service->Stop(SIGKILL) == 128 + SIGKILL);
    INFO("notes written before the kill: " << before_kill);
    CHECK(before_kill < kLate);  // otherwise the kill came too late to test anything
    service = std::make_unique<Service>(config, port);

    REQUIRE(Eventually([&] {
        for (const std::int64_t id : bare) {
            if (TasksByFunnelguard(crm, id).empty()) {
                return false;
            }
        }
        return notes_written() >= kLate;
    }));
    REQUIRE_MESSAGE(Eventually([&] { return Settled(crm, *service); }),
                    g_unsettled);  // a duplicate would show
    for (const std::int64_t id : bare) {
        CHECK_MESSAGE(TasksByFunnelguard(crm, id).size() == 1, "lead ", id);
        CHECK_MESSAGE(NotesByFunnelguard(crm, id).empty(), "lead ", id);
    }
    for (const std::int64_t id : late) {
        CHECK_MESSAGE(NotesByFunnelguard(crm, id).size() == 1, "lead ", id);
        CHECK_MESSAGE(TasksByFunnelguard(crm, id).empty(), "lead ", id);
    }
    // 5. The account's limit was hit, and nothing was lost or written twice because of it.
    const sim::SimStats stats = crm.Stats();
    INFO("429s: " << stats.rate_limited << ", requests: " << stats.requests);
    CHECK(stats.rate_limited > 0);
    CHECK(stats.blocked == 0);
    CHECK(crm.NoteCount() == static_cast<std::size_t>(kLate));
    CHECK(crm.TaskCount() == static_cast<std::size_t>(kBare + kLate));

    // One violation per deal (and per task), never a second one for the same thing.
    const json without_task = service->Violations("state=all&rule=deal_without_task");
    CHECK(without_task.size() == kBare);
    std::set<std::string> deals;
    for (const json& v : without_task) {
        deals.insert(v["deal"].get<std::string>());
    }
    CHECK(deals.size() == kBare);
    const json overdue = service->Violations("state=all&rule=overdue_task");
    CHECK(overdue.size() == kLate);
    CHECK(service->Stop(SIGTERM) == 0);
}

namespace {

// A form body as amoCRM builds it (http_build_query): keys and values percent-encoded.
std::string Form(const std::vector<std::pair<std::string, std::string>>& pairs) {
    std::string body;
    for (const auto& [key, value] : pairs) {
        body += (body.empty() ? "" : "&") + httplib::detail::encode_query_param(key) + "=" +
                httplib::detail::encode_query_param(value);
    }
    return body;
}

}  // namespace

TEST_CASE("amocrm: real accounts' bodies are stored and answered 200; a bad element fails alone") {
    sim::Simulator crm({.token = "sim-token-e2e", .seed = 11});
    REQUIRE(crm.Start());
    const auto stages = MainStages(crm);
    std::int64_t main_pipeline = 0;
    for (const sim::SimPipeline& pipeline : crm.Pipelines()) {
        main_pipeline = pipeline.is_main ? pipeline.id : main_pipeline;
    }
    fg::testing::TempDir dir;
    const int port = fg::testing::StablePort();
    const std::string config = dir.Write("fg.toml", Config(dir, crm, port, R"(
  [tenant.rules.stage_order]
  actions = []
  [tenant.rules.deal_without_task]
  enabled = false
  [tenant.rules.overdue_task]
  enabled = false
)"));
    Service service(config, port);
    WaitCatalog(crm);
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(30, 0);
    const httplib::Headers headers = {
        {"User-Agent", "amoCRM-Webhooks/3.0"},
        {"X-Amocrm-Requestid", "7f2b9c1e-3d4a-4b5c-9e8f-0a1b2c3d4e5f"},
        {"Accept", "*/*"}};
    const std::string path = fmt::format("/hooks/amocrm/{}/{}", kTenant, kSecret);
    const auto post = [&](const std::string& body) {
        auto response = client.Post(path, headers, body, "application/x-www-form-urlencoded");
        REQUIRE(response);
        INFO(response->body);
        CHECK(response->status == 200);
    };
    const auto ready = client.Get("/readyz");
    REQUIRE(ready);
    CHECK(ready->status == 200);  // the catalog has loaded

    const std::string lead = "9100001";
    const std::string pipeline = std::to_string(main_pipeline);
    const std::string first = std::to_string(stages.at("Новая заявка"));
    const std::string second = std::to_string(stages.at("Квалификация"));
    const std::vector<std::pair<std::string, std::string>> account = {{"account[subdomain]", "sim"},
                                                                      {"account[id]", "31000001"}};
    // An older account's card without last_modified or updated_at, the account block first.
    auto no_time = account;
    for (const auto& pair : std::vector<std::pair<std::string, std::string>>{
             {"leads[add][0][id]", lead},
             {"leads[add][0][name]", "ООО «Без времени»"},
             {"leads[add][0][status_id]", first},
             {"leads[add][0][pipeline_id]", pipeline},
             {"leads[add][0][responsible_user_id]", std::to_string(kManager)},
             {"leads[add][0][custom_fields][0][id]", "555001"},
             {"leads[add][0][custom_fields][0][code]", "UTM_SOURCE"}}) {
        no_time.push_back(pair);
    }
    post(Form(no_time));
    // A Digital Pipeline trigger's compact move, its values in literal quotes.
    post(Form({{"leads[status][0][id]", "\"" + lead + "\""},
               {"leads[status][0][status_id]", "\"" + second + "\""},
               {"leads[status][0][pipeline_id]", "\"" + pipeline + "\""},
               {"leads[status][0][old_status_id]", "\"" + first + "\""},
               {"account[id]", "\"31000001\""}}));
    // A note without an id, and a contact's update beside it.
    post(Form({{"contacts[update][0][id]", "5001"},
               {"contacts[update][0][type]", "contact"},
               {"leads[note][0][note][text]", "Клиент просит перезвонить после обеда"},
               {"leads[note][0][note][note_type]", "4"},
               {"leads[note][0][note][element_type]", "2"},
               {"leads[note][0][note][element_id]", lead}}));
    // Only contacts: acknowledged and ignored.
    post(Form({{"contacts[add][0][id]", "5002"}, {"contacts[add][0][name]", "Иван"}}));
    // One element amoCRM would never send, next to one it would.
    post(Form({{"task[delete][0][id]", "not-a-number"}, {"leads[delete][0][id]", "9100002"}}));

    REQUIRE(Eventually([&] {
        const auto deal = service.Deal(9100001);
        return deal && (*deal)["stage"] == "Квалификация" && (*deal)["notes"].size() == 1;
    }));
    const auto deal = service.Deal(9100001);
    CHECK((*deal)["title"] == "ООО «Без времени»");  // the compact move left the card alone
    CHECK((*deal)["fields"]["UTM_SOURCE"] == "");

    httplib::Headers admin = {{"Authorization", std::string("Bearer ") + kAdmin}};
    // The bodies are processed in the order they came; the last one is the one that fails.
    REQUIRE(Eventually([&] {
        const auto listed = client.Get("/api/v1/inbox?state=failed", admin);
        return listed && listed->status == 200 && !json::parse(listed->body)["items"].empty();
    }));
    auto failed = client.Get("/api/v1/inbox?state=failed", admin);
    REQUIRE(failed);
    REQUIRE(failed->status == 200);
    const json items = json::parse(failed->body)["items"];
    REQUIRE(items.size() == 1);
    CHECK(items[0]["reason"] == "bad_element");
    CHECK(items[0]["error"] ==
          "task[delete][0][id]: not a number (\"not-a-number\") (the body's other 1 event(s) "
          "were applied)");
    auto waiting = client.Get("/api/v1/inbox?state=waiting", admin);
    REQUIRE(waiting);
    CHECK(json::parse(waiting->body)["items"].empty());
    // Any state is listed, and every answer counts them all.
    auto applied = client.Get("/api/v1/inbox?state=applied", admin);
    REQUIRE(applied);
    CHECK(applied->status == 200);
    const json listing = json::parse(applied->body);
    CHECK(listing["items"].size() == 3);
    CHECK(listing["counts"] == json{{"stored", 0},
                                    {"waiting", 0},
                                    {"fetched", 0},
                                    {"applied", 3},
                                    {"ignored", 1},
                                    {"failed", 1}});
    CHECK(client.Get("/api/v1/inbox?state=done", admin)->status == 400);
    CHECK(client.Get("/api/v1/inbox")->status == 401);

    auto metrics = client.Get("/metrics");
    REQUIRE(metrics);
    for (const char* line :
         {"funnelguard_webhooks_received_total{crm=\"amocrm\"} 5",
          "funnelguard_inbox_processed_total{crm=\"amocrm\",state=\"ignored\"} 1",
          "funnelguard_inbox_processed_total{crm=\"amocrm\",state=\"failed\"} 1",
          "funnelguard_webhook_elements_ignored_total{crm=\"amocrm\",entity=\"contacts\"} 2",
          "funnelguard_webhook_elements_failed_total{crm=\"amocrm\"} 1",
          "funnelguard_inbox_items{tenant=\"acme\",state=\"failed\",reason=\"bad_element\"} 1"}) {
        CHECK_MESSAGE(metrics->body.find(line) != std::string::npos, line);
    }

    // Not a form at all: the one 400 left for amoCRM; and a JSON body is the wrong route.
    auto broken =
        client.Post(path, headers, "leads%5Bstatus%5G=1", "application/x-www-form-urlencoded");
    REQUIRE(broken);
    CHECK(broken->status == 400);
    auto json_body = client.Post(path, headers, R"({"leads":{}})", "application/json");
    REQUIRE(json_body);
    CHECK(json_body->status == 415);

    // `inbox retry` puts the failed one back; it fails again with the same reason.
    const auto retried =
        fg::testing::Run({FG_BINARY, "inbox", "retry", "--config", config, "--tenant", kTenant});
    CHECK(retried.status == 0);
    CHECK(retried.out.find("1 webhook(s) of tenant acme put back") != std::string::npos);
    const auto listed = fg::testing::Run({FG_BINARY, "inbox", "list", "--config", config}, true);
    CHECK(listed.status == 0);
    CHECK(service.Stop(SIGTERM) == 0);
}

TEST_CASE("amocrm over HTTPS: a private CA in ca_file is trusted; without it nothing is sent") {
    fg::testing::TempDir dir;
    const std::string pki = dir.File("pki");
    const auto made = fg::testing::Run(
        {"/bin/bash", std::string(FG_SOURCE_DIR) + "/tests/interop/make_test_ca.sh", pki}, true);
    INFO(made.out);
    REQUIRE(made.status == 0);
    sim::Simulator crm({.token = "sim-token-tls",
                        .seed = 5,
                        .leads = 20,
                        .tls_cert_file = pki + "/server.pem",
                        .tls_key_file = pki + "/server.key"});
    REQUIRE(crm.Start());
    REQUIRE(crm.BaseUrl().starts_with("https://"));
    const auto config = [&](const std::string& name, const std::string& ca_line) {
        return dir.Write(
            name, fmt::format(R"(
[storage]
path = "{db}"
[log]
level = "warn"
[[tenant]]
id = "acme"
crm = "amocrm"
secret = "{secret}"
timezone = "Europe/Moscow"
mode = "observe"
  [tenant.amocrm]
  base_url = "{base}"
  token = "sim-token-tls"
  {ca}
)",
                              fmt::arg("db", dir.File(name + ".db")), fmt::arg("secret", kSecret),
                              fmt::arg("base", crm.BaseUrl()), fmt::arg("ca", ca_line)));
    };

    // Without the CA: the handshake fails, the reason says so, and the account saw no request.
    const auto refused = fg::testing::Run(
        {FG_BINARY, "reconcile", "--config", config("plain.toml", ""), "--tenant", "acme"}, true);
    CHECK(refused.status == 1);
    CHECK(refused.out.find("certificate verify failed") != std::string::npos);
    CHECK(refused.out.find("sim-token-tls") == std::string::npos);
    CHECK(crm.Stats().requests == 0);

    // With it: the account is read through the API as over plain HTTP.
    const auto trusted = fg::testing::Run(
        {FG_BINARY, "reconcile", "--config",
         config("trusted.toml", fmt::format("ca_file = \"{}/ca.pem\"", pki)), "--tenant", "acme"},
        true);
    INFO(trusted.out);
    CHECK(trusted.status == 0);
    CHECK(crm.Stats().requests > 0);
}

namespace {

// The lines of `text` that start with `prefix`.
std::vector<std::string> LinesStarting(const std::string& text, const std::string& prefix) {
    std::vector<std::string> lines;
    std::size_t at = 0;
    while (at < text.size()) {
        std::size_t end = text.find('\n', at);
        if (end == std::string::npos) {
            end = text.size();
        }
        const std::string line = text.substr(at, end - at);
        if (line.rfind(prefix, 0) == 0) {
            lines.push_back(line);
        }
        at = end + 1;
    }
    return lines;
}

bool Contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE(
    "amocrm: misspelt stage and field names are reported once the directory is known; connect "
    "replaces its own old hook; reconcile's progress adds up; check shows names and hides acks") {
    // A generous account limit: these commands each read the catalog, and a JSON 429 would ask
    // for 300 s.
    sim::Simulator crm({.token = "sim-token-e2e", .seed = 5, .leads = 30, .rps = 100});
    REQUIRE(crm.Start());
    fg::testing::TempDir dir;
    const int port = fg::testing::StablePort();
    // The rules text continues [tenant.rules.card_filled] (enabled = false).
    const std::string config = dir.Write("fg.toml", Config(dir, crm, port, R"(
  required = { "Квалификация" = ["Бюджет2", "Сумма КП"] }
  [tenant.rules.stage_order]
  create_in = ["КП отправленно"]
)"));

    // A. Offline nothing is known about the account's names; online both are reported.
    const auto offline = fg::testing::Run({FG_BINARY, "config", "check", "--config", config}, true);
    INFO(offline.out);
    CHECK(offline.status == 0);
    const auto online =
        fg::testing::Run({FG_BINARY, "config", "check", "--config", config, "--online"}, true);
    INFO(online.out);
    CHECK(online.status == 2);
    CHECK(Contains(online.out,
                   "fg.toml:26: tenant \"acme\".rules.card_filled.required.\"Квалификация\"[0]: "
                   "unknown field \"Бюджет2\" (did you mean \"Бюджет\"?)"));
    CHECK(Contains(online.out,
                   "fg.toml:28: tenant \"acme\".rules.stage_order.create_in[0]: unknown stage "
                   "\"КП отправленно\" (did you mean \"КП отправлено\"?)"));
    CHECK(online.out.find("fg.toml:26:") < online.out.find("fg.toml:28:"));  // in the file's order
    CHECK_FALSE(Contains(online.out, "Сумма КП\""));
    CHECK_FALSE(Contains(online.out, crm.Token()));

    // B. An earlier registration at another address, and another app's hook.
    httplib::Client api(crm.BaseUrl());
    const httplib::Headers auth = {{"Authorization", "Bearer " + crm.Token()}};
    const std::string stale =
        fmt::format("http://10.1.2.3:8080/hooks/amocrm/{}/{}", kTenant, kSecret);
    const std::string other = "https://other.example/amocrm/hook";
    for (const std::string& destination : {stale, other}) {
        const json body = {{"destination", destination}, {"settings", {"add_lead"}}};
        auto added = api.Post("/api/v4/webhooks", auth, body.dump(), "application/json");
        REQUIRE(added);
        REQUIRE(added->status == 200);
    }
    const std::string first = Connect(config);
    CHECK(
        Contains(first, fmt::format("connect: {}: webhook http://127.0.0.1:{}/hooks/amocrm/{}/*** "
                                    "registered; funnelguard's 1 earlier webhook(s) at another "
                                    "address removed",
                                    kTenant, port, kTenant)));
    CHECK_FALSE(Contains(first, kSecret));
    CHECK(Contains(Connect(config), "already registered\n"));  // idempotent
    std::set<std::string> destinations;
    for (const auto& webhook : crm.Webhooks()) {
        destinations.insert(webhook.destination);
    }
    CHECK(destinations ==
          std::set<std::string>{other, fmt::format("http://127.0.0.1:{}/hooks/amocrm/{}/{}", port,
                                                   kTenant, kSecret)});

    // C. Every progress line says the run's counts so far; the last one is the summary's.
    const auto reconciled =
        fg::testing::Run({FG_BINARY, "reconcile", "--config", config, "--tenant", kTenant}, true);
    INFO(reconciled.out);
    CHECK(reconciled.status == 0);
    const std::string progress_prefix = fmt::format("reconcile: {}: ", kTenant);
    std::vector<std::string> counts;
    for (const std::string& line : LinesStarting(reconciled.out, progress_prefix)) {
        if (const std::size_t at = line.find(" page(s), "); at != std::string::npos) {
            counts.push_back(line.substr(line.rfind(' ', at - 1) + 1));
        }
    }
    REQUIRE(counts.size() >= 6);  // catalog, leads, deleted leads, tasks, notes, stage changes
    CHECK(counts.front().rfind("1 page(s), ", 0) == 0);
    const auto summary = LinesStarting(reconciled.out, fmt::format("{}: ", kTenant));
    REQUIRE(summary.size() == 1);
    CHECK(Contains(summary[0], counts.back() + ";"));
    CHECK(Contains(summary[0], fmt::format("{} page(s)", counts.size())));
    // The directory is loaded: the unknown names are said, and the run completes all the same.
    CHECK(Contains(reconciled.out, progress_prefix + dir.File("fg.toml") + ":26: "));
    CHECK(Contains(reconciled.out, "unknown field \"Бюджет2\""));

    // serve: the names counted in /readyz (still ready) and /metrics.
    Service service(config, port);
    json ready;
    REQUIRE(Eventually([&] {
        auto response = service.Get("/readyz");
        if (!response || response->status != 200) {
            return false;
        }
        ready = json::parse(response->body);
        return true;
    }));
    CHECK(ready["config_problems"] == 2);
    const std::string metrics = service.Metrics();
    REQUIRE_FALSE(metrics.empty());
    CHECK(Contains(metrics,
                   fmt::format("funnelguard_config_unknown_names{{tenant=\"{}\"}} 2", kTenant)));

    // D. check names the responsible user, shows times with the tenant's offset.
    const auto as_json =
        fg::testing::Run({FG_BINARY, "check", "--config", config, "--format", "json"});
    REQUIRE(as_json.status == 0);
    const json found = json::parse(as_json.out);
    REQUIRE_FALSE(found["violations"].empty());
    CHECK(found["acknowledged_hidden"] == 0);
    std::map<std::string, std::string> names;
    for (const sim::SimUser& user : crm.Users()) {
        names[std::to_string(user.id)] = user.name;
    }
    for (const json& item : found["violations"]) {
        CHECK(item["acknowledged"] == false);
        const std::string responsible = item["responsible"];
        if (names.count(responsible) != 0) {
            CHECK(item["responsible_name"] == names[responsible]);
        }
        CHECK(item["opened_at"].get<std::string>().substr(19) == "+03:00");
        for (const char* key : {"at", "due", "left_at", "entered_at", "without_task_since"}) {
            if (item["details"].contains(key)) {
                CHECK(item["details"][key].get<std::string>().substr(19) == "+03:00");
            }
        }
        for (const char* key : {"grace", "overdue_for", "without_task_for", "in_stage_for"}) {
            if (item["details"].contains(key)) {
                const std::string duration = item["details"][key];
                CHECK_MESSAGE(duration.find(' ') == duration.rfind(' '), duration);  // two units
            }
        }
    }

    // E. An acknowledged violation is hidden, and said to be; --all shows it with ACK.
    const json open = service.Violations("state=open");
    REQUIRE_FALSE(open.empty());
    CHECK(service.Ack(open[0]["id"].get<std::int64_t>()) == 200);
    const auto table = fg::testing::Run({FG_BINARY, "check", "--config", config});
    INFO(table.out);
    REQUIRE(table.status == 0);
    CHECK(Contains(table.out, "1 acknowledged violation(s) hidden; --all shows them"));
    CHECK(Contains(table.out, "+03:00"));
    CHECK_FALSE(Contains(table.out, " ACK "));
    const auto all = fg::testing::Run({FG_BINARY, "check", "--config", config, "--all"});
    INFO(all.out);
    CHECK(Contains(all.out, " ACK "));
    CHECK_FALSE(Contains(all.out, "hidden"));
    const auto hidden_json =
        fg::testing::Run({FG_BINARY, "check", "--config", config, "--format", "json"});
    CHECK(json::parse(hidden_json.out)["acknowledged_hidden"] == 1);
    const auto all_json =
        fg::testing::Run({FG_BINARY, "check", "--config", config, "--format", "json", "--all"});
    INFO(all_json.out);
    const json all_found = json::parse(all_json.out);
    int acked = 0;
    for (const json& item : all_found["violations"]) {
        acked += item["acknowledged"].get<bool>() ? 1 : 0;
    }
    CHECK(acked == 1);
    CHECK(all_found["violations"].size() == found["violations"].size());
    CHECK(all_found["acknowledged_hidden"] == 0);
    CHECK(service.Stop(SIGTERM) == 0);
}
