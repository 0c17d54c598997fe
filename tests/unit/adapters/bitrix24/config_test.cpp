// adapters/bitrix24: its [tenant.bitrix24] section.
#include "adapters/bitrix24/config.hpp"

#include <algorithm>
#include <string>

#include <doctest/doctest.h>

#include "src/app/adapters.hpp"
#include "src/config/config.hpp"
#include "tests/unit/config/support.hpp"

namespace fg::adapters::bitrix24 {
namespace config_test {

using config::ConfigProblem;
using config::LoadResult;
using config::testing::Dump;
using config::testing::FindProblem;
using config::testing::HasProblem;

config::CrmSchemas SchemasWithBitrix24() {
    config::CrmSchemas schemas = app::CrmSchemas();
    if (std::none_of(schemas.begin(), schemas.end(),
                     [](const config::CrmSchema& schema) { return schema.name == "bitrix24"; })) {
        schemas.push_back(Schema());
    }
    return schemas;
}

LoadResult Load(const std::string& text) {
    return config::LoadConfigFromString(text, "test.toml",
                                        config::Schemas(SchemasWithBitrix24(), {}), "/cfg");
}

// A Bitrix24 tenant (lines 1-4) whose [tenant.bitrix24] is line 5, `keys` from line 6 on.
std::string B24Tenant(const std::string& keys) {
    return "[[tenant]]\nid = \"a\"\nsecret = \"app-token-s3cr3t\"\ncrm = \"bitrix24\"\n"
           "[tenant.bitrix24]\n" +
           keys;
}

constexpr const char* kPortal = "portal_url = \"https://acme.bitrix24.ru/\"\n";

std::string AllProblems(const LoadResult& result) { return Dump(result.problems); }

TEST_CASE("A Bitrix24 tenant calls its portal through an inbound webhook") {
    const LoadResult result =
        Load(B24Tenant(std::string(kPortal) + "webhook_user = 1\nwebhook_token = \"wh-tok\"\n"));
    INFO(AllProblems(result));
    REQUIRE(result.ok());
    const Bitrix24Settings& b24 = SettingsOf(result.config.tenants[0]);
    CHECK(b24.portal_url == "https://acme.bitrix24.ru");
    CHECK(b24.webhook_user == 1);
    CHECK(b24.webhook_token == "wh-tok");
    CHECK_FALSE(b24.UsesOAuth());
    CHECK(b24.rate == 2);
    CHECK(b24.burst == 50);
    CHECK(b24.deal_tasks == DealTasks::kBoth);
    CHECK(b24.write_tasks_as == WriteTasksAs::kTodo);
    CHECK(b24.DealUrl() == "https://acme.bitrix24.ru/crm/deal/details/{deal}/");
    CHECK(result.config.tenants[0].deal_url == "https://acme.bitrix24.ru/crm/deal/details/{deal}/");
}

TEST_CASE("A Bitrix24 tenant calls its portal as a local OAuth app, at an Enterprise pace") {
    const LoadResult result =
        Load(B24Tenant("portal_url = \"http://127.0.0.1:9100\"\nclient_id = \"local.5f2b\"\n"
                       "client_secret = \"cs\"\ntoken_file = \"b24-acme.json\"\n"
                       "oauth_url = \"http://127.0.0.1:9100/\"\nrate = 5\nburst = 250\n"
                       "deal_tasks = \"tasks\"\nwrite_tasks_as = \"task\"\n"));
    INFO(AllProblems(result));
    REQUIRE(result.ok());
    const Bitrix24Settings& b24 = SettingsOf(result.config.tenants[0]);
    CHECK(b24.UsesOAuth());
    CHECK(b24.token_file == "/cfg/b24-acme.json");
    CHECK(b24.oauth_url == "http://127.0.0.1:9100");
    CHECK(b24.rate == 5);
    CHECK(b24.burst == 250);
    CHECK(b24.deal_tasks == DealTasks::kTasks);
    CHECK(b24.write_tasks_as == WriteTasksAs::kTask);
}

TEST_CASE("[tenant.bitrix24] problems name file, line and key, and never a secret") {
    SUBCASE("the section is required") {
        const LoadResult result =
            Load("[[tenant]]\nid = \"a\"\nsecret = \"s\"\ncrm = \"bitrix24\"\n");
        CHECK(HasProblem(result, "tenant \"a\".bitrix24", "needs [tenant.bitrix24]"));
    }
    SUBCASE("no portal and no credentials") {
        const LoadResult result = Load(B24Tenant("rate = 2\n"));
        CHECK(HasProblem(result, "tenant \"a\".bitrix24.portal_url", "required"));
        CHECK(HasProblem(result, "tenant \"a\".bitrix24.webhook_token",
                         "required: webhook_user and webhook_token"));
    }
    SUBCASE("both an inbound webhook and an OAuth app") {
        const LoadResult result =
            Load(B24Tenant(std::string(kPortal) +
                           "webhook_user = 1\nwebhook_token = \"wh-s3cr3t\"\nclient_id = \"c\"\n"
                           "client_secret = \"cs-s3cr3t\"\ntoken_file = \"t.json\"\n"));
        const ConfigProblem* problem = FindProblem(result, "tenant \"a\".bitrix24.webhook_token");
        REQUIRE(problem != nullptr);
        CHECK(problem->file == "test.toml");
        CHECK(problem->line == 8);
        CHECK(problem->message.find("not both") != std::string::npos);
        CHECK(AllProblems(result).find("s3cr3t") == std::string::npos);
    }
    SUBCASE("half an OAuth app") {
        const LoadResult result = Load(B24Tenant(std::string(kPortal) + "client_id = \"c\"\n"));
        CHECK(HasProblem(result, "tenant \"a\".bitrix24.client_secret", "local OAuth app"));
        CHECK(HasProblem(result, "tenant \"a\".bitrix24.token_file", "local OAuth app"));
    }
    SUBCASE("half an inbound webhook, with a bad user") {
        const LoadResult result = Load(B24Tenant(std::string(kPortal) + "webhook_user = 0\n"));
        CHECK(HasProblem(result, "tenant \"a\".bitrix24.webhook_user", "positive user id"));
        CHECK(HasProblem(result, "tenant \"a\".bitrix24.webhook_token", "inbound webhook"));
    }
    SUBCASE("a whole webhook URL as the token is refused without repeating it") {
        const LoadResult result = Load(B24Tenant(
            std::string(kPortal) +
            "webhook_user = 1\nwebhook_token = \"https://acme.bitrix24.ru/rest/1/s3cr3t/\"\n"));
        CHECK(HasProblem(result, "tenant \"a\".bitrix24.webhook_token", "not the URL"));
        CHECK(AllProblems(result).find("s3cr3t") == std::string::npos);
    }
    SUBCASE("portal_url must be http(s), and plain http only to loopback") {
        const LoadResult ftp =
            Load(B24Tenant("portal_url = \"ftp://acme\"\nwebhook_user = 1\n"
                           "webhook_token = \"t\"\n"));
        CHECK(HasProblem(ftp, "tenant \"a\".bitrix24.portal_url", "http:// or https://"));
        const LoadResult clear = Load(B24Tenant(
            "portal_url = \"http://acme.bitrix24.ru\"\nwebhook_user = 1\nwebhook_token = \"t\"\n"));
        const ConfigProblem* problem = FindProblem(clear, "tenant \"a\".bitrix24.portal_url");
        REQUIRE(problem != nullptr);
        CHECK(problem->line == 6);
        CHECK(problem->message.find("unencrypted") != std::string::npos);
    }
    SUBCASE("rate and burst are positive, the enums known") {
        const LoadResult result =
            Load(B24Tenant(std::string(kPortal) +
                           "webhook_user = 1\nwebhook_token = \"t\"\nrate = 0\nburst = -3\n"
                           "deal_tasks = \"calls\"\nwrite_tasks_as = \"note\"\n"));
        CHECK(HasProblem(result, "tenant \"a\".bitrix24.rate", "greater than 0"));
        CHECK(HasProblem(result, "tenant \"a\".bitrix24.burst", "positive"));
        CHECK(HasProblem(result, "tenant \"a\".bitrix24.deal_tasks",
                         "one of \"todos\", \"tasks\", \"both\""));
        CHECK(HasProblem(result, "tenant \"a\".bitrix24.write_tasks_as", "one of \"todo\""));
        const ConfigProblem* rate = FindProblem(result, "tenant \"a\".bitrix24.rate");
        REQUIRE(rate != nullptr);
        CHECK(rate->line == 9);
    }
    SUBCASE("an unknown key") {
        const LoadResult result = Load(
            B24Tenant(std::string(kPortal) + "webhook_user = 1\nwebhook_token = \"t\"\nrps = 2\n"));
        CHECK(FindProblem(result, "tenant \"a\".bitrix24.rps") != nullptr);
    }
    SUBCASE("pipelines come from the API") {
        const LoadResult result =
            Load(B24Tenant(std::string(kPortal) + "webhook_user = 1\nwebhook_token = \"t\"\n") +
                 "[[tenant.pipeline]]\nid = \"main\"\nstages = [\"A\", \"B\"]\n");
        CHECK(FindProblem(result, "tenant \"a\".pipeline") != nullptr);
    }
}

TEST_CASE("The portal's identity: domain from portal_url's host or set, member_id when set") {
    const auto settings = [](const std::string& keys) {
        const LoadResult result =
            Load(B24Tenant(keys + "webhook_user = 1\nwebhook_token = \"t\"\n"));
        INFO(AllProblems(result));
        REQUIRE(result.ok());
        return SettingsOf(result.config.tenants[0]);
    };
    CHECK(settings(kPortal).domain == "acme.bitrix24.ru");
    CHECK(settings(kPortal).member_id.empty());
    CHECK(settings("portal_url = \"https://crm.internal:8443\"\ndomain = \"CRM.Acme.com\"\n")
              .domain == "crm.acme.com");
    CHECK(settings("portal_url = \"http://127.0.0.1:9100\"\n").domain.empty());
    CHECK(settings("portal_url = \"https://10.0.0.5\"\n").domain.empty());
    CHECK(settings(std::string(kPortal) + "member_id = \"d897063e1ce7c5eb9f04b9751eef5915\"\n")
              .member_id == "d897063e1ce7c5eb9f04b9751eef5915");

    const LoadResult bad =
        Load(B24Tenant(std::string(kPortal) +
                       "webhook_user = 1\nwebhook_token = \"t\"\ndomain = \"https://x.ru/\"\n"
                       "member_id = \"not-hex-s3cr3t\"\n"));
    CHECK(HasProblem(bad, "tenant \"a\".bitrix24.domain", "host name"));
    CHECK(HasProblem(bad, "tenant \"a\".bitrix24.member_id", "hexadecimal"));
    CHECK(AllProblems(bad).find("not-hex-s3cr3t") == std::string::npos);
}

}  // namespace config_test
}  // namespace fg::adapters::bitrix24
