#include <string>

#include <doctest/doctest.h>

#include "src/config/config.hpp"
#include "tests/unit/config/support.hpp"

namespace fg::config {
namespace {

using testing::Dump;
using testing::FindProblem;
using testing::Load;
using testing::ScopedEnv;
using testing::Tenant;

TEST_CASE("${NAME} expands from the environment in every string value") {
    ScopedEnv token("FG_TEST_TOKEN", "0123456789abcdef0123");
    ScopedEnv host("FG_TEST_HOST", "fg.example.com");
    ScopedEnv stage("FG_TEST_STAGE", "Квалификация");
    ScopedEnv self("FG_TEST_SELF", "${FG_TEST_HOST}");
    const LoadResult result = Load(
        "[server]\n"
        "admin_token = \"${FG_TEST_TOKEN}\"\n"
        "public_url = \"https://${FG_TEST_HOST}/fg\"\n" +
        Tenant("[tenant.rules.stage_order]\n"
               "create_in = [\"${FG_TEST_STAGE}\"]\n"
               "[tenant.rules.actual_stage]\n"
               "consistency = [{ when_equals = { field = \"F\", value = \"${FG_TEST_SELF}\" }, "
               "stage_at_least = \"Оплачено\" }]\n"
               "[tenant.templates]\n"
               "\"stage_order.message\" = \"$5 and ${FG_TEST_HOST} and ${FG_TEST_HOST}\"\n"));
    INFO(Dump(result.problems));
    REQUIRE(result.ok());
    CHECK(result.config.server.admin_token == "0123456789abcdef0123");
    CHECK(result.config.server.public_url == "https://fg.example.com/fg");
    const TenantConfig& tenant = result.config.tenants[0];
    CHECK(tenant.rules.stage_order.create_in == std::vector<std::string>{"Квалификация"});
    // An expanded value is not expanded again.
    REQUIRE(tenant.rules.actual_stage.consistency.size() == 1);
    CHECK(tenant.rules.actual_stage.consistency[0].value == "${FG_TEST_HOST}");
    // A lone "$" is literal; several references in one string all expand.
    CHECK(tenant.templates.at("stage_order.message") == "$5 and fg.example.com and fg.example.com");
}

TEST_CASE("An unset variable is a problem naming file, line and key, never a value") {
    unsetenv("FG_TEST_UNSET");
    ScopedEnv other("FG_TEST_SET", "do-not-print-me");
    const LoadResult result = Load(
        "[server]\n"
        "admin_token = \"${FG_TEST_SET}${FG_TEST_UNSET}\"\n" +
        Tenant("[tenant.generic]\n"
               "actions_url = \"https://x.example.com/${FG_TEST_UNSET}\"\n"));
    INFO(Dump(result.problems));
    REQUIRE(result.problems.size() == 2);
    const ConfigProblem* token = FindProblem(result, "server.admin_token");
    REQUIRE(token != nullptr);
    CHECK(token->file == "test.toml");
    CHECK(token->line == 2);
    CHECK(token->message == "environment variable FG_TEST_UNSET is not set");
    const ConfigProblem* url = FindProblem(result, "tenant \"acme\".generic.actions_url");
    REQUIRE(url != nullptr);
    CHECK(url->line == 12);
    for (const ConfigProblem& problem : result.problems) {
        CHECK(FormatProblem(problem).find("do-not-print-me") == std::string::npos);
    }
}

TEST_CASE("A malformed ${ reference is a problem") {
    SUBCASE("unterminated") {
        const LoadResult result = Load(Tenant("[tenant.generic]\nactions_url = \"${FG_X\"\n"));
        const ConfigProblem* problem = FindProblem(result, "tenant \"acme\".generic.actions_url");
        REQUIRE(problem != nullptr);
        CHECK(problem->message.find("malformed environment reference") == 0);
    }
    SUBCASE("a name starting with a digit") {
        const LoadResult result = Load("[log]\nlevel = \"${1X}\"\n" + Tenant());
        const ConfigProblem* problem = FindProblem(result, "log.level");
        REQUIRE(problem != nullptr);
        CHECK(problem->message.find("malformed environment reference") == 0);
    }
}

TEST_CASE("Unset variables in arrays name the element") {
    unsetenv("FG_TEST_UNSET");
    const LoadResult result = Load(
        "[[tenant]]\n"
        "id = \"acme\"\n"
        "secret = \"s\"\n"
        "[[tenant.pipeline]]\n"
        "id = \"main\"\n"
        "stages = [\"A\",\n"
        "          \"${FG_TEST_UNSET}\"]\n");
    const ConfigProblem* problem = FindProblem(result, "tenant \"acme\".pipeline[0].stages[1]");
    REQUIRE(problem != nullptr);
    CHECK(problem->line == 7);
    CHECK(problem->message == "environment variable FG_TEST_UNSET is not set");
}

}  // namespace
}  // namespace fg::config
