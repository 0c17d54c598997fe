// deal_without_task: no open deal goes without a planned next step (DESIGN.md §1).
#include <algorithm>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "src/rules/catalog.hpp"
#include "src/rules/support.hpp"

namespace fg::rules {
// A namespace of its own, not an anonymous one: the rules are compiled together (FG_UNITY).
namespace deal_without_task_rule {

using domain::StageKind;

constexpr std::string_view kRuleId = "deal_without_task";

/// When the deal last became a deal that needs a task: the latest of its creation, entering an open
/// stage from a closed (or intake) one or from nothing, and a task being completed or deleted.
Timestamp GraceStart(const RuleInput& input) {
    const domain::DealSnapshot& snapshot = input.snapshot;
    const domain::Pipeline& pipeline = *input.pipeline;
    Timestamp start = snapshot.deal.created_at;

    const support::HistoryAsOf history_as_of(input);
    const std::span<const domain::StageChange> history = history_as_of.entries();
    for (std::size_t i = 0; i < history.size(); ++i) {
        const domain::Stage* stage = support::StageIn(pipeline, history[i]);
        if (stage == nullptr || stage->kind != StageKind::kOpen) {
            continue;
        }
        bool entered_open = i == 0;
        if (i > 0 && history[i - 1].pipeline == history[i].pipeline) {
            const domain::Stage* previous = support::StageIn(pipeline, history[i - 1]);
            entered_open = previous != nullptr && previous->kind != StageKind::kOpen;
        }
        if (entered_open) {
            start = std::max(start, history[i].at);
        }
    }
    for (const domain::Task& task : snapshot.tasks) {
        const std::optional<Timestamp> closed = support::TaskClosedAt(task);
        if (closed && *closed <= input.now) {
            start = std::max(start, *closed);
        }
    }
    return start;
}

Evaluation Evaluate(const RuleInput& input) {
    Evaluation evaluation;
    if (!IsOpen(input.snapshot, input.pipeline)) {
        return evaluation;
    }
    const bool has_open_task = std::any_of(
        input.snapshot.tasks.begin(), input.snapshot.tasks.end(),
        [&input](const domain::Task& task) { return support::TaskOpenAt(task, input.now); });
    if (has_open_task) {
        return evaluation;
    }
    const Duration grace = input.config.deal_without_task.grace;
    const Timestamp start = GraceStart(input);
    if (input.now - start <= grace) {
        evaluation.wake_at = start + grace + Duration{1};
        return evaluation;
    }
    const Duration without = input.now - start;
    evaluation.findings.push_back(Finding{
        .rule = std::string(kRuleId),
        .key = fmt::format("since:{}", ToEpoch(start)),
        .responsible = input.snapshot.deal.responsible,
        .since = start + grace,
        .details = {{"grace", CompactDuration(grace)},
                    {"without_task_for", CompactDuration(without)},
                    {"without_task_since", FormatIso8601(start)},
                    {"reason",
                     fmt::format("по сделке нет открытых задач уже {} (допустимо {})",
                                 HumanDuration(without, "ru"), HumanDuration(grace, "ru"))},
                    {"reason_en",
                     fmt::format("the deal has had no open task for {} (allowed: {})",
                                 HumanDuration(without, "en"), HumanDuration(grace, "en"))}},
    });
    return evaluation;
}

const config::RuleCommon& Common(const config::RulesConfig& config) {
    return config.deal_without_task.common;
}

}  // namespace deal_without_task_rule

const RuleSpec kDealWithoutTask{
    .id = deal_without_task_rule::kRuleId,
    .evaluate = &deal_without_task_rule::Evaluate,
    .common = &deal_without_task_rule::Common,
    .texts =
        {
            .message_ru = "Сделка «{deal}»: {reason}. Запланируйте следующий шаг — поставьте "
                          "задачу.",
            .message_en = "Deal “{deal}”: {reason_en}. Plan the next step: add a task.",
            .task_ru = "Запланируйте следующий шаг по сделке «{deal}»",
            .task_en = "Plan the next step for deal “{deal}”",
        },
    .open_deals_only = true,
    .resolution = "cleared",
};

}  // namespace fg::rules
