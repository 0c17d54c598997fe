// [tenant.amocrm] and [tenant.generic]: ca_file, and plain http only where nothing secret
// crosses a network unencrypted.
#include <string>

#include <doctest/doctest.h>

#include "adapters/amocrm/config.hpp"
#include "adapters/generic/config.hpp"
#include "src/app/adapters.hpp"
#include "src/config/config.hpp"
#include "tests/unit/config/support.hpp"
#include "tests/unit/tls/pki.hpp"

namespace fg::config {
namespace {

using testing::Dump;
using testing::FindProblem;
using testing::HasProblem;
using testing::Load;
using testing::TempDir;
using testing::Tenant;

// An amoCRM tenant whose [tenant.amocrm] section is line 5 with token on 6, `keys` from line 7.
std::string AmoTenant(const std::string& keys) {
    return "[[tenant]]\nid = \"a\"\nsecret = \"s\"\ncrm = \"amocrm\"\n[tenant.amocrm]\n"
           "token = \"t\"\n" +
           keys;
}

// A generic tenant with [tenant.generic] on line 9, `keys` from line 10.
std::string GenericTenant(const std::string& keys) { return Tenant("[tenant.generic]\n" + keys); }

TEST_CASE("ca_file names a PEM file of private CA certificates") {
    TempDir dir;
    fg::testing::TestCa ca;
    const std::string ca_file = dir.Write("certs/private-ca.pem", ca.cert_pem());
    SUBCASE("for amoCRM, absolute") {
        const LoadResult result =
            Load(AmoTenant("base_url = \"https://crm.corp.example\"\n"
                           "ca_file = \"" +
                           ca_file + "\"\n"));
        INFO(Dump(result.problems));
        REQUIRE(result.ok());
        CHECK(fg::adapters::amocrm::SettingsOf(result.config.tenants[0]).ca_file == ca_file);
    }
    SUBCASE("with a subdomain (https)") {
        const LoadResult result =
            Load(AmoTenant("subdomain = \"acme\"\nca_file = \"" + ca_file + "\"\n"));
        INFO(Dump(result.problems));
        CHECK(result.ok());
    }
    SUBCASE("relative to the folder of the config file") {
        const LoadResult result = LoadConfigFromString(
            AmoTenant("subdomain = \"acme\"\nca_file = \"certs/private-ca.pem\"\n"), "test.toml",
            fg::app::CrmSchemas(), dir.path());
        INFO(Dump(result.problems));
        REQUIRE(result.ok());
        CHECK(fg::adapters::amocrm::SettingsOf(result.config.tenants[0]).ca_file == ca_file);
    }
    SUBCASE("for the generic adapter's https actions_url") {
        const LoadResult result =
            Load(GenericTenant("actions_url = \"https://bridge.corp.example/actions\"\n"
                               "ca_file = \"" +
                               ca_file + "\"\n"));
        INFO(Dump(result.problems));
        REQUIRE(result.ok());
        CHECK(fg::adapters::generic::SettingsOf(result.config.tenants[0]).ca_file == ca_file);
    }
    SUBCASE("absent: the system store alone") {
        const LoadResult result = Load(AmoTenant("subdomain = \"acme\"\n"));
        REQUIRE(result.ok());
        CHECK(fg::adapters::amocrm::SettingsOf(result.config.tenants[0]).ca_file.empty());
    }
}

TEST_CASE("A ca_file that cannot work is reported with file, line and key") {
    TempDir dir;
    fg::testing::TestCa ca;
    const std::string missing = dir.File("missing.pem");
    const std::string not_pem = dir.Write("key.pem", ca.Issue("x", "DNS:x").key_pem);
    const std::string good = dir.Write("ca.pem", ca.cert_pem());
    auto amo_problem = [](const std::string& keys) {
        const LoadResult result = Load(AmoTenant(keys));
        INFO(Dump(result.problems));
        const ConfigProblem* problem = FindProblem(result, "tenant \"a\".amocrm.ca_file");
        REQUIRE(problem != nullptr);
        CHECK(problem->file == "test.toml");
        CHECK(problem->line == 8);  // ca_file is the second key
        return problem->message;
    };
    auto contains = [](const std::string& text, const std::string& part) {
        return text.find(part) != std::string::npos;
    };
    const std::string gone = amo_problem("subdomain = \"acme\"\nca_file = \"" + missing + "\"\n");
    CHECK(contains(gone, missing));
    CHECK(contains(gone, "No such file"));
    CHECK(contains(amo_problem("subdomain = \"acme\"\nca_file = \"" + not_pem + "\"\n"),
                   "holds no PEM certificate"));
    CHECK(contains(amo_problem("subdomain = \"acme\"\nca_file = \"\"\n"), "must not be empty"));
    CHECK(
        contains(amo_problem("base_url = \"http://127.0.0.1:9100\"\nca_file = \"" + good + "\"\n"),
                 "is for an https:// base_url"));

    const LoadResult generic = Load(GenericTenant(
        "actions_url = \"http://127.0.0.1:9000/actions\"\nca_file = \"" + good + "\"\n"));
    INFO(Dump(generic.problems));
    const ConfigProblem* problem = FindProblem(generic, "tenant \"acme\".generic.ca_file");
    REQUIRE(problem != nullptr);
    CHECK(problem->line == 11);
    CHECK(contains(problem->message, "is for an https:// actions_url"));
    CHECK(HasProblem(Load(GenericTenant("ca_file = \"" + good + "\"\n")),
                     "tenant \"acme\".generic.ca_file", "is for an https:// actions_url"));
}

TEST_CASE("amoCRM's base_url is https, or plain http to this machine only") {
    for (const char* url : {"https://crm.corp.example", "http://127.0.0.1:9100",
                            "http://localhost:9100/prefix", "http://127.0.0.2", "http://[::1]:9"}) {
        CAPTURE(url);
        const LoadResult result = Load(AmoTenant("base_url = \"" + std::string(url) + "\"\n"));
        INFO(Dump(result.problems));
        CHECK(result.ok());
    }
    for (const char* url :
         {"http://acme.amocrm.ru", "http://10.0.0.5:8080", "http://localhost.example.com"}) {
        CAPTURE(url);
        const LoadResult result = Load(AmoTenant("base_url = \"" + std::string(url) + "\"\n"));
        const ConfigProblem* problem = FindProblem(result, "tenant \"a\".amocrm.base_url");
        REQUIRE(problem != nullptr);
        CHECK(problem->line == 7);
        CHECK(problem->message.find("would send the token unencrypted") != std::string::npos);
    }
}

TEST_CASE("A generic actions_url sends a password over https or to this machine only") {
    for (const char* url : {"http://n8n:5678/webhook/fg", "https://bot:pw@bridge.example/a",
                            "http://bot:pw@127.0.0.1:9000/a", "http://bot:pw@localhost/a"}) {
        CAPTURE(url);
        const LoadResult result =
            Load(GenericTenant("actions_url = \"" + std::string(url) + "\"\n"));
        INFO(Dump(result.problems));
        CHECK(result.ok());
    }
    const LoadResult result =
        Load(GenericTenant("actions_url = \"http://bot:pw@bridge.example/a?x=1\"\n"));
    const ConfigProblem* problem = FindProblem(result, "tenant \"acme\".generic.actions_url");
    REQUIRE(problem != nullptr);
    CHECK(problem->line == 10);
    CHECK(problem->message.find("would send the password unencrypted") != std::string::npos);
    CHECK(problem->message.find("pw") == std::string::npos);  // the URL is not repeated
}

}  // namespace
}  // namespace fg::config
