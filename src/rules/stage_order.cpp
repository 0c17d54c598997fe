// stage_order: a deal moves stage by stage, never skipping (DESIGN.md §1).
#include <algorithm>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "src/rules/catalog.hpp"
#include "src/rules/support.hpp"

namespace fg::rules {
// A namespace of its own, not an anonymous one: the rules are compiled together (FG_UNITY).
namespace stage_order_rule {

using domain::Stage;
using domain::StageChange;
using domain::StageKind;

constexpr std::string_view kRuleId = "stage_order";

enum class Kind { kSkip, kCreated, kLostEarly, kBackward };

std::string_view ToString(Kind kind) {
    switch (kind) {
        case Kind::kSkip:
            return "skip";
        case Kind::kCreated:
            return "created";
        case Kind::kLostEarly:
            return "lost_early";
        case Kind::kBackward:
            return "backward";
    }
    return "skip";
}

/// One judged transition that breaks the order, before the correction check.
struct Breach {
    Kind kind = Kind::kSkip;
    std::string from{};  // empty for a creation
    std::string to{};
    std::vector<std::string> skipped{};  // stage names in pipeline order
    std::string revert_to{};
    // The breach is corrected once a later entry's order is <= this (>= for a backward move).
    int correct_order = 0;
};

/// The names of the ordered stages with positions in [begin, end).
std::vector<std::string> NamesBetween(const domain::Pipeline& pipeline, int begin, int end) {
    std::vector<std::string> names;
    const std::vector<const Stage*> ordered = pipeline.Ordered();
    for (int i = std::max(begin, 0); i < end && i < static_cast<int>(ordered.size()); ++i) {
        names.push_back(ordered[static_cast<std::size_t>(i)]->name);
    }
    return names;
}

/// Position of the last open stage in the funnel order, or -1 when there is none.
int LastOpenOrder(const domain::Pipeline& pipeline) {
    int last = -1;
    int index = 0;
    for (const Stage* stage : pipeline.Ordered()) {
        if (stage->kind == StageKind::kOpen) {
            last = index;
        }
        ++index;
    }
    return last;
}

bool Listed(const std::vector<std::string>& names, const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

/// A deal that appears in `to` from nothing (creation) or from an intake stage (`from`).
std::optional<Breach> JudgeEntry(const domain::Pipeline& pipeline,
                                 const config::StageOrderConfig& config, const std::string& from,
                                 const Stage& to) {
    const std::optional<int> order = pipeline.OrderOf(to.name);
    if (!order || *order == 0 || Listed(config.create_in, to.name)) {
        return std::nullopt;
    }
    std::vector<std::string> skipped = NamesBetween(pipeline, 0, *order);
    std::string revert_to = skipped.front();
    return Breach{.kind = from.empty() ? Kind::kCreated : Kind::kSkip,
                  .from = from,
                  .to = to.name,
                  .skipped = std::move(skipped),
                  .revert_to = std::move(revert_to),
                  .correct_order = 0};
}

/// A move between two stages of the funnel order, or from one of them to a lost stage.
std::optional<Breach> JudgeMove(const domain::Pipeline& pipeline,
                                const config::StageOrderConfig& config, const Stage& from,
                                const Stage& to) {
    const std::optional<int> from_order = pipeline.OrderOf(from.name);
    if (!from_order) {
        return std::nullopt;
    }
    if (to.kind == StageKind::kLost) {
        const int last_open = LastOpenOrder(pipeline);
        if (config.lost_from_any || from.kind != StageKind::kOpen || *from_order >= last_open) {
            return std::nullopt;
        }
        std::vector<std::string> skipped = NamesBetween(pipeline, *from_order + 1, last_open + 1);
        std::string revert_to = skipped.front();
        return Breach{.kind = Kind::kLostEarly,
                      .from = from.name,
                      .to = to.name,
                      .skipped = std::move(skipped),
                      .revert_to = std::move(revert_to),
                      .correct_order = *from_order + 1};
    }
    const std::optional<int> to_order = pipeline.OrderOf(to.name);
    if (!to_order) {
        return std::nullopt;  // into intake: outside the funnel
    }
    if (*to_order > *from_order + 1) {
        std::vector<std::string> skipped = NamesBetween(pipeline, *from_order + 1, *to_order);
        std::string revert_to = skipped.front();
        return Breach{.kind = Kind::kSkip,
                      .from = from.name,
                      .to = to.name,
                      .skipped = std::move(skipped),
                      .revert_to = std::move(revert_to),
                      .correct_order = *from_order + 1};
    }
    if (*to_order < *from_order && !config.allow_backward) {
        return Breach{.kind = Kind::kBackward,
                      .from = from.name,
                      .to = to.name,
                      .skipped = {},
                      .revert_to = from.name,
                      .correct_order = *from_order};
    }
    return std::nullopt;
}

/// Whether a later entry of the pipeline put the deal back where it may be (a revert does this).
bool Corrected(const domain::Pipeline& pipeline, std::span<const StageChange> history,
               std::size_t index, const Breach& breach) {
    for (std::size_t j = index + 1; j < history.size(); ++j) {
        if (history[j].pipeline != pipeline.id) {
            continue;
        }
        const std::optional<int> order = pipeline.OrderOf(history[j].stage);
        if (!order) {
            continue;
        }
        if (breach.kind == Kind::kBackward ? *order >= breach.correct_order
                                           : *order <= breach.correct_order) {
            return true;
        }
    }
    return false;
}

std::pair<std::string, std::string> Reasons(const Breach& breach) {
    const std::string skipped = support::Join(breach.skipped);
    switch (breach.kind) {
        case Kind::kCreated:
            return {fmt::format("сделка создана сразу на этапе «{}», минуя этапы: {}", breach.to,
                                skipped),
                    fmt::format("the deal was created directly in “{}”, bypassing {}", breach.to,
                                skipped)};
        case Kind::kLostEarly:
            return {fmt::format("сделка закрыта как «{}» с этапа «{}», минуя этапы: {}", breach.to,
                                breach.from, skipped),
                    fmt::format("the deal was closed as “{}” from “{}”, bypassing {}", breach.to,
                                breach.from, skipped)};
        case Kind::kBackward:
            return {
                fmt::format("сделку вернули с этапа «{}» на «{}», а движение назад не разрешено",
                            breach.from, breach.to),
                fmt::format("the deal was moved back from “{}” to “{}”, which is not allowed",
                            breach.from, breach.to)};
        case Kind::kSkip:
            break;
    }
    return {fmt::format("сделка перешла из «{}» в «{}», пропустив этапы: {}", breach.from,
                        breach.to, skipped),
            fmt::format("the deal moved from “{}” to “{}”, skipping {}", breach.from, breach.to,
                        skipped)};
}

Finding MakeFinding(const domain::DealSnapshot& snapshot, const StageChange& entry,
                    const Breach& breach) {
    auto [reason_ru, reason_en] = Reasons(breach);
    Finding finding{
        .rule = std::string(kRuleId),
        .key = fmt::format("{}:{}->{}", ToEpoch(entry.at), breach.from, breach.to),
        .responsible = snapshot.deal.responsible,
        .since = entry.at,
        .details = {{"kind", ToString(breach.kind)},
                    {"from", breach.from},
                    {"to", breach.to},
                    {"skipped", breach.skipped},
                    {"at", FormatIso8601(entry.at)},
                    {"revert_to", breach.revert_to},
                    {"reason", std::move(reason_ru)},
                    {"reason_en", std::move(reason_en)}},
        .revert_to = breach.revert_to,
    };
    return finding;
}

Evaluation Evaluate(const RuleInput& input) {
    Evaluation evaluation;
    if (input.pipeline == nullptr) {
        return evaluation;  // stage order unknowable
    }
    const domain::Pipeline& pipeline = *input.pipeline;
    const config::StageOrderConfig& config = input.config.stage_order;
    const support::HistoryAsOf history_as_of(input);
    const std::span<const StageChange> history = history_as_of.entries();

    for (std::size_t i = 0; i < history.size(); ++i) {
        const StageChange& current = history[i];
        // funnelguard's own moves (reverts) are never judged, but are the "from" of the next one.
        if (current.own) {
            continue;
        }
        const Stage* to = support::StageIn(pipeline, current);
        if (to == nullptr) {
            continue;
        }
        std::optional<Breach> breach;
        if (i == 0) {
            breach = JudgeEntry(pipeline, config, "", *to);  // the creation
        } else {
            const StageChange& previous = history[i - 1];
            const Stage* from = support::StageIn(pipeline, previous);
            if (previous.pipeline != current.pipeline || from == nullptr) {
                continue;  // a move between pipelines is recorded, not judged
            }
            if (from->kind == StageKind::kLost) {
                continue;  // reopening a lost deal
            }
            breach = from->kind == StageKind::kIntake
                         ? JudgeEntry(pipeline, config, from->name, *to)
                         : JudgeMove(pipeline, config, *from, *to);
        }
        if (!breach || Corrected(pipeline, history, i, *breach)) {
            continue;
        }
        Finding finding = MakeFinding(input.snapshot, current, *breach);
        const bool duplicate =
            std::any_of(evaluation.findings.begin(), evaluation.findings.end(),
                        [&finding](const Finding& other) { return other.key == finding.key; });
        if (!duplicate) {
            evaluation.findings.push_back(std::move(finding));
        }
    }
    return evaluation;
}

const config::RuleCommon& Common(const config::RulesConfig& config) {
    return config.stage_order.common;
}

}  // namespace stage_order_rule

const RuleSpec kStageOrder{
    .id = stage_order_rule::kRuleId,
    .evaluate = &stage_order_rule::Evaluate,
    .common = &stage_order_rule::Common,
    .texts =
        {
            .message_ru = "Сделка «{deal}»: {reason}. Верните сделку на этап «{revert_to}» и "
                          "пройдите этапы по порядку.",
            .message_en = "Deal “{deal}”: {reason_en}. Move the deal back to “{revert_to}” and go "
                          "through the stages in order.",
            .task_ru = "Верните сделку «{deal}» на этап «{revert_to}» и пройдите этапы по порядку",
            .task_en =
                "Move deal “{deal}” back to “{revert_to}” and go through the stages in order",
        },
    .open_deals_only = false,
    .resolution = "corrected",
};

}  // namespace fg::rules
