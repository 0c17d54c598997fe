// The one webhook route, /hooks/<crm>/<tenant>[/<secret>]: dispatched by adapter name, each
// adapter's credential checked where it says it is (here a test adapter that takes a token in
// the body, as Bitrix24 does, beside the generic adapter's bearer token).
#include <memory>
#include <string>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "adapters/generic/adapter.hpp"
#include "adapters/generic/decoder.hpp"
#include "src/app/adapters.hpp"
#include "src/common/clock.hpp"
#include "src/config/section.hpp"
#include "src/engine/engine.hpp"
#include "src/http/server.hpp"
#include "src/storage/store.hpp"
#include "tests/support/process.hpp"

namespace fg::http {
namespace {

// Generic JSON events whose sender proves itself with {"token": ...} inside the body.
class BodyTokenAdapter final : public crm::Adapter {
public:
    std::string_view Name() const override { return "bodytoken"; }
    config::CrmSchema Schema() const override {
        return {.name = "bodytoken",
                .is_default = false,
                .pipelines_from_api = false,
                .title = "Body token",
                .parse = nullptr};
    }
    crm::Credential WebhookCredential() const override { return crm::Credential::kBodyToken; }
    std::string BodyToken(std::string_view body) const override {
        const nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
        return json.is_object() ? json.value("token", "") : std::string{};
    }
    // A body naming another account than its tenant's (as Bitrix24's auth[domain] does).
    std::string ForeignAccount(const config::TenantConfig& tenant,
                               std::string_view body) const override {
        const nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
        const std::string account = json.is_object() ? json.value("account", "") : "";
        return account.empty() || account == tenant.id ? std::string{}
                                                       : "the body is of account " + account;
    }
    std::string_view MediaType() const override { return "application/json"; }
    std::unique_ptr<crm::AdapterInstance> Bind(const config::AppConfig&,
                                               const Clock&) const override {
        return nullptr;  // the test builds its engine's decoders itself
    }
};

std::string Body(const std::string& token, const std::string& deal) {
    const nlohmann::json event = {{"id", "e-" + deal},
                                  {"type", "deal.upserted"},
                                  {"at", "2026-11-02T09:00:00+03:00"},
                                  {"deal",
                                   {{"id", deal},
                                    {"title", "Deal " + deal},
                                    {"pipeline", "main"},
                                    {"stage", "Новая"},
                                    {"responsible", "ivanova"}}}};
    return nlohmann::json{{"token", token}, {"events", {event}}}.dump();
}

struct Service {
    explicit Service(const std::string& path) : clock(FromEpoch(1793599200)) {
        config::CrmSchemas schemas = app::CrmSchemas();
        schemas.push_back(body_token.Schema());
        auto loaded = config::LoadConfigFromString(fmt::format(R"(
[storage]
path = "{}"
[server]
threads = 4
[[tenant]]
id = "acme"
crm = "bodytoken"
secret = "body-secret"
mode = "observe"
  [[tenant.pipeline]]
  id = "main"
  stages = ["Новая", "Успешно"]
  won = ["Успешно"]
[[tenant]]
id = "beta"
secret = "bearer-secret"
mode = "observe"
  [[tenant.pipeline]]
  id = "main"
  stages = ["Новая", "Успешно"]
  won = ["Успешно"]
)",
                                                               path),
                                                   "test.toml", schemas, ".");
        for (const auto& problem : loaded.problems) {
            FAIL(config::FormatProblem(problem));
        }
        config = std::move(loaded.config);
        engine::EngineOptions options;
        options.config = &config;
        options.clock = &clock;
        options.decoders.emplace("generic", std::make_unique<adapters::generic::GenericDecoder>());
        options.decoders.emplace("bodytoken",
                                 std::make_unique<adapters::generic::GenericDecoder>());
        options.timers = false;
        options.deliver = false;
        options.background = false;
        engine = std::make_unique<engine::Engine>(std::move(options));
        const Result<void> started = engine->Start();
        REQUIRE_MESSAGE(started, (started ? "" : started.error().message));
        server = std::make_unique<Server>(
            *engine, crm::AdapterList{&adapters::generic::Adapter(), &body_token});
        const Result<int> port = server->Bind("127.0.0.1:0");
        REQUIRE(port);
        server->Start();
        client = std::make_unique<httplib::Client>("127.0.0.1", *port);
    }
    ~Service() {
        server->Stop();
        engine->Stop();
    }

    // Whether the mirror holds the deal once everything stored was processed.
    bool Mirrored(const std::string& tenant, const std::string& deal) {
        REQUIRE(engine->Drain());
        auto reader = engine->OpenReader();
        REQUIRE(reader);
        return storage::LoadSnapshot(**reader, tenant, deal).has_value();
    }

    BodyTokenAdapter body_token;
    config::AppConfig config{};
    ManualClock clock;
    std::unique_ptr<engine::Engine> engine;
    std::unique_ptr<Server> server;
    std::unique_ptr<httplib::Client> client;
};

TEST_CASE("A token inside the body is checked once the body is read") {
    testing::TempDir dir;
    Service service(dir.File("fg.db"));
    auto wrong =
        service.client->Post("/hooks/bodytoken/acme", Body("guess", "d1"), "application/json");
    REQUIRE(wrong);
    CHECK(wrong->status == 401);
    CHECK(wrong->body.find("token in the body") != std::string::npos);
    auto missing =
        service.client->Post("/hooks/bodytoken/acme", R"({"events":[]})", "application/json");
    REQUIRE(missing);
    CHECK(missing->status == 401);
    CHECK_FALSE(service.Mirrored("acme", "d1"));

    auto right = service.client->Post("/hooks/bodytoken/acme", Body("body-secret", "d2"),
                                      "application/json");
    REQUIRE(right);
    CHECK(right->status == 200);
    CHECK(right->body == R"({"status":"stored"})");
    CHECK(service.Mirrored("acme", "d2"));
}

TEST_CASE("A body of another account is refused with its reason although its token is right") {
    testing::TempDir dir;
    Service service(dir.File("fg.db"));
    nlohmann::json body = nlohmann::json::parse(Body("body-secret", "d7"));
    body["account"] = "other";
    auto foreign = service.client->Post("/hooks/bodytoken/acme", body.dump(), "application/json");
    REQUIRE(foreign);
    CHECK(foreign->status == 403);
    CHECK(foreign->body.find("the body is of account other") != std::string::npos);
    CHECK_FALSE(service.Mirrored("acme", "d7"));
    body["account"] = "acme";
    auto own = service.client->Post("/hooks/bodytoken/acme", body.dump(), "application/json");
    REQUIRE(own);
    CHECK(own->status == 200);
    CHECK(service.Mirrored("acme", "d7"));
}

TEST_CASE("Each route takes its adapter's credential, and only its own tenants") {
    testing::TempDir dir;
    Service service(dir.File("fg.db"));
    SUBCASE("the generic adapter's bearer token") {
        auto stored =
            service.client->Post("/hooks/generic/beta", {{"Authorization", "Bearer bearer-secret"}},
                                 Body("", "d3"), "application/json");
        REQUIRE(stored);
        CHECK(stored->status == 200);
        CHECK(service.Mirrored("beta", "d3"));
        auto refused =
            service.client->Post("/hooks/generic/beta", {{"Authorization", "Bearer body-secret"}},
                                 Body("", "d4"), "application/json");
        REQUIRE(refused);
        CHECK(refused->status == 401);
        CHECK(refused->get_header_value("WWW-Authenticate") == "Bearer");
    }
    SUBCASE("a tenant at another adapter's route is unknown there") {
        auto other =
            service.client->Post("/hooks/generic/acme", {{"Authorization", "Bearer body-secret"}},
                                 Body("body-secret", "d5"), "application/json");
        REQUIRE(other);
        CHECK(other->status == 404);
        CHECK(other->body.find("unknown tenant") != std::string::npos);
    }
    SUBCASE("no such adapter, or a secret segment for an adapter that takes none") {
        for (const std::string path : {"/hooks/nosuch/acme", "/hooks/bodytoken/acme/body-secret",
                                       "/hooks/generic/beta/bearer-secret"}) {
            CAPTURE(path);
            auto response =
                service.client->Post(path, Body("body-secret", "d6"), "application/json");
            REQUIRE(response);
            CHECK(response->status == 404);
        }
        CHECK_FALSE(service.Mirrored("acme", "d6"));
    }
}

}  // namespace
}  // namespace fg::http
