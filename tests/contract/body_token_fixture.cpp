// A test adapter whose sender proves itself with a token inside the body, as Bitrix24 does
// (auth[application_token]): no registered adapter takes its credential there yet, so this keeps
// the harness's body-token path honest until Bitrix24's fixture takes it over. It speaks the
// generic JSON events with {"token": ...} beside them.
#include <nlohmann/json.hpp>

#include "adapters/generic/decoder.hpp"
#include "tests/contract/fixtures.hpp"

namespace fg::contract {
namespace {

class BodyTokenInstance final : public crm::AdapterInstance {
public:
    std::unique_ptr<crm::WebhookDecoder> MakeDecoder() override {
        return std::make_unique<adapters::generic::GenericDecoder>();
    }
    std::unique_ptr<crm::Connector> MakeConnector(const config::TenantConfig&) override {
        return nullptr;
    }
};

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
        const auto token = json.is_object() ? json.find("token") : json.end();
        return json.is_object() && token != json.end() && token->is_string()
                   ? token->get<std::string>()
                   : std::string{};
    }
    std::string_view MediaType() const override { return "application/json"; }
    std::unique_ptr<crm::AdapterInstance> Bind(const config::AppConfig&,
                                               const Clock&) const override {
        return std::make_unique<BodyTokenInstance>();
    }
};

std::string BodyTokenEvents(const char* id, const char* stage, const char* at) {
    const nlohmann::json event = {{"id", id},
                                  {"type", "deal.upserted"},
                                  {"at", at},
                                  {"deal",
                                   {{"id", "d1"},
                                    {"title", "Deal"},
                                    {"pipeline", "main"},
                                    {"stage", stage},
                                    {"responsible", "u1"}}}};
    return nlohmann::json{{"events", {event}}}.dump();
}

class BodyTokenFixture final : public Fixture {
public:
    const crm::Adapter& adapter() const override {
        static const BodyTokenAdapter adapter;
        return adapter;
    }
    bool registered() const override { return false; }

    std::string TenantToml(const std::string&) const override {
        return "  [[tenant.pipeline]]\n  id = \"main\"\n  stages = [\"Новая\", \"Успешно\"]\n"
               "  won = [\"Успешно\"]\n";
    }

    std::vector<Sample> Samples() const override {
        return {{.name = "new deal",
                 .body = BodyTokenEvents("b1", "Новая", "2026-11-02T09:00:00Z"),
                 .events = {"deal.upserted d1 main/Новая @2026-11-02T09:00:00Z"}},
                {.name = "deal won",
                 .body = BodyTokenEvents("b2", "Успешно", "2026-11-02T10:00:00Z"),
                 .events = {"deal.upserted d1 main/Успешно @2026-11-02T10:00:00Z"}}};
    }
    std::string WithBodyToken(const std::string& body, const std::string& token) const override {
        nlohmann::json json = nlohmann::json::parse(body);
        json["token"] = token;
        return json.dump();
    }

    std::string WhyNoPull() const override { return "a test adapter of the webhook path only"; }
    std::string WhyNoEcho() const override { return "a test adapter of the webhook path only"; }
    bool HasSink() const override { return false; }
    std::string WhyNoSink() const override { return "a test adapter of the webhook path only"; }
};

}  // namespace

std::unique_ptr<Fixture> MakeBodyTokenFixture() { return std::make_unique<BodyTokenFixture>(); }

}  // namespace fg::contract
