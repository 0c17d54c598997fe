// adapters/amocrm: its [tenant.amocrm] section and its place on the adapter port.
#include "adapters/amocrm/config.hpp"

#include <string>

#include <doctest/doctest.h>

#include "adapters/amocrm/adapter.hpp"
#include "src/config/config.hpp"
#include "tests/unit/config/support.hpp"

namespace fg::adapters::amocrm {
namespace {

using config::ConfigProblem;
using config::LoadResult;
using config::testing::Dump;
using config::testing::FindProblem;
using config::testing::HasProblem;
using config::testing::Load;
using config::testing::Tenant;

// A tenant whose body is `body` (starting on line 2) with one valid pipeline after it.
std::string TenantWith(const std::string& body) {
    return "[[tenant]]\n" + body +
           "[[tenant.pipeline]]\n"
           "id = \"main\"\n"
           "stages = [\"A\", \"B\"]\n";
}

// An amoCRM tenant: no pipelines (they come from the API), `section` as [tenant.amocrm].
std::string AmoTenant(const std::string& section) {
    return "[[tenant]]\nid = \"a\"\nsecret = \"s\"\ncrm = \"amocrm\"\n" + section;
}

TEST_CASE("An amoCRM tenant names its account and credentials") {
    SUBCASE("a long-lived token") {
        const LoadResult result =
            Load(AmoTenant("[tenant.amocrm]\nsubdomain = \"acme\"\ntoken = \"tok\"\nrps = 3\n"));
        INFO(Dump(result.problems));
        REQUIRE(result.ok());
        const AmoCrmSettings& amo = SettingsOf(result.config.tenants[0]);
        CHECK(amo.BaseUrl() == "https://acme.amocrm.ru");
        CHECK(amo.token == "tok");
        CHECK_FALSE(amo.UsesOAuth());
        CHECK(amo.rps == 3);
    }
    SUBCASE("OAuth 2.0 against a base_url, which wins over the subdomain") {
        const LoadResult result = Load(
            AmoTenant("[tenant.amocrm]\nsubdomain = \"acme\"\nbase_url = \"http://127.0.0.1:9/\"\n"
                      "client_id = \"id\"\nclient_secret = \"cs\"\n"
                      "redirect_uri = \"https://fg.example.com/oauth\"\n"));
        INFO(Dump(result.problems));
        REQUIRE(result.ok());
        const AmoCrmSettings& amo = SettingsOf(result.config.tenants[0]);
        CHECK(amo.BaseUrl() == "http://127.0.0.1:9");
        CHECK(amo.UsesOAuth());
        CHECK(amo.rps == 6);
    }
    SUBCASE("the section is required") {
        const LoadResult result = Load(AmoTenant(""));
        CHECK(HasProblem(result, "tenant \"a\".amocrm", "needs [tenant.amocrm]"));
    }
    SUBCASE("no account and no credentials") {
        const LoadResult result = Load(AmoTenant("[tenant.amocrm]\nrps = 2\n"));
        CHECK(HasProblem(result, "tenant \"a\".amocrm.subdomain", "required"));
        CHECK(HasProblem(result, "tenant \"a\".amocrm.client_id", "required: token, or client_id"));
    }
    SUBCASE("OAuth half configured, a bad subdomain and too fast") {
        const LoadResult result = Load(AmoTenant(
            "[tenant.amocrm]\nsubdomain = \"Acme Corp\"\nclient_id = \"id\"\nrps = 10\n"));
        CHECK(HasProblem(result, "tenant \"a\".amocrm.subdomain", "invalid subdomain"));
        CHECK(HasProblem(result, "tenant \"a\".amocrm.client_secret", "required for OAuth"));
        CHECK(HasProblem(result, "tenant \"a\".amocrm.redirect_uri", "required for OAuth"));
        const ConfigProblem* rps = FindProblem(result, "tenant \"a\".amocrm.rps");
        REQUIRE(rps != nullptr);
        CHECK(rps->line == 8);
        CHECK(rps->message.find("at most 7") != std::string::npos);
    }
    SUBCASE("both a token and OAuth") {
        const LoadResult result = Load(AmoTenant(
            "[tenant.amocrm]\nsubdomain = \"acme\"\ntoken = \"t\"\nclient_id = \"id\"\n"));
        CHECK(HasProblem(result, "tenant \"a\".amocrm.token", "not both"));
    }
    SUBCASE("pipelines come from the API, not the config") {
        const LoadResult result =
            Load(TenantWith("id = \"a\"\nsecret = \"s\"\ncrm = \"amocrm\"\n[tenant.amocrm]\n"
                            "subdomain = \"acme\"\ntoken = \"t\"\n"));
        CHECK(
            HasProblem(result, "tenant \"a\".pipeline", "reads its pipelines from the amoCRM API"));
    }
    SUBCASE("an amocrm section on a generic tenant") {
        const LoadResult result =
            Load(Tenant("[tenant.amocrm]\nsubdomain = \"acme\"\ntoken = \"t\"\n"));
        CHECK(HasProblem(result, "tenant \"acme\".amocrm", "is for crm = \"amocrm\""));
    }
    SUBCASE("an unknown key, with a suggestion") {
        const LoadResult result =
            Load(AmoTenant("[tenant.amocrm]\nsubdomain = \"acme\"\ntoken = \"t\"\nrpss = 2\n"));
        CHECK(HasProblem(result, "tenant \"a\".amocrm.rpss", "rps"));
    }
}

TEST_CASE("amoCRM webhooks carry the secret in the hook URL and are form-encoded") {
    const crm::Adapter& adapter = Adapter();
    CHECK(adapter.Name() == "amocrm");
    CHECK(adapter.WebhookCredential() == crm::Credential::kPathSegment);
    const LoadResult result = Load(
        "[[tenant]]\nid = \"a\"\nsecret = \"s3cr3t\"\ncrm = \"amocrm\"\n[tenant.amocrm]\n"
        "subdomain = \"acme\"\ntoken = \"t\"\n");
    REQUIRE(result.ok());
    CHECK(crm::HookUrl(adapter, "https://fg.example.com/", result.config.tenants[0]) ==
          "https://fg.example.com/hooks/amocrm/a/s3cr3t");
    CHECK(adapter.RefusedMediaType("application/x-www-form-urlencoded").empty());
    CHECK(adapter.RefusedMediaType("application/json").find("/hooks/generic/") !=
          std::string::npos);
    CHECK(adapter.RefusedMediaType("application/problem+json").find("form-urlencoded") !=
          std::string::npos);
}

}  // namespace
}  // namespace fg::adapters::amocrm
