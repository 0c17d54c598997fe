// What people read: one violation, a digest, an escalation, the morning summaries, in Russian
// and English, from overridable templates.
#include "src/notify/compose.hpp"

#include <doctest/doctest.h>

#include "src/app/adapters.hpp"
#include "tests/unit/notify/support.hpp"

namespace fg::notify {
namespace {

using testing::Violation;
using namespace std::chrono_literals;

TEST_CASE("Fill: placeholders become spans, lines become blocks, unknown ones stay") {
    const auto blocks = Fill("⚠️ {rule}\n{deal}: {x} {message}",
                             {{"rule", Span{.text = "R", .bold = true}},
                              {"deal", Span{.text = "D", .url = "https://d"}},
                              {"message", Span{.text = "m"}}});
    REQUIRE(blocks.size() == 2);
    REQUIRE(blocks[0].spans.size() == 2);
    CHECK(blocks[0].spans[0].text == "⚠️ ");
    CHECK(blocks[0].spans[1].text == "R");
    CHECK(blocks[0].spans[1].bold);
    REQUIRE(blocks[1].spans.size() == 2);
    CHECK(blocks[1].spans[0].url == "https://d");
    CHECK(blocks[1].spans[1].text == ": {x} m");
}

TEST_CASE("One violation, in Russian: rule, deal link, what is wrong, what to do, button") {
    const config::TenantConfig tenant = testing::Tenant();
    const Message message = ComposeNotify(tenant, Violation(42, "u1"));
    CHECK(PlainText(message) ==
          "⚠️ Сделка без задачи\n"
          "ООО «Ромашка» <42>: нет открытой задачи\n"
          "Что сделать: поставьте задачу на следующий шаг по сделке\n"
          "#V-42");
    CHECK(message.blocks[0].spans[1].bold);
    CHECK(message.blocks[1].spans[0].text == "ООО «Ромашка» <42>");  // plain: escaped later
    CHECK(message.blocks[1].spans[0].url == "https://acme.amocrm.ru/leads/detail/1042");
    REQUIRE(message.buttons.size() == 1);
    CHECK(message.buttons[0].label == "Открыть сделку");
    CHECK(message.buttons[0].url == "https://acme.amocrm.ru/leads/detail/1042");
    CHECK(message.reference == "#V-42");
}

TEST_CASE("One violation, in English, and without a deal URL") {
    config::TenantConfig tenant = testing::Tenant("en");
    tenant.deal_url.clear();
    const Message message = ComposeNotify(tenant, Violation(7, "u1", "overdue_task"));
    CHECK(PlainText(message) ==
          "⚠️ Overdue task\n"
          "ООО «Ромашка» <7>: нет открытой задачи\n"
          "What to do: complete the task or move its due date\n"
          "#V-7");
    CHECK(message.blocks[1].spans[0].url.empty());
    CHECK(message.buttons.empty());
}

TEST_CASE("Every rule has a title and a to-do in both languages") {
    for (const std::string locale : {"ru", "en"}) {
        const config::TenantConfig tenant = testing::Tenant(locale);
        for (const char* rule :
             {"stage_order", "deal_without_task", "actual_stage", "card_filled", "overdue_task"}) {
            CHECK(RuleTitle(tenant, rule) != rule);
            CHECK_FALSE(RuleTodo(tenant, rule).empty());
        }
    }
}

TEST_CASE("A digest: one header line, one block per violation, every reference") {
    const config::TenantConfig tenant = testing::Tenant();
    const auto a = Violation(1, "u1");
    const auto b = Violation(2, "u1", "overdue_task");
    const auto c = Violation(3, "u1", "stage_order");
    const Message message = ComposeDigest(tenant, {&a, &b, &c});
    REQUIRE(message.blocks.size() == 4);
    CHECK(PlainText(message) ==
          "⚠️ Новые нарушения: 3\n"
          "• Сделка без задачи: ООО «Ромашка» <1> — нет открытой задачи (#V-1)\n"
          "• Просроченная задача: ООО «Ромашка» <2> — нет открытой задачи (#V-2)\n"
          "• Пропущен этап воронки: ООО «Ромашка» <3> — нет открытой задачи (#V-3)\n"
          "#V-1 #V-2 #V-3");
    CHECK(message.blocks[2].spans[3].url == "https://acme.amocrm.ru/leads/detail/1002");
}

TEST_CASE("An escalation names the manager and how long it is open, with an ack button") {
    const config::TenantConfig tenant = testing::Tenant();
    const auto action = Violation(9, "u1", "deal_without_task", domain::ActionKind::kEscalate);
    const Message message = ComposeEscalation(tenant, action, "Иван Петров", 26h);
    const std::string text = PlainText(message);
    CHECK(text.find("🔺 Эскалация: Сделка без задачи") == 0);
    CHECK(text.find("Менеджер: Иван Петров, не исправлено уже 1 дн 2 ч") != std::string::npos);
    REQUIRE(message.buttons.size() == 2);
    CHECK(message.buttons[1].label == "Принято");
    CHECK(message.buttons[1].callback == "ack:v:9");
    CHECK(message.buttons[1].url.empty());

    const Message english = ComposeEscalation(testing::Tenant("en"), action, "Ivan", 2h);
    CHECK(PlainText(english).find("Manager: Ivan, open for 2 h") != std::string::npos);
    CHECK(english.buttons[1].label == "Acknowledge");
}

TEST_CASE("The covering line comes first") {
    const config::TenantConfig tenant = testing::Tenant();
    Message message = ComposeNotify(tenant, Violation(5, "u2"));
    AddCoveringLine(tenant, message, "Олег Сидоров");
    CHECK(PlainText(message).find("Олег Сидоров не подключён к чату, сообщение для "
                                  "него\n⚠️") == 0);
    Message english = ComposeNotify(testing::Tenant("en"), Violation(5, "u2"));
    AddCoveringLine(testing::Tenant("en"), english, "Oleg");
    CHECK(PlainText(english).find("Oleg is not connected to the chat; this message is for them") ==
          0);
}

outbox::SummaryItem Item(std::int64_t id, const std::string& manager, const std::string& rule) {
    return {.violation_id = id,
            .deal = std::to_string(100 + id),
            .deal_title = "Сделка " + std::to_string(id),
            .rule = rule,
            .responsible = manager,
            .message = "m" + std::to_string(id)};
}

TEST_CASE("A manager's morning summary lists their open violations") {
    outbox::SummaryBody summary{.to = "u1", .day = "2026-11-03"};
    summary.open = {Item(1, "u1", "overdue_task"), Item(2, "u1", "deal_without_task")};
    const Message ru = ComposeManagerSummary(testing::Tenant(), summary, "Иван Петров");
    CHECK(PlainText(ru) ==
          "☀️ Доброе утро, Иван Петров! Открытых нарушений: "
          "2\n"
          "• Просроченная задача: Сделка 1 — m1 (#V-1)\n"
          "• Сделка без задачи: Сделка 2 — m2 (#V-2)");
    const Message en = ComposeManagerSummary(testing::Tenant("en"), summary, "Ivan");
    CHECK(PlainText(en).find("☀️ Good morning, Ivan! Open violations: 2\n• Overdue task") ==
          0);
}

TEST_CASE("A head's morning summary: a line per manager, worst offenders first") {
    outbox::SummaryBody summary{.to = "h1", .day = "2026-11-03"};
    summary.open = {Item(1, "u1", "overdue_task"), Item(2, "u2", "overdue_task"),
                    Item(3, "u2", "deal_without_task"), Item(4, "u2", "overdue_task")};
    summary.fresh = {Item(1, "u1", "overdue_task"), Item(5, "u1", "stage_order")};
    const auto names = [](const std::string& user) {
        return user == "u1" ? std::string("Иван Петров") : std::string("Олег Сидоров");
    };
    const Message ru = ComposeHeadSummary(testing::Tenant(), summary, "Анна Смирнова", names);
    CHECK(PlainText(ru) ==
          "☀️ Сводка по команде на 2026-11-03, Анна Смирнова: открыто 4, новых за сутки "
          "2\n"
          "Иван Петров: открыто 1, новых 2 — Просроченная задача 1/+1, Пропущен этап "
          "воронки 0/+1\n"
          "Олег Сидоров: открыто 3, новых 0 — Сделка без задачи 1/+0, Просроченная задача 2/+0");
    CHECK(ru.blocks[1].spans[0].bold);
    const Message en = ComposeHeadSummary(testing::Tenant("en"), summary, "Anna", names);
    CHECK(PlainText(en).find("☀️ Team summary for 2026-11-03, Anna: 4 open, 2 new in the last "
                             "day\nИван Петров: 1 open, 2 new — Overdue task 1/+1") == 0);
}

TEST_CASE("Every text can be overridden from [tenant.templates]") {
    config::TenantConfig tenant = testing::Tenant();
    tenant.templates["chat.notify"] = "{rule} / {deal} / {todo}";
    tenant.templates["chat.rule.deal_without_task"] = "Нет задачи";
    tenant.templates["chat.todo.deal_without_task"] = "позвоните клиенту";
    tenant.templates["chat.open_deal"] = "В CRM";
    const Message message = ComposeNotify(tenant, Violation(1, "u1"));
    CHECK(PlainText(message) == "Нет задачи / ООО «Ромашка» <1> / позвоните клиенту\n#V-1");
    CHECK(message.buttons[0].label == "В CRM");
}

TEST_CASE("The config accepts every chat template key compose reads") {
    std::string templates = "[tenant.templates]\n";
    for (const std::string& key : ChatTemplateKeys()) {
        templates += "\"" + key + "\" = \"x\"\n";
    }
    const config::LoadResult result = config::LoadConfigFromString(
        "[[tenant]]\nid = \"acme\"\nsecret = \"s\"\n[[tenant.pipeline]]\nid = \"main\"\n"
        "stages = [\"A\"]\n" +
            templates,
        "test.toml", fg::app::CrmSchemas(), "/cfg");
    std::string problems;
    for (const auto& problem : result.problems) {
        problems += config::FormatProblem(problem) + "\n";
    }
    INFO(problems);
    CHECK(result.ok());
    CHECK(result.config.tenants[0].templates.size() == ChatTemplateKeys().size());
}

}  // namespace
}  // namespace fg::notify
