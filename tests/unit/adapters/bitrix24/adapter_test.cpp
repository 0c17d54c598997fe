// adapters/bitrix24: its place on the adapter port (credential, media type, scrubbing, binding).
#include "adapters/bitrix24/adapter.hpp"

#include <doctest/doctest.h>

#include "src/app/adapters.hpp"
#include "src/config/config.hpp"

namespace fg::adapters::bitrix24 {
namespace adapter_test {

config::LoadResult Load(const std::string& text) {
    return config::LoadConfigFromString(text, "test.toml", config::Schemas(app::CrmSchemas(), {}),
                                        "/cfg");
}

constexpr const char* kConfig =
    "[[tenant]]\nid = \"a\"\nsecret = \"app-token-1\"\ncrm = \"bitrix24\"\n"
    "[tenant.bitrix24]\nportal_url = \"https://acme.bitrix24.ru\"\nwebhook_user = 1\n"
    "webhook_token = \"wh\"\n"
    "[[tenant]]\nid = \"b\"\nsecret = \"app-token-2\"\ncrm = \"bitrix24\"\n"
    "[tenant.bitrix24]\nportal_url = \"https://acme.bitrix24.ru\"\nwebhook_user = 7\n"
    "webhook_token = \"wh2\"\n";

TEST_CASE("Bitrix24 is registered, takes its token in the body and posts forms") {
    const crm::Adapter* adapter = crm::FindAdapter(app::CrmAdapters(), "bitrix24");
    REQUIRE(adapter == &Adapter());
    CHECK(adapter->WebhookCredential() == crm::Credential::kBodyToken);
    CHECK(adapter->MediaType() == "application/x-www-form-urlencoded");
    CHECK(adapter->RefusedMediaType("application/x-www-form-urlencoded").empty());
    CHECK(adapter->RefusedMediaType("application/json").find("/hooks/generic/") !=
          std::string::npos);
    CHECK(adapter->BodyToken("event=ONCRMDEALADD&auth%5Bapplication_token%5D=app-token-1") ==
          "app-token-1");
    CHECK(adapter->BodyToken("event=ONCRMDEALADD").empty());
    const std::string scrubbed = adapter->Scrub(
        "event=ONCRMDEALUPDATE&data[FIELDS][ID]=1&auth[access_token]=at-secret&auth[refresh_"
        "token]=rt-secret&auth[application_token]=app-token-1&auth[domain]=x.bitrix24.ru");
    CHECK(scrubbed == "event=ONCRMDEALUPDATE&data[FIELDS][ID]=1&auth[domain]=x.bitrix24.ru");
}

TEST_CASE("Bound: a decoder, and per tenant a connector and a fetcher on the configured portal") {
    const config::LoadResult loaded = Load(kConfig);
    REQUIRE(loaded.ok());
    const ManualClock clock(*ParseIso8601("2026-11-02T09:00:00Z"));
    const std::unique_ptr<crm::AdapterInstance> instance = Adapter().Bind(loaded.config, clock);
    REQUIRE(instance != nullptr);
    CHECK(instance->MakeDecoder()->Name() == "bitrix24");
    const config::TenantConfig& tenant = loaded.config.tenants[0];
    CHECK(instance->MakeConnector(tenant) != nullptr);
    CHECK(instance->MakeFetcher(tenant) != nullptr);
    CHECK(instance->ApiUrl(tenant) == "https://acme.bitrix24.ru");
    CHECK(tenant.deal_url == "https://acme.bitrix24.ru/crm/deal/details/{deal}/");
    CHECK(crm::HookUrl(Adapter(), "https://fg.example.com/", tenant) ==
          "https://fg.example.com/hooks/bitrix24/a");
}

TEST_CASE("A body is foreign to a tenant whose portal it does not name") {
    const config::LoadResult loaded = Load(
        "[[tenant]]\nid = \"a\"\nsecret = \"app-token-1\"\ncrm = \"bitrix24\"\n"
        "[tenant.bitrix24]\nportal_url = \"https://acme.bitrix24.ru\"\nclient_id = \"local.1\"\n"
        "client_secret = \"cs\"\ntoken_file = \"t.json\"\n"
        "member_id = \"d897063e1ce7c5eb9f04b9751eef5915\"\n"
        "[[tenant]]\nid = \"sim\"\nsecret = \"app-token-2\"\ncrm = \"bitrix24\"\n"
        "[tenant.bitrix24]\nportal_url = \"http://127.0.0.1:9100\"\nwebhook_user = 1\n"
        "webhook_token = \"wh\"\n");
    REQUIRE(loaded.ok());
    const config::TenantConfig& acme = loaded.config.tenants[0];
    const config::TenantConfig& sim = loaded.config.tenants[1];
    const std::string own =
        "event=ONCRMDEALUPDATE&data[FIELDS][ID]=1&auth[domain]=acme.bitrix24.ru&"
        "auth[member_id]=d897063e1ce7c5eb9f04b9751eef5915&auth[application_token]=app-token-1";
    CHECK(Adapter().ForeignAccount(acme, own).empty());
    const std::string other_domain =
        "event=ONCRMDEALUPDATE&data[FIELDS][ID]=1&auth[domain]=evil.bitrix24.ru&"
        "auth[member_id]=d897063e1ce7c5eb9f04b9751eef5915&auth[application_token]=app-token-1";
    CHECK(Adapter().ForeignAccount(acme, other_domain).find("evil.bitrix24.ru") !=
          std::string::npos);
    const std::string other_member =
        "event=ONCRMDEALUPDATE&data[FIELDS][ID]=1&auth[domain]=acme.bitrix24.ru&"
        "auth[member_id]=00000000000000000000000000000000&auth[application_token]=app-token-1";
    CHECK(Adapter().ForeignAccount(acme, other_member).find("member_id") != std::string::npos);
    // A portal reached by address (the simulator) names itself otherwise: not checked.
    CHECK(Adapter().ForeignAccount(sim, other_domain).empty());
}

}  // namespace adapter_test
}  // namespace fg::adapters::bitrix24
