// GET /api/v1/inbox and the inbox's /metrics lines through a webhook's life in the fetch stage:
// stored, waiting, fetched, applied, each listed with its reason and counted.
#include <memory>
#include <string>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "adapters/generic/adapter.hpp"
#include "src/app/adapters.hpp"
#include "src/engine/engine.hpp"
#include "src/http/server.hpp"
#include "tests/support/process.hpp"
#include "tests/support/thin_adapter.hpp"

namespace fg::http {
namespace {

using nlohmann::json;

constexpr const char* kAdminToken = "inbox-admin-token";

struct ThinService {
    explicit ThinService(const std::string& path) : thin(api.Url()), clock(FromEpoch(1793599200)) {
        config::CrmSchemas schemas = app::CrmSchemas();
        schemas.push_back(thin.Schema());
        auto loaded = config::LoadConfigFromString(fmt::format(R"(
[storage]
path = "{}"
[server]
threads = 4
admin_token = "{}"
[[tenant]]
id = "acme"
crm = "thin"
secret = "thin-secret"
mode = "observe"
  [[tenant.pipeline]]
  id = "main"
  stages = ["Новая", "Успешно"]
  won = ["Успешно"]
)",
                                                               path, kAdminToken),
                                                   "test.toml", schemas, ".");
        for (const auto& problem : loaded.problems) {
            FAIL(config::FormatProblem(problem));
        }
        config = std::move(loaded.config);
        instance = thin.Bind(config, clock);
        engine::EngineOptions options;
        options.config = &config;
        options.clock = &clock;
        options.decoders.emplace("thin", instance->MakeDecoder());
        options.make_fetcher = [this](const config::TenantConfig& tenant) {
            return instance->MakeFetcher(tenant);
        };
        options.timers = false;
        options.deliver = false;
        options.background = false;
        engine = std::make_unique<engine::Engine>(std::move(options));
        const Result<void> started = engine->Start();
        REQUIRE_MESSAGE(started, (started ? "" : started.error().message));
        server = std::make_unique<Server>(*engine,
                                          crm::AdapterList{&adapters::generic::Adapter(), &thin});
        const Result<int> port = server->Bind("127.0.0.1:0");
        REQUIRE(port);
        server->Start();
        client = std::make_unique<httplib::Client>("127.0.0.1", *port);
    }
    ~ThinService() {
        server->Stop();
        engine->Stop();
    }

    json Inbox(const std::string& query, int status = 200) {
        auto response = client->Get("/api/v1/inbox" + query,
                                    {{"Authorization", std::string("Bearer ") + kAdminToken}});
        REQUIRE(response);
        CHECK(response->status == status);
        return json::parse(response->body);
    }
    std::string Metrics() {
        auto response = client->Get("/metrics");
        REQUIRE(response);
        return response->body;
    }

    testing::FakeDealsApi api;
    testing::ThinAdapter thin;
    config::AppConfig config{};
    ManualClock clock;
    std::unique_ptr<crm::AdapterInstance> instance;
    std::unique_ptr<engine::Engine> engine;
    std::unique_ptr<Server> server;
    std::unique_ptr<httplib::Client> client;
};

json Counts(int stored, int waiting, int fetched, int applied, int ignored, int failed) {
    return {{"stored", stored},   {"waiting", waiting}, {"fetched", fetched},
            {"applied", applied}, {"ignored", ignored}, {"failed", failed}};
}

TEST_CASE("The inbox route lists and counts every state a thin webhook passes through") {
    testing::TempDir dir;
    ThinService service(dir.File("fg.db"));
    service.api.Put("101", "Новая", "2026-11-02T08:00:00+03:00");
    auto posted =
        service.client->Post("/hooks/thin/acme", {{"Authorization", "Bearer thin-secret"}},
                             R"({"deals": ["101"]})", "application/json");
    REQUIRE(posted);
    CHECK(posted->status == 200);
    CHECK(service.api.Calls() == 0);  // the 200 waited for no CRM call

    json stored = service.Inbox("?state=stored");
    REQUIRE(stored["items"].size() == 1);
    CHECK(stored["items"][0]["state"] == "stored");
    CHECK(stored["counts"] == Counts(1, 0, 0, 0, 0, 0));

    REQUIRE(service.engine->Drain());
    json waiting = service.Inbox("?state=waiting&tenant=acme");
    REQUIRE(waiting["items"].size() == 1);
    const json& item = waiting["items"][0];
    CHECK(item["reason"] == "fetch");
    CHECK(item["attempts"] == 0);
    // In the tenant's time zone, as every time the API shows.
    CHECK(item["next_attempt_at"] == "2026-11-02T09:00:00+03:00");
    CHECK(item["waiting_since"] == "2026-11-02T09:00:00+03:00");
    CHECK(waiting["counts"] == Counts(0, 1, 0, 0, 0, 0));
    CHECK(service.Metrics().find(
              "funnelguard_inbox_items{tenant=\"acme\",state=\"waiting\",reason=\"fetch\"} 1") !=
          std::string::npos);

    REQUIRE(service.engine->Fetch());
    json fetched = service.Inbox("?state=fetched");
    REQUIRE(fetched["items"].size() == 1);
    CHECK(fetched["items"][0]["fetched_at"] == "2026-11-02T09:00:00+03:00");
    CHECK(fetched["counts"] == Counts(0, 0, 1, 0, 0, 0));

    REQUIRE(service.engine->Drain());
    json applied = service.Inbox("?state=applied");
    REQUIRE(applied["items"].size() == 1);
    CHECK(applied["items"][0]["reason"] == "fetch");
    CHECK(applied["counts"] == Counts(0, 0, 0, 1, 0, 0));
    CHECK(service.Inbox("")["items"].empty());  // failed, by default
    CHECK(service.Inbox("?tenant=beta")["counts"] == Counts(0, 0, 0, 0, 0, 0));
    const std::string metrics = service.Metrics();
    CHECK(metrics.find(
              "funnelguard_inbox_items{tenant=\"acme\",state=\"applied\",reason=\"fetch\"} 1") !=
          std::string::npos);
    CHECK(metrics.find("funnelguard_inbox_items{tenant=\"acme\",state=\"waiting\"") ==
          std::string::npos);
    CHECK(metrics.find("funnelguard_fetches_total{crm=\"thin\",what=\"reference\",outcome="
                       "\"fetched\"} 1") != std::string::npos);

    CHECK(service.Inbox("?state=done", 400)["error"] ==
          "state must be stored, waiting, fetched, applied, ignored or failed");
}

}  // namespace
}  // namespace fg::http
