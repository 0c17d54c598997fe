// overdue_task: no open deal with overdue tasks (DESIGN.md §1); one finding per task.
// funnelguard's own tasks are judged too: each is a real task of the manager's, with a due time
// funnelguard set a task_due ahead (docs/rules.md, "Interplay with funnelguard's own actions").
#include <string>

#include <fmt/format.h>

#include "src/rules/catalog.hpp"
#include "src/rules/support.hpp"

namespace fg::rules {
// A namespace of its own, not an anonymous one: the rules are compiled together (FG_UNITY).
namespace overdue_task_rule {

constexpr std::string_view kRuleId = "overdue_task";

Evaluation Evaluate(const RuleInput& input) {
    Evaluation evaluation;
    if (!IsOpen(input.snapshot, input.pipeline)) {
        return evaluation;
    }
    const Duration grace = input.config.overdue_task.grace;
    for (const domain::Task& task : input.snapshot.tasks) {
        if (!task.due || !support::TaskOpenAt(task, input.now)) {
            continue;
        }
        const Timestamp overdue_from = *task.due + grace;
        if (input.now <= overdue_from) {
            // Not overdue yet (or rescheduled into the future): wake when it becomes overdue.
            const Timestamp wake = overdue_from + Duration{1};
            if (!evaluation.wake_at || wake < *evaluation.wake_at) {
                evaluation.wake_at = wake;
            }
            continue;
        }
        const Duration overdue_for = input.now - *task.due;
        evaluation.findings.push_back(Finding{
            .rule = std::string(kRuleId),
            .key = fmt::format("task:{}", task.id),
            .responsible =
                task.responsible.empty() ? input.snapshot.deal.responsible : task.responsible,
            .since = overdue_from,
            .details = {{"task_id", task.id},
                        {"text", task.text},
                        {"due", FormatIso8601(*task.due)},
                        {"overdue_for", CompactDuration(overdue_for)},
                        {"grace", CompactDuration(grace)},
                        {"reschedules", task.reschedules},
                        {"by_funnelguard", task.own},
                        {"reason", fmt::format("задача «{}» просрочена на {}", task.text,
                                               HumanDuration(overdue_for, "ru"))},
                        {"reason_en", fmt::format("task “{}” is {} overdue", task.text,
                                                  HumanDuration(overdue_for, "en"))}},
            .about_own_task = task.own,
        });
    }
    return evaluation;
}

const config::RuleCommon& Common(const config::RulesConfig& config) {
    return config.overdue_task.common;
}

}  // namespace overdue_task_rule

const RuleSpec kOverdueTask{
    .id = overdue_task_rule::kRuleId,
    .evaluate = &overdue_task_rule::Evaluate,
    .common = &overdue_task_rule::Common,
    .texts =
        {
            .message_ru = "Сделка «{deal}»: {reason} (срок {due}). Выполните задачу или "
                          "перенесите её на реальный срок.",
            .message_en = "Deal “{deal}”: {reason_en} (due {due}). Complete the task or move it "
                          "to a real due date.",
            .task_ru = "Выполните или перенесите просроченную задачу «{text}» по сделке «{deal}»",
            .task_en = "Complete or reschedule the overdue task “{text}” of deal “{deal}”",
        },
    .open_deals_only = true,
    .resolution = "cleared",
};

}  // namespace fg::rules
