#include <string>

#include <doctest/doctest.h>

#include "adapters/generic/config.hpp"
#include "src/config/config.hpp"
#include "tests/unit/config/support.hpp"

namespace fg::config {
namespace {

using testing::Dump;
using testing::FindProblem;
using testing::HasProblem;
using testing::Load;
using testing::Tenant;

// A tenant whose body is `body` (starting on line 2) with one valid pipeline after it.
std::string TenantWith(const std::string& body) {
    return "[[tenant]]\n" + body +
           "[[tenant.pipeline]]\n"
           "id = \"main\"\n"
           "stages = [\"A\", \"B\"]\n";
}

TEST_CASE("Tenant values land in the config") {
    const LoadResult result =
        Load(Tenant("[tenant.generic]\n"
                    "actions_url = \"http://127.0.0.1:9000/actions\"\n"
                    "rps = 2.5\n",
                    "crm = \"generic\"\n"
                    "timezone = \"Asia/Yekaterinburg\"\n"
                    "locale = \"en\"\n"
                    "mode = \"enforce\"\n"
                    "reconcile_at = \"04:30\"\n"));
    INFO(Dump(result.problems));
    REQUIRE(result.ok());
    const TenantConfig& tenant = result.config.tenants[0];
    CHECK(tenant.timezone == "Asia/Yekaterinburg");
    CHECK(tenant.locale == "en");
    CHECK(tenant.mode == Mode::kEnforce);
    CHECK(tenant.reconcile_at == "04:30");
    CHECK(fg::adapters::generic::SettingsOf(tenant).actions_url == "http://127.0.0.1:9000/actions");
    CHECK(fg::adapters::generic::SettingsOf(tenant).rps == 2.5);
}

TEST_CASE("Observe mode parses") {
    const LoadResult result = Load(Tenant("", "mode = \"observe\"\n"));
    REQUIRE(result.ok());
    CHECK(result.config.tenants[0].mode == Mode::kObserve);
}

TEST_CASE("Tenant identity is validated") {
    SUBCASE("id and secret are required") {
        const LoadResult result = Load(TenantWith("locale = \"ru\"\n"));
        CHECK(HasProblem(result, "tenant[0].id", "required"));
        CHECK(HasProblem(result, "tenant[0].secret", "required"));
        REQUIRE(FindProblem(result, "tenant[0].id") != nullptr);
        CHECK(FindProblem(result, "tenant[0].id")->line == 1);
        CHECK(result.problems.size() == 2);
    }
    SUBCASE("an id outside [a-z0-9_-] and an empty secret") {
        const LoadResult result = Load(TenantWith("id = \"Acme Corp\"\nsecret = \"\"\n"));
        CHECK(HasProblem(result, "tenant[0].id", "invalid tenant id \"Acme Corp\""));
        REQUIRE(FindProblem(result, "tenant[0].id") != nullptr);
        CHECK(FindProblem(result, "tenant[0].id")->line == 2);
        CHECK(HasProblem(result, "tenant[0].secret", "must not be empty"));
    }
    SUBCASE("ids with digits, dashes and underscores are fine") {
        const LoadResult result = Load(TenantWith("id = \"acme-2_b\"\nsecret = \"s\"\n"));
        CHECK(result.ok());
    }
}

TEST_CASE("A crm with no adapter in this build is refused, naming the ones there are") {
    SUBCASE("a CRM of another build, with its adapter section not reported again") {
        const LoadResult result = Load(
            "[[tenant]]\nid = \"b\"\nsecret = \"s\"\ncrm = \"hubspot\"\n"
            "[tenant.hubspot]\nportal = \"x\"\n");
        INFO(Dump(result.problems));
        REQUIRE(result.problems.size() == 1);
        CHECK(result.problems[0].message ==
              "must be one of generic | amocrm | bitrix24, not \"hubspot\"");
    }
    SUBCASE("an unknown CRM") {
        const LoadResult result = Load(TenantWith("id = \"a\"\nsecret = \"s\"\ncrm = \"amo\"\n"));
        CHECK(HasProblem(result, "tenant \"a\".crm",
                         "must be one of generic | amocrm | bitrix24, not \"amo\" (did you mean "
                         "\"amocrm\"?)"));
    }
}

TEST_CASE("Tenant settings are validated") {
    const LoadResult result =
        Load(Tenant("[tenant.generic]\n"              // 13
                    "actions_url = \"ftp://x\"\n"     // 14
                    "rps = 0\n",                      // 15
                    "timezone = \"Europe/Moskow\"\n"  // 4
                    "locale = \"de\"\n"               // 5
                    "mode = \"enforcing\"\n"          // 6
                    "reconcile_at = \"25:00\"\n"));   // 7
    INFO(Dump(result.problems));
    CHECK(HasProblem(result, "tenant \"acme\".timezone", "unknown time zone \"Europe/Moskow\""));
    CHECK(HasProblem(result, "tenant \"acme\".locale", "must be one of ru | en"));
    CHECK(HasProblem(result, "tenant \"acme\".mode", "did you mean \"enforce\""));
    CHECK(HasProblem(result, "tenant \"acme\".reconcile_at", "HH:MM"));
    CHECK(HasProblem(result, "tenant \"acme\".generic.actions_url", "http:// or https://"));
    CHECK(HasProblem(result, "tenant \"acme\".generic.rps", "greater than 0"));
    REQUIRE(result.problems.size() == 6);
    CHECK(result.problems[0].line == 4);
    CHECK(result.problems[5].line == 15);
}

TEST_CASE("A pipeline becomes intake, open stages, won stages, then lost ones") {
    const LoadResult result = Load(
        "[[tenant]]\nid = \"acme\"\nsecret = \"s\"\n"
        "[[tenant.pipeline]]\n"
        "id = \"main\"\n"
        "stages = [\"Новая\", \"Квалификация\", \"Успешно\", \"Успешно с допродажей\"]\n"
        "won = [\"Успешно с допродажей\", \"Успешно\"]\n"
        "lost = [\"Отказ\", \"Дубль\"]\n"
        "intake = [\"Неразобранное\"]\n"
        "[[tenant.pipeline]]\n"
        "id = \"second\"\n"
        "stages = [\"X\"]\n");
    INFO(Dump(result.problems));
    REQUIRE(result.ok());
    const auto& pipelines = result.config.tenants[0].pipelines;
    REQUIRE(pipelines.size() == 2);
    const domain::Pipeline& main = pipelines[0];
    CHECK(main.id == "main");
    REQUIRE(main.stages.size() == 7);
    const std::vector<std::pair<std::string, domain::StageKind>> expected = {
        {"Неразобранное", domain::StageKind::kIntake},
        {"Новая", domain::StageKind::kOpen},
        {"Квалификация", domain::StageKind::kOpen},
        {"Успешно", domain::StageKind::kWon},
        {"Успешно с допродажей", domain::StageKind::kWon},
        {"Отказ", domain::StageKind::kLost},
        {"Дубль", domain::StageKind::kLost},
    };
    for (std::size_t i = 0; i < expected.size(); ++i) {
        CAPTURE(i);
        CHECK(main.stages[i].name == expected[i].first);
        CHECK(main.stages[i].kind == expected[i].second);
    }
    CHECK(main.OrderOf("Квалификация") == 1);
    CHECK(pipelines[1].id == "second");
    CHECK(pipelines[1].stages.size() == 1);
}

TEST_CASE("Pipelines are validated") {
    const std::string head = "[[tenant]]\nid = \"acme\"\nsecret = \"s\"\n";
    SUBCASE("a generic tenant needs a pipeline") {
        const LoadResult result = Load(head);
        const ConfigProblem* problem = FindProblem(result, "tenant \"acme\".pipeline");
        REQUIRE(problem != nullptr);
        CHECK(problem->line == 1);
        CHECK(problem->message.find("at least one [[tenant.pipeline]]") != std::string::npos);
    }
    SUBCASE("id and stages are required") {
        const LoadResult result = Load(head + "[[tenant.pipeline]]\nwon = []\n");
        CHECK(HasProblem(result, "tenant \"acme\".pipeline[0].id", "required"));
        CHECK(HasProblem(result, "tenant \"acme\".pipeline[0].stages", "required"));
    }
    SUBCASE("won must be a subset of stages and come last") {
        const LoadResult result = Load(head +
                                       "[[tenant.pipeline]]\n"             // 4
                                       "id = \"main\"\n"                   // 5
                                       "stages = [\"A\", \"W\", \"B\"]\n"  // 6
                                       "won = [\"W\", \"Z\"]\n");          // 7
        INFO(Dump(result.problems));
        const ConfigProblem* missing = FindProblem(result, "tenant \"acme\".pipeline[0].won[1]");
        REQUIRE(missing != nullptr);
        CHECK(missing->line == 7);
        CHECK(missing->message.find("won stage \"Z\" is not in stages") == 0);
        CHECK(HasProblem(result, "tenant \"acme\".pipeline[0].stages",
                         "open stage \"B\" comes after won stage \"W\""));
        CHECK(result.problems.size() == 2);
    }
    SUBCASE("stage names are unique, and lost or intake stages stand outside stages") {
        const LoadResult result = Load(head +
                                       "[[tenant.pipeline]]\n"
                                       "id = \"main\"\n"
                                       "stages = [\"A\", \"B\", \"A\"]\n"
                                       "lost = [\"B\"]\n"
                                       "intake = [\"\"]\n");
        INFO(Dump(result.problems));
        CHECK(HasProblem(result, "tenant \"acme\".pipeline[0].stages[2]", "duplicate stage \"A\""));
        CHECK(HasProblem(result, "tenant \"acme\".pipeline[0].lost[0]",
                         "stage \"B\" is already listed in stages"));
        CHECK(HasProblem(result, "tenant \"acme\".pipeline[0].intake[0]", "must not be empty"));
        CHECK(result.problems.size() == 3);
    }
    SUBCASE("a pipeline of only won stages has nothing open") {
        const LoadResult result =
            Load(head + "[[tenant.pipeline]]\nid = \"p\"\nstages = [\"W\"]\nwon = [\"W\"]\n");
        CHECK(HasProblem(result, "tenant \"acme\".pipeline[0].stages", "at least one open stage"));
    }
    SUBCASE("pipeline ids are unique within a tenant") {
        const LoadResult result = Load(head +
                                       "[[tenant.pipeline]]\nid = \"p\"\nstages = [\"A\"]\n"
                                       "[[tenant.pipeline]]\nid = \"p\"\nstages = [\"B\"]\n");
        const ConfigProblem* problem = FindProblem(result, "tenant \"acme\".pipeline[1].id");
        REQUIRE(problem != nullptr);
        CHECK(problem->line == 8);
        CHECK(problem->message == "duplicate pipeline id \"p\" (first at line 4)");
    }
    SUBCASE("stages must be strings") {
        const LoadResult result =
            Load(head + "[[tenant.pipeline]]\nid = \"p\"\nstages = [\"A\", 2]\n");
        CHECK(HasProblem(result, "tenant \"acme\".pipeline[0].stages[1]", "must be a string"));
    }
    SUBCASE("[tenant.pipeline] written as a single table") {
        const LoadResult result = Load(head + "[tenant.pipeline]\nid = \"p\"\n");
        CHECK(HasProblem(result, "tenant \"acme\".pipeline", "[[tenant.pipeline]]"));
    }
    SUBCASE("[tenant] written as a single table") {
        const LoadResult result = Load("[tenant]\nid = \"acme\"\n");
        CHECK(HasProblem(result, "tenant", "[[tenant]]"));
    }
}

TEST_CASE("Templates are keyed by <rule id>.message or <rule id>.task") {
    SUBCASE("quoted and nested keys both work") {
        const LoadResult result =
            Load(Tenant("[tenant.templates]\n"
                        "\"stage_order.message\" = \"Сделка {deal} перескочила этапы\"\n"
                        "deal_without_task.task = \"Запланируйте шаг\"\n"));
        INFO(Dump(result.problems));
        REQUIRE(result.ok());
        const auto& templates = result.config.tenants[0].templates;
        CHECK(templates.size() == 2);
        CHECK(templates.at("stage_order.message") == "Сделка {deal} перескочила этапы");
        CHECK(templates.at("deal_without_task.task") == "Запланируйте шаг");
    }
    SUBCASE("unknown keys and non-strings are problems") {
        const LoadResult result =
            Load(Tenant("[tenant.templates]\n"              // 9
                        "\"stage_order.mesage\" = \"x\"\n"  // 10
                        "\"no_such_rule.task\" = \"x\"\n"   // 11
                        "\"card_filled.task\" = 5\n"));     // 12
        INFO(Dump(result.problems));
        REQUIRE(result.problems.size() == 3);
        const ConfigProblem* typo =
            FindProblem(result, "tenant \"acme\".templates.\"stage_order.mesage\"");
        REQUIRE(typo != nullptr);
        CHECK(typo->line == 10);
        CHECK(typo->message.find("did you mean \"stage_order.message\"") != std::string::npos);
        CHECK(HasProblem(result, "tenant \"acme\".templates.\"no_such_rule.task\"",
                         "unknown template"));
        CHECK(HasProblem(result, "tenant \"acme\".templates.\"card_filled.task\"",
                         "must be a string"));
    }
}

}  // namespace
}  // namespace fg::config
