#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "src/config/config.hpp"
#include "tests/unit/config/support.hpp"

namespace fg::config {
namespace {

using testing::Dump;
using testing::FindProblem;
using testing::HasProblem;
using testing::Load;
using testing::Tenant;

using Actions = std::vector<ActionKind>;

TEST_CASE("Rules take their defaults when their sections are absent") {
    const LoadResult result = Load(Tenant());
    REQUIRE(result.ok());
    const RulesConfig& rules = result.config.tenants[0].rules;
    CHECK(rules.stage_order.common.enabled);
    CHECK(rules.stage_order.common.actions == Actions{ActionKind::kNote, ActionKind::kNotify});
    CHECK_FALSE(rules.stage_order.common.escalate_after.has_value());
    CHECK(rules.stage_order.allow_backward);
    CHECK(rules.stage_order.lost_from_any);
    CHECK(rules.stage_order.create_in.empty());
    CHECK(rules.deal_without_task.common.actions ==
          Actions{ActionKind::kTask, ActionKind::kNotify});
    CHECK(rules.deal_without_task.grace == std::chrono::minutes{15});
    CHECK(rules.actual_stage.common.actions == Actions{ActionKind::kNote, ActionKind::kNotify});
    CHECK_FALSE(rules.actual_stage.max_age_default.has_value());
    CHECK(rules.actual_stage.max_age.empty());
    CHECK(rules.actual_stage.consistency.empty());
    CHECK(rules.card_filled.common.actions == Actions{ActionKind::kNote, ActionKind::kNotify});
    CHECK(rules.card_filled.required.empty());
    CHECK_FALSE(rules.card_filled.note_per_stage);
    CHECK(rules.card_filled.min_note_chars == 10);
    CHECK(rules.overdue_task.common.actions == Actions{ActionKind::kNote, ActionKind::kNotify});
    CHECK(rules.overdue_task.grace == Duration{0});
}

TEST_CASE("Every rule section's values land in the config, Cyrillic stage names included") {
    const LoadResult result = Load(Tenant(
        "[tenant.rules.stage_order]\n"
        "enabled = false\n"
        "allow_backward = false\n"
        "lost_from_any = false\n"
        "create_in = [\"Квалификация\", \"Счёт выставлен\"]\n"
        "actions = [\"revert\", \"escalate\"]\n"
        "[tenant.rules.deal_without_task]\n"
        "grace = \"30s\"\n"
        "actions = []\n"
        "escalate_after = \"4h\"\n"
        "[tenant.rules.actual_stage]\n"
        "max_age = { default = \"14d\", \"Счёт выставлен\" = \"5d\" }\n"
        "consistency = [\n"
        "  { when_filled = \"Дата оплаты\", stage_at_least = \"Оплачено\" },\n"
        "  { when_equals = { field = \"Статус\", value = \"Счёт\" }, stage_at_least = \"Счёт "
        "выставлен\" },\n"
        "  { when_at_least = { field = \"Оплачено, %\", value = 99.5 }, stage_at_least = "
        "\"Оплачено\" },\n"
        "  { when_equals = { field = \"Год\", value = 2026 }, stage_at_least = \"Новая\" },\n"
        "]\n"
        "[tenant.rules.card_filled]\n"
        "required = { \"Квалификация\" = [\"Бюджет\"], \"КП отправлено\" = [\"Сумма КП\", "
        "\"Контакт\"] }\n"
        "note_per_stage = true\n"
        "min_note_chars = 25\n"
        "actions = [\"note\", \"revert\"]\n"
        "[tenant.rules.overdue_task]\n"
        "grace = \"4h\"\n"
        "actions = [\"notify\"]\n"));
    INFO(Dump(result.problems));
    REQUIRE(result.ok());
    const RulesConfig& rules = result.config.tenants[0].rules;

    CHECK_FALSE(rules.stage_order.common.enabled);
    CHECK_FALSE(rules.stage_order.allow_backward);
    CHECK_FALSE(rules.stage_order.lost_from_any);
    CHECK(rules.stage_order.create_in ==
          std::vector<std::string>{"Квалификация", "Счёт выставлен"});
    CHECK(rules.stage_order.common.actions == Actions{ActionKind::kRevert, ActionKind::kEscalate});
    // `escalate` without escalate_after escalates after 24h.
    CHECK(rules.stage_order.common.escalate_after == std::chrono::hours{24});

    CHECK(rules.deal_without_task.grace == std::chrono::seconds{30});
    CHECK(rules.deal_without_task.common.actions.empty());
    CHECK(rules.deal_without_task.common.escalate_after == std::chrono::hours{4});

    CHECK(rules.actual_stage.max_age_default == std::chrono::days{14});
    REQUIRE(rules.actual_stage.max_age.size() == 1);
    CHECK(rules.actual_stage.max_age.at("Счёт выставлен") == std::chrono::days{5});
    const auto& consistency = rules.actual_stage.consistency;
    REQUIRE(consistency.size() == 4);
    CHECK(consistency[0].kind == ConsistencyCheck::Kind::kFilled);
    CHECK(consistency[0].field == "Дата оплаты");
    CHECK(consistency[0].stage_at_least == "Оплачено");
    CHECK(consistency[1].kind == ConsistencyCheck::Kind::kEquals);
    CHECK(consistency[1].field == "Статус");
    CHECK(consistency[1].value == "Счёт");
    CHECK(consistency[1].stage_at_least == "Счёт выставлен");
    CHECK(consistency[2].kind == ConsistencyCheck::Kind::kAtLeast);
    CHECK(consistency[2].field == "Оплачено, %");
    CHECK(consistency[2].number == 99.5);
    CHECK(consistency[3].value == "2026");

    CHECK(rules.card_filled.required.size() == 2);
    CHECK(rules.card_filled.required.at("Квалификация") == std::vector<std::string>{"Бюджет"});
    CHECK(rules.card_filled.required.at("КП отправлено") ==
          std::vector<std::string>{"Сумма КП", "Контакт"});
    CHECK(rules.card_filled.note_per_stage);
    CHECK(rules.card_filled.min_note_chars == 25);
    CHECK(rules.card_filled.common.actions == Actions{ActionKind::kNote, ActionKind::kRevert});

    CHECK(rules.overdue_task.grace == std::chrono::hours{4});
    CHECK(rules.overdue_task.common.actions == Actions{ActionKind::kNotify});
}

TEST_CASE("max_age may be written as a table and without a default") {
    const LoadResult result =
        Load(Tenant("[tenant.rules.actual_stage.max_age]\n"
                    "\"Новая\" = \"2d\"\n"));
    INFO(Dump(result.problems));
    REQUIRE(result.ok());
    const ActualStageConfig& actual = result.config.tenants[0].rules.actual_stage;
    CHECK_FALSE(actual.max_age_default.has_value());
    CHECK(actual.max_age.at("Новая") == std::chrono::days{2});
}

TEST_CASE("A bad duration names the key, the line and the accepted forms") {
    const LoadResult result =
        Load(Tenant("[tenant.rules.deal_without_task]\n"                       // 9
                    "grace = \"15 minutes\"\n"                                 // 10
                    "[tenant.rules.overdue_task]\n"                            // 11
                    "escalate_after = 24\n"                                    // 12
                    "[tenant.rules.actual_stage]\n"                            // 13
                    "max_age = { default = \"2w\", \"Новая\" = \"1d\" }\n"));  // 14
    INFO(Dump(result.problems));
    REQUIRE(result.problems.size() == 3);
    const ConfigProblem* grace =
        FindProblem(result, "tenant \"acme\".rules.deal_without_task.grace");
    REQUIRE(grace != nullptr);
    CHECK(grace->line == 10);
    CHECK(grace->message == "invalid duration \"15 minutes\" (use 30s, 15m, 4h or 14d)");
    CHECK(HasProblem(result, "tenant \"acme\".rules.overdue_task.escalate_after",
                     "must be a duration string"));
    const ConfigProblem* max_age =
        FindProblem(result, "tenant \"acme\".rules.actual_stage.max_age.default");
    REQUIRE(max_age != nullptr);
    CHECK(max_age->line == 14);
    CHECK(max_age->message == "invalid duration \"2w\" (use 30s, 15m, 4h or 14d)");
}

TEST_CASE("task_due: a day by default, configurable per rule, never seconds away") {
    {
        const LoadResult result = Load(Tenant());
        REQUIRE(result.ok());
        const RulesConfig& rules = result.config.tenants[0].rules;
        CHECK(rules.deal_without_task.common.task_due == std::chrono::hours{24});
        CHECK(rules.overdue_task.common.task_due == std::chrono::hours{24});
    }
    {
        const LoadResult result =
            Load(Tenant("[tenant.rules.deal_without_task]\n"
                        "task_due = \"4h\"\n"));
        INFO(Dump(result.problems));
        REQUIRE(result.ok());
        const RulesConfig& rules = result.config.tenants[0].rules;
        CHECK(rules.deal_without_task.common.task_due == std::chrono::hours{4});
        CHECK(rules.overdue_task.common.task_due == std::chrono::hours{24});
    }
    const LoadResult result =
        Load(Tenant("[tenant.rules.deal_without_task]\n"
                    "task_due = \"30s\"\n"
                    "[tenant.rules.overdue_task]\n"
                    "task_due = \"60d\"\n"));
    INFO(Dump(result.problems));
    REQUIRE(result.problems.size() == 2);
    for (const ConfigProblem& problem : result.problems) {
        CHECK(problem.key.ends_with(".task_due"));
        CHECK(problem.message == "must be between 15m and 30d");
    }
}

TEST_CASE("Actions are validated") {
    const LoadResult result =
        Load(Tenant("[tenant.rules.deal_without_task]\n"                        // 9
                    "actions = [\"task\", \"revert\", \"nofity\", \"task\"]\n"  // 10
                    "[tenant.rules.actual_stage]\n"                             // 11
                    "actions = \"note\"\n"));                                   // 12
    INFO(Dump(result.problems));
    REQUIRE(result.problems.size() == 4);
    const std::string path = "tenant \"acme\".rules.deal_without_task.actions";
    const ConfigProblem* revert = FindProblem(result, path + "[1]");
    REQUIRE(revert != nullptr);
    CHECK(revert->line == 10);
    CHECK(revert->message ==
          "action \"revert\" is only available for stage_order and card_filled, not "
          "deal_without_task");
    CHECK(HasProblem(result, path + "[2]", "unknown action \"nofity\""));
    CHECK(HasProblem(result, path + "[2]", "did you mean \"notify\""));
    CHECK(HasProblem(result, path + "[3]", "listed twice"));
    CHECK(HasProblem(result, "tenant \"acme\".rules.actual_stage.actions", "must be an array"));
    // The valid ones are kept.
    CHECK(result.config.tenants[0].rules.deal_without_task.common.actions ==
          Actions{ActionKind::kTask});
}

TEST_CASE("Unknown rule names are problems") {
    const LoadResult result =
        Load(Tenant("[tenant.rules.stage_ordr]\n"  // 9
                    "allow_backward = false\n"
                    "[tenant.rules.no_next_task]\n"  // 11
                    "grace = \"1h\"\n"));
    INFO(Dump(result.problems));
    REQUIRE(result.problems.size() == 2);
    const ConfigProblem* typo = FindProblem(result, "tenant \"acme\".rules.stage_ordr");
    REQUIRE(typo != nullptr);
    CHECK(typo->line == 9);
    CHECK(typo->message.find("unknown rule") == 0);
    CHECK(typo->message.find("did you mean \"stage_order\"") != std::string::npos);
    const ConfigProblem* other = FindProblem(result, "tenant \"acme\".rules.no_next_task");
    REQUIRE(other != nullptr);
    CHECK(other->line == 11);
}

TEST_CASE("Stage names referenced by rules must exist in a pipeline of the tenant") {
    const LoadResult result = Load(
        Tenant("[tenant.rules.stage_order]\n"                                               // 9
               "create_in = [\"Квалификация\", \"Квалификацыя\"]\n"                         // 10
               "[tenant.rules.actual_stage]\n"                                              // 11
               "max_age = { default = \"14d\", \"Счет выставлен\" = \"5d\" }\n"             // 12
               "consistency = [{ when_filled = \"Дата\", stage_at_least = \"Оплата\" }]\n"  // 13
               "[tenant.rules.card_filled]\n"                                               // 14
               "required = { \"Бюджет согласован\" = [\"Бюджет\"] }\n"));                   // 15
    INFO(Dump(result.problems));
    REQUIRE(result.problems.size() == 4);
    const ConfigProblem* create_in =
        FindProblem(result, "tenant \"acme\".rules.stage_order.create_in[1]");
    REQUIRE(create_in != nullptr);
    CHECK(create_in->line == 10);
    CHECK(create_in->message.find("unknown stage \"Квалификацыя\"") == 0);
    // One letter off in Cyrillic is one edit: the suggestion finds it.
    CHECK(create_in->message.find("did you mean \"Квалификация\"") != std::string::npos);
    const ConfigProblem* max_age =
        FindProblem(result, "tenant \"acme\".rules.actual_stage.max_age.\"Счет выставлен\"");
    REQUIRE(max_age != nullptr);
    CHECK(max_age->line == 12);
    CHECK(max_age->message.find("did you mean \"Счёт выставлен\"") != std::string::npos);
    const ConfigProblem* consistency =
        FindProblem(result, "tenant \"acme\".rules.actual_stage.consistency[0].stage_at_least");
    REQUIRE(consistency != nullptr);
    CHECK(consistency->line == 13);
    CHECK(consistency->message.find("unknown stage \"Оплата\"") == 0);
    const ConfigProblem* required =
        FindProblem(result, "tenant \"acme\".rules.card_filled.required.\"Бюджет согласован\"");
    REQUIRE(required != nullptr);
    CHECK(required->line == 15);
    CHECK(required->message.find("unknown stage \"Бюджет согласован\"") == 0);
}

TEST_CASE("Stages of any of the tenant's pipelines, of any kind, may be referenced") {
    const LoadResult result =
        Load(Tenant("[[tenant.pipeline]]\n"
                    "id = \"second\"\n"
                    "stages = [\"Другая\"]\n"
                    "[tenant.rules.stage_order]\n"
                    "create_in = [\"Другая\", \"Закрыто и не реализовано\"]\n"));
    INFO(Dump(result.problems));
    CHECK(result.ok());
}

TEST_CASE("Consistency entries need exactly one condition and a stage") {
    SUBCASE("two conditions") {
        const LoadResult result = Load(Tenant(
            "[tenant.rules.actual_stage]\n"
            "consistency = [{ when_filled = \"A\", when_at_least = { field = \"B\", value = 1 }, "
            "stage_at_least = \"Оплачено\" }]\n"));
        CHECK(HasProblem(result, "tenant \"acme\".rules.actual_stage.consistency[0]",
                         "has both when_filled and when_at_least"));
        CHECK(result.config.tenants[0].rules.actual_stage.consistency.empty());
    }
    SUBCASE("no condition and no stage") {
        const LoadResult result =
            Load(Tenant("[tenant.rules.actual_stage]\n"
                        "consistency = [{ when_fild = \"A\" }]\n"));
        INFO(Dump(result.problems));
        CHECK(HasProblem(result, "tenant \"acme\".rules.actual_stage.consistency[0]",
                         "needs one of when_filled, when_equals or when_at_least"));
        CHECK(HasProblem(result, "tenant \"acme\".rules.actual_stage.consistency[0].stage_at_least",
                         "required"));
        CHECK(HasProblem(result, "tenant \"acme\".rules.actual_stage.consistency[0].when_fild",
                         "did you mean \"when_filled\""));
        CHECK(result.problems.size() == 3);
    }
    SUBCASE("when_at_least needs a numeric value and a field") {
        const LoadResult result = Load(Tenant(
            "[tenant.rules.actual_stage]\n"
            "consistency = [{ when_at_least = { value = \"много\" }, stage_at_least = \"Новая\" "
            "}]\n"));
        INFO(Dump(result.problems));
        CHECK(HasProblem(result,
                         "tenant \"acme\".rules.actual_stage.consistency[0].when_at_least.field",
                         "required"));
        CHECK(HasProblem(result,
                         "tenant \"acme\".rules.actual_stage.consistency[0].when_at_least.value",
                         "must be a number"));
        CHECK(result.problems.size() == 2);
    }
    SUBCASE("an entry that is not a table") {
        const LoadResult result =
            Load(Tenant("[tenant.rules.actual_stage]\nconsistency = [\"Дата оплаты\"]\n"));
        CHECK(HasProblem(result, "tenant \"acme\".rules.actual_stage.consistency[0]",
                         "must be a table"));
    }
}

TEST_CASE("card_filled checks min_note_chars and its field lists") {
    const LoadResult result =
        Load(Tenant("[tenant.rules.card_filled]\n"
                    "min_note_chars = 0\n"
                    "required = { \"Новая\" = \"Бюджет\", \"Квалификация\" = [\"\"] }\n"));
    INFO(Dump(result.problems));
    CHECK(HasProblem(result, "tenant \"acme\".rules.card_filled.min_note_chars", "at least 1"));
    CHECK(HasProblem(result, "tenant \"acme\".rules.card_filled.required.\"Новая\"",
                     "must be an array of strings"));
    CHECK(HasProblem(result, "tenant \"acme\".rules.card_filled.required.\"Квалификация\"[0]",
                     "must name a field"));
    CHECK(result.problems.size() == 3);
    CHECK(result.config.tenants[0].rules.card_filled.min_note_chars == 10);
}

TEST_CASE("A rule key of the wrong type is reported, not silently ignored") {
    const LoadResult result =
        Load(Tenant("[tenant.rules.stage_order]\n"
                    "allow_backward = \"no\"\n"
                    "[tenant.rules]\n"
                    "overdue_task = 5\n"));
    INFO(Dump(result.problems));
    CHECK(HasProblem(result, "tenant \"acme\".rules.stage_order.allow_backward", "true or false"));
    CHECK(HasProblem(result, "tenant \"acme\".rules.overdue_task", "must be a table"));
    CHECK(result.config.tenants[0].rules.stage_order.allow_backward);
}

}  // namespace
}  // namespace fg::config

namespace fg::config {
namespace {

// An amoCRM tenant's rules: stages and fields are the account's, known once its directory is.
constexpr const char* kAmoRules = R"([[tenant]]
id = "beta"
secret = "s"
crm = "amocrm"
  [tenant.amocrm]
  subdomain = "beta"
  token = "tok"
  [tenant.rules.stage_order]
  create_in = ["Квалификация", "Переговоры"]
  [tenant.rules.actual_stage]
  max_age = { default = "14d", "КП отправленно" = "5d" }
  consistency = [ { when_filled = "Дата оплаты", stage_at_least = "Оплачено" },
                  { when_equals = { field = "Статус оплаты", value = "да" }, stage_at_least = "Оплачено" } ]
  [tenant.rules.card_filled]
  required = { "Квалификация" = ["Бюджет2", "Сумма КП"] }
)";

KnownNames AmoAccount() {
    return {.stages = {"Новая заявка", "Квалификация", "КП отправлено", "Оплачено", "Успешно"},
            .fields = std::vector<std::string>{"Бюджет", "Сумма КП", "Дата оплаты"}};
}

TEST_CASE("An amoCRM tenant's unknown stages and fields are reported once its directory is known") {
    const LoadResult result = testing::Load(kAmoRules);
    INFO(testing::Dump(result.problems));
    REQUIRE(result.ok());  // nothing to check against while loading
    const TenantConfig& tenant = result.config.tenants[0];
    const std::vector<ConfigProblem> problems = CheckNames(tenant, AmoAccount());
    INFO(testing::Dump(problems));
    REQUIRE(problems.size() == 4);
    auto find = [&problems](std::string_view key) -> const ConfigProblem* {
        for (const ConfigProblem& problem : problems) {
            if (problem.key == key) {
                return &problem;
            }
        }
        return nullptr;
    };
    const ConfigProblem* stage = find("tenant \"beta\".rules.stage_order.create_in[1]");
    REQUIRE(stage != nullptr);
    CHECK(stage->line == 9);
    CHECK(stage->message == "unknown stage \"Переговоры\"");
    const ConfigProblem* max_age =
        find("tenant \"beta\".rules.actual_stage.max_age.\"КП отправленно\"");
    REQUIRE(max_age != nullptr);
    CHECK(max_age->line == 11);
    CHECK(max_age->message == "unknown stage \"КП отправленно\" (did you mean \"КП отправлено\"?)");
    const ConfigProblem* equals =
        find("tenant \"beta\".rules.actual_stage.consistency[1].when_equals.field");
    REQUIRE(equals != nullptr);
    CHECK(equals->line == 13);
    CHECK(equals->message == "unknown field \"Статус оплаты\"");
    const ConfigProblem* field =
        find("tenant \"beta\".rules.card_filled.required.\"Квалификация\"[0]");
    REQUIRE(field != nullptr);
    CHECK(field->line == 15);
    CHECK(FormatProblem(*field) ==
          "test.toml:15: tenant \"beta\".rules.card_filled.required.\"Квалификация\"[0]: unknown "
          "field "
          "\"Бюджет2\" (did you mean \"Бюджет\"?)");
}

TEST_CASE("Field names are not checked when the directory has none; known names pass") {
    const LoadResult result = testing::Load(kAmoRules);
    REQUIRE(result.ok());
    KnownNames known = AmoAccount();
    known.fields.reset();
    const std::vector<ConfigProblem> stages_only = CheckNames(result.config.tenants[0], known);
    CHECK(stages_only.size() == 2);
    known = AmoAccount();
    known.stages.push_back("Переговоры");
    known.stages.push_back("КП отправленно");
    known.fields->push_back("Бюджет2");
    known.fields->push_back("Статус оплаты");
    CHECK(CheckNames(result.config.tenants[0], known).empty());
}

}  // namespace
}  // namespace fg::config
