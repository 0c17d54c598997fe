#include <string>

#include <doctest/doctest.h>

#include "adapters/amocrm/config.hpp"
#include "adapters/generic/config.hpp"
#include "src/app/adapters.hpp"
#include "src/config/config.hpp"
#include "tests/unit/config/support.hpp"

namespace fg::config {
namespace {

using testing::Dump;
using testing::FindProblem;
using testing::HasProblem;
using testing::Load;
using testing::ScopedEnv;
using testing::TempDir;
using testing::Tenant;

TEST_CASE("LoadConfig fills defaults for everything left out") {
    const LoadResult result = Load(Tenant());
    INFO(Dump(result.problems));
    REQUIRE(result.ok());
    const AppConfig& config = result.config;
    CHECK(config.server.listen == "127.0.0.1:8080");
    CHECK(config.server.public_url.empty());
    CHECK(config.server.admin_token.empty());
    CHECK(config.server.max_body_bytes == 1048576);
    CHECK(config.server.threads == 64);
    CHECK(config.storage.path == "/cfg/funnelguard.db");
    CHECK(config.log.level == "info");
    CHECK(config.tenants_dir.empty());
    REQUIRE(config.tenants.size() == 1);
    const TenantConfig& tenant = config.tenants[0];
    CHECK(tenant.id == "acme");
    CHECK(tenant.crm == "generic");
    CHECK(tenant.secret == "s3cret");
    CHECK(tenant.timezone == "Europe/Moscow");
    CHECK(tenant.locale == "ru");
    CHECK(tenant.mode == Mode::kWarn);
    CHECK(tenant.reconcile_at == "03:00");
    CHECK(tenant.source_file == "test.toml");
    CHECK(fg::adapters::generic::SettingsOf(tenant).actions_url.empty());
    CHECK(fg::adapters::generic::SettingsOf(tenant).rps == 5);
    CHECK(tenant.templates.empty());
}

TEST_CASE("Server, storage and log values land in the config") {
    const LoadResult result = Load(
        "[server]\n"
        "listen = \"0.0.0.0:9090\"\n"
        "public_url = \"https://fg.example.com\"\n"
        "admin_token = \"0123456789abcdef\"\n"
        "max_body_bytes = 2048\n"
        "threads = 2\n"
        "[storage]\n"
        "path = \"data/fg.db\"\n"
        "[log]\n"
        "level = \"debug\"\n" +
        Tenant());
    INFO(Dump(result.problems));
    REQUIRE(result.ok());
    CHECK(result.config.server.listen == "0.0.0.0:9090");
    CHECK(result.config.server.public_url == "https://fg.example.com");
    CHECK(result.config.server.admin_token == "0123456789abcdef");
    CHECK(result.config.server.max_body_bytes == 2048);
    CHECK(result.config.server.threads == 2);
    CHECK(result.config.storage.path == "/cfg/data/fg.db");
    CHECK(result.config.log.level == "debug");
}

TEST_CASE("An absolute storage path is kept as written") {
    const LoadResult result = Load("[storage]\npath = \"/var/lib/fg/fg.db\"\n" + Tenant());
    REQUIRE(result.ok());
    CHECK(result.config.storage.path == "/var/lib/fg/fg.db");
}

TEST_CASE("Server values are validated") {
    SUBCASE("a short admin token is too short, and its value is never printed") {
        const LoadResult result = Load("[server]\nadmin_token = \"tiny-token\"\n" + Tenant());
        const ConfigProblem* problem = FindProblem(result, "server.admin_token");
        REQUIRE(problem != nullptr);
        CHECK(problem->line == 2);
        CHECK(problem->message.find("too short") != std::string::npos);
        CHECK(problem->message.find("tiny-token") == std::string::npos);
    }
    SUBCASE("an empty admin token disables the API and is not a problem") {
        const LoadResult result = Load("[server]\nadmin_token = \"\"\n" + Tenant());
        CHECK(result.ok());
        CHECK(result.config.server.admin_token.empty());
    }
    SUBCASE("bad listen, public_url, max_body_bytes and threads") {
        const LoadResult result = Load(
            "[server]\n"
            "listen = \"localhost\"\n"
            "public_url = \"fg.example.com\"\n"
            "max_body_bytes = 0\n"
            "threads = 0\n" +
            Tenant());
        CHECK(HasProblem(result, "server.listen", "host:port"));
        CHECK(HasProblem(result, "server.public_url", "http:// or https://"));
        CHECK(HasProblem(result, "server.max_body_bytes", "at least 1"));
        CHECK(HasProblem(result, "server.threads", "between 1 and"));
        CHECK(result.problems.size() == 4);
    }
    SUBCASE("wrong types are reported with the type found") {
        const LoadResult result = Load("[server]\nthreads = \"8\"\nlisten = 8080\n" + Tenant());
        CHECK(HasProblem(result, "server.threads", "must be an integer, not a string"));
        CHECK(HasProblem(result, "server.listen", "must be a string, not an integer"));
        CHECK(result.config.server.threads == 64);
    }
}

TEST_CASE("Log level must be one of debug, info, warn, error") {
    const LoadResult result = Load("[log]\nlevel = \"warning\"\n" + Tenant());
    const ConfigProblem* problem = FindProblem(result, "log.level");
    REQUIRE(problem != nullptr);
    CHECK(problem->line == 2);
    CHECK(problem->message.find("did you mean \"warn\"") != std::string::npos);
}

TEST_CASE("Unknown keys are problems at every level, with a suggestion when one is close") {
    const LoadResult result = Load(
        "tenant_dir = \"x\"\n"                  // 1
        "[server]\n"                            // 2
        "thread = 4\n"                          // 3
        "[storage]\n"                           // 4
        "size = 1\n" +                          // 5
        Tenant("[tenant.generic]\n"             // 15
               "rpss = 3\n"                     // 16
               "[tenant.rules.overdue_task]\n"  // 17
               "grce = \"1h\"\n",               // 18
               "colour = \"red\"\n"));          // 9
    INFO(Dump(result.problems));
    const ConfigProblem* root = FindProblem(result, "tenant_dir");
    REQUIRE(root != nullptr);
    CHECK(root->line == 1);
    CHECK(root->message == "unknown key (did you mean \"tenants_dir\"?)");
    const ConfigProblem* threads = FindProblem(result, "server.thread");
    REQUIRE(threads != nullptr);
    CHECK(threads->line == 3);
    CHECK(threads->message == "unknown key (did you mean \"threads\"?)");
    const ConfigProblem* size = FindProblem(result, "storage.size");
    REQUIRE(size != nullptr);
    CHECK(size->message == "unknown key");
    const ConfigProblem* colour = FindProblem(result, "tenant \"acme\".colour");
    REQUIRE(colour != nullptr);
    CHECK(colour->line == 9);
    CHECK(HasProblem(result, "tenant \"acme\".generic.rpss", "did you mean \"rps\""));
    const ConfigProblem* grace = FindProblem(result, "tenant \"acme\".rules.overdue_task.grce");
    REQUIRE(grace != nullptr);
    CHECK(grace->line == 18);
    CHECK(grace->message == "unknown key (did you mean \"grace\"?)");
    CHECK(result.problems.size() == 6);
}

TEST_CASE("A TOML syntax error is a problem with its line") {
    const LoadResult result = Load("[server]\nlisten = \"127.0.0.1:8080\"\nthreads = = 4\n");
    REQUIRE(result.problems.size() == 1);
    CHECK(result.problems[0].file == "test.toml");
    CHECK(result.problems[0].line == 3);
    CHECK(result.problems[0].message.find("TOML syntax") == 0);
}

TEST_CASE("A missing config file is a problem naming the file") {
    const LoadResult result = LoadConfig("/nonexistent/funnelguard.toml", fg::app::CrmSchemas());
    REQUIRE(result.problems.size() == 1);
    CHECK(result.problems[0].file == "/nonexistent/funnelguard.toml");
    CHECK(result.problems[0].line == 0);
    CHECK(FormatProblem(result.problems[0]).find("/nonexistent/funnelguard.toml: cannot read") ==
          0);
}

TEST_CASE("LoadConfig resolves relative paths against the config file's folder") {
    TempDir dir;
    const std::string file =
        dir.Write("etc/fg.toml", "[storage]\npath = \"../var/fg.db\"\n" + Tenant());
    const LoadResult result = LoadConfig(file, fg::app::CrmSchemas());
    INFO(Dump(result.problems));
    REQUIRE(result.ok());
    CHECK(result.config.storage.path == dir.File("var/fg.db"));
    CHECK(result.config.tenants[0].source_file == file);
}

TEST_CASE("Every problem of a file is reported in one load, in line order, with its line") {
    const LoadResult result = Load(
        "[server]\n"                                 // 1
        "threads = -1\n"                             // 2
        "[log]\n"                                    // 3
        "level = \"loud\"\n" +                       // 4
        Tenant("[tenant.rules.deal_without_task]\n"  // 15
               "grace = \"15 minutes\"\n"            // 16
               "[tenant.rules.card_filled]\n"        // 17
               "min_note_chars = 0\n",               // 18
               "timezone = \"Mars/Olympus\"\n"       // 8
               "mode = \"strict\"\n"));              // 9
    INFO(Dump(result.problems));
    REQUIRE(result.problems.size() == 6);
    const std::vector<std::pair<std::string, int>> expected = {
        {"server.threads", 2},
        {"log.level", 4},
        {"tenant \"acme\".timezone", 8},
        {"tenant \"acme\".mode", 9},
        {"tenant \"acme\".rules.deal_without_task.grace", 16},
        {"tenant \"acme\".rules.card_filled.min_note_chars", 18},
    };
    for (std::size_t i = 0; i < expected.size(); ++i) {
        CAPTURE(i);
        CHECK(result.problems[i].key == expected[i].first);
        CHECK(result.problems[i].line == expected[i].second);
        CHECK(result.problems[i].file == "test.toml");
    }
    CHECK(FormatProblem(result.problems[4]) ==
          "test.toml:16: tenant \"acme\".rules.deal_without_task.grace: invalid duration \"15 "
          "minutes\" (use 30s, 15m, 4h or 14d)");
}

TEST_CASE("tenants_dir adds the tenants of every *.toml in it, in name order") {
    TempDir dir;
    dir.Write("tenants.d/20-beta.toml",
              "[[tenant]]\n"
              "id = \"beta\"\n"
              "secret = \"${FG_TEST_BETA_SECRET}\"\n"
              "locale = \"en\"\n"
              "[[tenant.pipeline]]\n"
              "id = \"sales\"\n"
              "stages = [\"New\", \"Won\"]\n"
              "won = [\"Won\"]\n");
    dir.Write("tenants.d/10-gamma.toml",
              "[[tenant]]\n"
              "id = \"gamma\"\n"
              "secret = \"g\"\n"
              "[[tenant.pipeline]]\n"
              "id = \"p\"\n"
              "stages = [\"A\", \"B\"]\n");
    dir.Write("tenants.d/notes.txt", "not a config");
    const std::string main = dir.Write("fg.toml", "tenants_dir = \"tenants.d\"\n" + Tenant());

    SUBCASE("both files load, after the main file's tenants") {
        ScopedEnv secret("FG_TEST_BETA_SECRET", "beta-secret");
        const LoadResult result = LoadConfig(main, fg::app::CrmSchemas());
        INFO(Dump(result.problems));
        REQUIRE(result.ok());
        CHECK(result.config.tenants_dir == dir.File("tenants.d"));
        REQUIRE(result.config.tenants.size() == 3);
        CHECK(result.config.tenants[0].id == "acme");
        CHECK(result.config.tenants[1].id == "gamma");
        CHECK(result.config.tenants[2].id == "beta");
        const TenantConfig* beta = result.config.FindTenant("beta");
        REQUIRE(beta != nullptr);
        CHECK(beta->secret == "beta-secret");
        CHECK(beta->locale == "en");
        CHECK(beta->source_file == dir.File("tenants.d/20-beta.toml"));
        REQUIRE(beta->pipelines.size() == 1);
        CHECK(beta->pipelines[0].id == "sales");
    }
    SUBCASE("problems in a tenant file name that file and its lines") {
        const LoadResult result = LoadConfig(main, fg::app::CrmSchemas());
        REQUIRE(result.problems.size() == 1);
        CHECK(result.problems[0].file == dir.File("tenants.d/20-beta.toml"));
        CHECK(result.problems[0].line == 3);
        CHECK(result.problems[0].key == "tenant \"beta\".secret");
        CHECK(result.problems[0].message == "environment variable FG_TEST_BETA_SECRET is not set");
    }
    SUBCASE("a tenant id defined twice across files is a problem") {
        ScopedEnv secret("FG_TEST_BETA_SECRET", "beta-secret");
        dir.Write("tenants.d/30-acme.toml",
                  "[[tenant]]\n"
                  "id = \"acme\"\n"
                  "secret = \"x\"\n"
                  "[[tenant.pipeline]]\n"
                  "id = \"p\"\n"
                  "stages = [\"A\"]\n");
        const LoadResult result = LoadConfig(main, fg::app::CrmSchemas());
        REQUIRE(result.problems.size() == 1);
        CHECK(result.problems[0].file == dir.File("tenants.d/30-acme.toml"));
        CHECK(result.problems[0].line == 2);
        CHECK(result.problems[0].key == "tenant \"acme\".id");
        CHECK(result.problems[0].message ==
              "duplicate tenant id \"acme\" (first defined at " + main + ":2)");
        CHECK(result.config.tenants.size() == 3);
    }
    SUBCASE("a tenant file may hold only [[tenant]] tables") {
        ScopedEnv secret("FG_TEST_BETA_SECRET", "beta-secret");
        dir.Write("tenants.d/40-bad.toml", "[server]\nthreads = 2\n");
        const LoadResult result = LoadConfig(main, fg::app::CrmSchemas());
        REQUIRE(result.problems.size() == 1);
        CHECK(result.problems[0].file == dir.File("tenants.d/40-bad.toml"));
        CHECK(result.problems[0].key == "server");
        CHECK(result.problems[0].message.find("only [[tenant]] tables") != std::string::npos);
    }
    SUBCASE("a syntax error in a tenant file does not hide the main file's problems") {
        ScopedEnv secret("FG_TEST_BETA_SECRET", "beta-secret");
        dir.Write("tenants.d/05-broken.toml", "[[tenant]]\nid = \n");
        const std::string broken_main =
            dir.Write("fg.toml", "tenants_dir = \"tenants.d\"\n[log]\nlevel = \"x\"\n" + Tenant());
        const LoadResult result = LoadConfig(broken_main, fg::app::CrmSchemas());
        INFO(Dump(result.problems));
        REQUIRE(result.problems.size() == 2);
        CHECK(result.problems[0].file == broken_main);
        CHECK(result.problems[0].key == "log.level");
        CHECK(result.problems[1].file == dir.File("tenants.d/05-broken.toml"));
        CHECK(result.problems[1].line == 2);
    }
}

TEST_CASE("A tenants_dir that does not exist is a problem at its key") {
    const LoadResult result = Load(Tenant() + "\n");
    REQUIRE(result.ok());
    const LoadResult missing = Load("tenants_dir = \"nowhere\"\n" + Tenant());
    const ConfigProblem* problem = FindProblem(missing, "tenants_dir");
    REQUIRE(problem != nullptr);
    CHECK(problem->line == 1);
    CHECK(problem->message == "\"/cfg/nowhere\" is not a directory");
}

TEST_CASE("Problems name a tenant by its id, by position only while it has no valid id") {
    unsetenv("FG_TEST_UNSET_TOKEN");
    const LoadResult result = Load(Tenant() +
                                   "[[tenant]]\n"
                                   "id = \"beta\"\n"
                                   "crm = \"amocrm\"\n"
                                   "secret = \"s\"\n"
                                   "mode = \"observing\"\n"
                                   "[tenant.amocrm]\n"
                                   "subdomain = \"beta\"\n"
                                   "token = \"${FG_TEST_UNSET_TOKEN}\"\n"
                                   "[[tenant]]\n"
                                   "id = \"Not An Id\"\n"
                                   "secret = \"${FG_TEST_UNSET_TOKEN}\"\n"
                                   "[[tenant.pipeline]]\n"
                                   "id = \"p\"\n"
                                   "stages = [\"A\"]\n");
    INFO(Dump(result.problems));
    // The environment's problems and the parser's name the tenant the same way.
    CHECK(HasProblem(result, "tenant \"beta\".amocrm.token",
                     "environment variable FG_TEST_UNSET_TOKEN is not set"));
    CHECK(HasProblem(result, "tenant \"beta\".mode", "must be one of observe | warn | enforce"));
    CHECK(HasProblem(result, "tenant[2].id", "invalid tenant id \"Not An Id\""));
    CHECK(HasProblem(result, "tenant[2].secret", "FG_TEST_UNSET_TOKEN is not set"));
    for (const ConfigProblem& problem : result.problems) {
        CHECK(problem.key.find("tenant[1]") == std::string::npos);
    }
    CHECK(FormatProblem(*FindProblem(result, "tenant \"beta\".amocrm.token")) ==
          "test.toml:16: tenant \"beta\".amocrm.token: environment variable FG_TEST_UNSET_TOKEN "
          "is not set");
}

TEST_CASE("Tenant ids are unique within one file too") {
    const LoadResult result = Load(Tenant() + Tenant());
    REQUIRE(result.problems.size() == 1);
    CHECK(result.problems[0].key == "tenant \"acme\".id");
    CHECK(result.problems[0].line == 10);
    CHECK(result.problems[0].message ==
          "duplicate tenant id \"acme\" (first defined at test.toml:1)");
}

TEST_CASE("The example config loads with no problems and its values land where expected") {
    ScopedEnv token("FUNNELGUARD_ADMIN_TOKEN", "example-admin-token-0123456789");
    ScopedEnv secret("ACME_HOOK_SECRET", "example-hook-secret");
    ScopedEnv beta_secret("BETA_HOOK_SECRET", "beta-hook-secret");
    ScopedEnv beta_token("BETA_AMOCRM_TOKEN", "beta-token");
    const std::string path = std::string(FG_SOURCE_DIR) + "/deploy/funnelguard.example.toml";
    const LoadResult result = LoadConfig(path, fg::app::CrmSchemas());
    INFO(Dump(result.problems));
    REQUIRE(result.ok());
    const AppConfig& config = result.config;
    CHECK(config.server.listen == "127.0.0.1:8080");
    CHECK(config.server.public_url == "https://fg.example.com");
    CHECK(config.server.admin_token == "example-admin-token-0123456789");
    CHECK(config.server.max_body_bytes == 1048576);
    CHECK(config.storage.path == std::string(FG_SOURCE_DIR) + "/deploy/funnelguard.db");
    CHECK(config.log.level == "info");
    REQUIRE(config.tenants.size() == 2);
    const TenantConfig& acme = config.tenants[0];
    CHECK(acme.id == "acme");
    CHECK(acme.secret == "example-hook-secret");
    CHECK(acme.mode == Mode::kWarn);
    REQUIRE(acme.pipelines.size() == 1);
    const domain::Pipeline& main = acme.pipelines[0];
    CHECK(main.id == "main");
    REQUIRE(main.stages.size() == 7);
    CHECK(main.OrderOf("Счёт выставлен") == 3);
    REQUIRE(main.Find("Успешно") != nullptr);
    CHECK(main.Find("Успешно")->kind == domain::StageKind::kWon);
    REQUIRE(main.Find("Закрыто и не реализовано") != nullptr);
    CHECK(main.Find("Закрыто и не реализовано")->kind == domain::StageKind::kLost);
    const RulesConfig& rules = acme.rules;
    CHECK(rules.stage_order.create_in == std::vector<std::string>{"Квалификация"});
    CHECK(rules.deal_without_task.grace == std::chrono::minutes{15});
    CHECK(rules.actual_stage.max_age_default == std::chrono::days{14});
    CHECK(rules.actual_stage.max_age.at("Счёт выставлен") == std::chrono::days{5});
    REQUIRE(rules.actual_stage.consistency.size() == 3);
    CHECK(rules.actual_stage.consistency[0].kind == ConsistencyCheck::Kind::kFilled);
    CHECK(rules.actual_stage.consistency[1].kind == ConsistencyCheck::Kind::kEquals);
    CHECK(rules.actual_stage.consistency[2].kind == ConsistencyCheck::Kind::kAtLeast);
    CHECK(rules.actual_stage.consistency[2].number == 100);
    CHECK(rules.card_filled.required.at("КП отправлено") == std::vector<std::string>{"Сумма КП"});
    CHECK(rules.card_filled.note_per_stage);
    CHECK(rules.overdue_task.common.escalate_after == std::chrono::hours{24});
    CHECK(rules.overdue_task.common.actions.back() == ActionKind::kEscalate);
    CHECK(fg::adapters::generic::SettingsOf(acme).actions_url ==
          "https://crm-bridge.example.com/funnelguard/actions");
    CHECK(acme.templates.count("deal_without_task.task") == 1);
    const TenantConfig& beta = config.tenants[1];
    CHECK(beta.crm == "amocrm");
    CHECK(beta.pipelines.empty());
    CHECK(fg::adapters::amocrm::SettingsOf(beta).BaseUrl() == "https://beta.amocrm.ru");
    CHECK(fg::adapters::amocrm::SettingsOf(beta).token == "beta-token");
    CHECK(fg::adapters::amocrm::SettingsOf(beta).rps == 6);
    CHECK(beta.mode == Mode::kObserve);
    CHECK(beta.rules.card_filled.required.at("Переговоры") == std::vector<std::string>{"Бюджет"});
}

TEST_CASE("The local config loads with the README's two variables and names no outside host") {
    ScopedEnv token("FUNNELGUARD_ADMIN_TOKEN", "example-admin-token-0123456789");
    ScopedEnv secret("ACME_HOOK_SECRET", "example-hook-secret");
    const std::string path = std::string(FG_SOURCE_DIR) + "/deploy/funnelguard.local.toml";
    const LoadResult result = LoadConfig(path, fg::app::CrmSchemas());
    INFO(Dump(result.problems));
    REQUIRE(result.ok());
    const AppConfig& config = result.config;
    CHECK(config.server.listen.starts_with("127.0.0.1:"));
    CHECK(config.server.public_url.starts_with("http://127.0.0.1:"));
    REQUIRE(config.tenants.size() == 1);
    for (const TenantConfig& tenant : config.tenants) {
        // Nothing to call: serve starts without retrying an unreachable host.
        CHECK(tenant.crm == "generic");
        CHECK(fg::adapters::generic::SettingsOf(tenant).actions_url.empty());
    }
}

TEST_CASE("The example config without its environment reports every variable") {
    unsetenv("FUNNELGUARD_ADMIN_TOKEN");
    unsetenv("ACME_HOOK_SECRET");
    unsetenv("BETA_HOOK_SECRET");
    unsetenv("BETA_AMOCRM_TOKEN");
    const std::string path = std::string(FG_SOURCE_DIR) + "/deploy/funnelguard.example.toml";
    const LoadResult result = LoadConfig(path, fg::app::CrmSchemas());
    CHECK(HasProblem(result, "server.admin_token",
                     "environment variable FUNNELGUARD_ADMIN_TOKEN is not set"));
    CHECK(HasProblem(result, "tenant \"acme\".secret",
                     "environment variable ACME_HOOK_SECRET is not set"));
    CHECK(HasProblem(result, "tenant \"beta\".amocrm.token",
                     "environment variable BETA_AMOCRM_TOKEN is not set"));
    CHECK(result.problems.size() == 4);
}

}  // namespace
}  // namespace fg::config
