// The default chat texts, Russian and English, and how an override replaces them.
#include <array>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "src/notify/compose.hpp"

namespace fg::notify {
namespace {

struct DefaultText {
    std::string_view key{};
    std::string_view ru{};
    std::string_view en{};
};

constexpr std::array<DefaultText, 22> kDefaults = {{
    {"chat.notify", "⚠️ {rule}\n{deal}: {reason}\nЧто сделать: {todo}",
     "⚠️ {rule}\n{deal}: {reason}\nWhat to do: {todo}"},
    {"chat.escalate",
     "🔺 Эскалация: {rule}\n{deal}: {reason}\nМенеджер: {manager}, не исправлено уже "
     "{open_for}\nЧто сделать: {todo}",
     "🔺 Escalation: {rule}\n{deal}: {reason}\nManager: {manager}, open for {open_for}\nWhat "
     "to do: {todo}"},
    {"chat.digest_header", "⚠️ Новые нарушения: {count}",
     "⚠️ New violations: {count}"},
    {"chat.digest_item", "• {rule}: {deal} — {reason} ({reference})",
     "• {rule}: {deal} — {reason} ({reference})"},
    {"chat.escalate_header", "🔺 Эскалации: {count}", "🔺 Escalations: {count}"},
    {"chat.escalate_item",
     "• {rule}: {deal} — {reason}; менеджер {manager}, не исправлено уже {open_for} "
     "({reference})",
     "• {rule}: {deal} — {reason}; manager {manager}, open for {open_for} ({reference})"},
    {"chat.summary_manager",
     "☀️ Доброе утро, {name}! Открытых нарушений: {count}",
     "☀️ Good morning, {name}! Open violations: {count}"},
    {"chat.summary_head",
     "☀️ Сводка по команде на {day}, {name}: открыто {open}, новых за сутки "
     "{fresh}",
     "☀️ Team summary for {day}, {name}: {open} open, {fresh} new in the last day"},
    {"chat.summary_head_line", "{manager}: открыто {open}, новых {fresh} — {rules}",
     "{manager}: {open} open, {fresh} new — {rules}"},
    {"chat.covering", "{person} не подключён к чату, сообщение для него",
     "{person} is not connected to the chat; this message is for them"},
    {"chat.open_deal", "Открыть сделку", "Open deal"},
    {"chat.ack", "Принято", "Acknowledge"},
    {"chat.rule.stage_order", "Пропущен этап воронки", "A pipeline stage was skipped"},
    {"chat.rule.deal_without_task", "Сделка без задачи", "Deal without a task"},
    {"chat.rule.actual_stage", "Сделка не на своём этапе", "Deal is not at its actual stage"},
    {"chat.rule.card_filled", "Карточка сделки не заполнена", "Deal card is not filled in"},
    {"chat.rule.overdue_task", "Просроченная задача", "Overdue task"},
    {"chat.todo.stage_order", "верните сделку на пропущенный этап и пройдите этапы по порядку",
     "move the deal back to the skipped stage and go through the stages in order"},
    {"chat.todo.deal_without_task", "поставьте задачу на следующий шаг по сделке",
     "create a task for the next step"},
    {"chat.todo.actual_stage", "переведите сделку на этап, на котором она на самом деле",
     "move the deal to the stage it is actually at"},
    {"chat.todo.card_filled", "заполните обязательные поля карточки и добавьте примечание",
     "fill in the card's required fields and add a note"},
    {"chat.todo.overdue_task", "выполните задачу или перенесите её срок",
     "complete the task or move its due date"},
}};

}  // namespace

std::string Text(const config::TenantConfig& tenant, std::string_view key) {
    if (const auto found = tenant.templates.find(std::string(key));
        found != tenant.templates.end()) {
        return found->second;
    }
    const bool english = tenant.locale == "en";
    for (const DefaultText& text : kDefaults) {
        if (text.key == key) {
            return std::string(english ? text.en : text.ru);
        }
    }
    return {};
}

std::string RuleTitle(const config::TenantConfig& tenant, std::string_view rule) {
    std::string title = Text(tenant, fmt::format("chat.rule.{}", rule));
    return title.empty() ? std::string(rule) : title;
}

std::string RuleTodo(const config::TenantConfig& tenant, std::string_view rule) {
    return Text(tenant, fmt::format("chat.todo.{}", rule));
}

std::vector<std::string> ChatTemplateKeys() {
    std::vector<std::string> keys;
    for (const DefaultText& text : kDefaults) {
        keys.emplace_back(text.key);
    }
    return keys;
}

}  // namespace fg::notify
