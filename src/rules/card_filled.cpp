// card_filled: the card is filled before the deal moves on (DESIGN.md §1): (a) fields required
// from a stage on, accumulating along the funnel; (b) with note_per_stage, a note in every stage
// the deal left forward.
#include <algorithm>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "src/rules/catalog.hpp"
#include "src/rules/support.hpp"

namespace fg::rules {
// A namespace of its own, not an anonymous one: the rules are compiled together (FG_UNITY).
namespace card_filled_rule {

using domain::Stage;
using domain::StageChange;

constexpr std::string_view kRuleId = "card_filled";

/// The stage whose requirements apply: the current one when it is open or won; for a lost deal
/// the last open or won stage it reached, so closing a deal does not clear what it skipped.
std::optional<std::string> EffectiveStage(const domain::DealSnapshot& snapshot,
                                          const domain::Pipeline& pipeline,
                                          std::span<const StageChange> history) {
    const Stage* current = pipeline.Find(snapshot.deal.stage);
    if (current == nullptr) {
        return std::nullopt;
    }
    if (support::IsOrdered(*current)) {
        return current->name;
    }
    if (current->kind != domain::StageKind::kLost) {
        return std::nullopt;
    }
    for (auto it = history.rbegin(); it != history.rend(); ++it) {
        const Stage* stage = support::StageIn(pipeline, *it);
        if (stage != nullptr && support::IsOrdered(*stage)) {
            return stage->name;
        }
    }
    return std::nullopt;
}

/// When the deal last reached `order` or later: the index of the first entry of the latest run of
/// entries at that order or later (lost entries and other pipelines neither start nor end a
/// run); nullopt when no entry starts one (then the deal has been there since its creation).
std::optional<std::size_t> ReachedAt(const domain::Pipeline& pipeline,
                                     std::span<const StageChange> history, int order) {
    std::optional<std::size_t> run_start;
    for (std::size_t i = 0; i < history.size(); ++i) {
        const Stage* stage = support::StageIn(pipeline, history[i]);
        if (stage == nullptr || stage->kind == domain::StageKind::kLost) {
            continue;
        }
        const std::optional<int> entry_order = pipeline.OrderOf(stage->name);
        if (!entry_order || *entry_order < order) {
            run_start.reset();  // intake, or before the stage
        } else if (!run_start) {
            run_start = i;
        }
    }
    return run_start;
}

/// The index of the entry that began the deal's current stay when it is funnelguard's own move
/// (a revert), else nullopt.
std::optional<std::size_t> OwnStayStart(std::span<const StageChange> history) {
    if (history.empty()) {
        return std::nullopt;
    }
    std::size_t first = history.size() - 1;
    while (first > 0 && history[first - 1].stage == history[first].stage &&
           history[first - 1].pipeline == history[first].pipeline) {
        --first;
    }
    return history[first].own ? std::optional<std::size_t>(first) : std::nullopt;
}

void CheckRequired(const RuleInput& input, std::span<const StageChange> history,
                   Evaluation& evaluation) {
    const domain::Pipeline& pipeline = *input.pipeline;
    const domain::Deal& deal = input.snapshot.deal;
    const std::optional<std::string> stage = EffectiveStage(input.snapshot, pipeline, history);
    if (!stage) {
        return;
    }
    const int current = *pipeline.OrderOf(*stage);
    const std::vector<const Stage*> ordered = pipeline.Ordered();
    const std::optional<std::size_t> own_stay = OwnStayStart(history);
    // Walk the funnel so findings come out in pipeline order.
    for (int order = 0; order <= current; ++order) {
        const std::string& requiring = ordered[static_cast<std::size_t>(order)]->name;
        const auto required = input.config.card_filled.required.find(requiring);
        if (required == input.config.card_filled.required.end()) {
            continue;
        }
        std::vector<std::string> missing;
        for (const std::string& field : required->second) {
            const auto value = deal.fields.find(field);
            if (value == deal.fields.end() || support::IsBlank(value->second)) {
                missing.push_back(field);
            }
        }
        if (missing.empty()) {
            continue;
        }
        const std::optional<std::size_t> reached = ReachedAt(pipeline, history, order);
        if (reached && reached == own_stay) {
            // Only funnelguard's own move (a revert forward, after a move back that was not
            // allowed) brought the deal to this stage: judged once anyone else moves it.
            continue;
        }
        Finding finding{
            .rule = std::string(kRuleId),
            .key = fmt::format("required:{}", requiring),
            .responsible = deal.responsible,
            .since = reached ? history[*reached].at : deal.created_at,
            .details = {{"kind", "required"},
                        {"stage", requiring},
                        {"missing", missing},
                        {"current_stage", deal.stage},
                        {"reason", fmt::format("с этапа «{}» должны быть заполнены поля: {}",
                                               requiring, support::Join(missing))},
                        {"reason_en", fmt::format("from “{}” on these fields must be filled: {}",
                                                  requiring, support::Join(missing))}},
        };
        if (order > 0) {
            finding.revert_to = ordered[static_cast<std::size_t>(order - 1)]->name;
            finding.details["revert_to"] = *finding.revert_to;
        }
        evaluation.findings.push_back(std::move(finding));
    }
}

bool QualifyingNote(const domain::Note& note, const RuleInput& input) {
    return !note.own && note.at <= input.now &&
           Utf8Length(support::Trim(note.text)) >=
               static_cast<std::size_t>(std::max(input.config.card_filled.min_note_chars, 0));
}

std::optional<Timestamp> LatestQualifyingNote(const RuleInput& input) {
    std::optional<Timestamp> latest;
    for (const domain::Note& note : input.snapshot.notes) {
        if ((!latest || note.at > *latest) && QualifyingNote(note, input)) {
            latest = note.at;
        }
    }
    return latest;
}

void CheckNotes(const RuleInput& input, std::span<const StageChange> history,
                Evaluation& evaluation) {
    const domain::Pipeline& pipeline = *input.pipeline;
    const int min_chars = input.config.card_filled.min_note_chars;
    std::size_t enter = 0;  // first entry of the current run in one stage
    // Any qualifying note at or after a stay's start covers it, so only the latest one matters;
    // measured once, and only for deals that left a stage forward.
    std::optional<Timestamp> latest_note;
    bool latest_note_measured = false;
    for (std::size_t i = 1; i < history.size(); ++i) {
        const StageChange& previous = history[i - 1];
        const StageChange& next = history[i];
        if (next.stage == previous.stage && next.pipeline == previous.pipeline) {
            continue;  // the same stage reported again: still the same stay
        }
        const StageChange& entered = history[enter];
        enter = i;
        const Stage* from = support::StageIn(pipeline, previous);
        const Stage* to = support::StageIn(pipeline, next);
        if (from == nullptr || to == nullptr || from->kind != domain::StageKind::kOpen ||
            !support::IsOrdered(*to) || next.own) {
            continue;
        }
        if (*pipeline.OrderOf(to->name) <= *pipeline.OrderOf(from->name)) {
            continue;  // only leaving forward needs the note
        }
        const Timestamp left = next.at;
        if (!latest_note_measured) {
            latest_note = LatestQualifyingNote(input);
            latest_note_measured = true;
        }
        // A note written while in the stage, or a late one written after leaving it.
        if (latest_note && *latest_note >= entered.at) {
            continue;
        }
        Finding finding{
            .rule = std::string(kRuleId),
            .key = fmt::format("note:{}:{}", from->name, ToEpoch(left)),
            .responsible = input.snapshot.deal.responsible,
            .since = left,
            .details = {{"kind", "note"},
                        {"stage", from->name},
                        {"next_stage", to->name},
                        {"left_at", FormatIso8601(left)},
                        {"min_note_chars", min_chars},
                        {"reason", fmt::format("этап «{}» пройден без комментария (нужна заметка "
                                               "не короче {} символов)",
                                               from->name, min_chars)},
                        {"reason_en", fmt::format("the deal left “{}” without a note (at least {} "
                                                  "characters)",
                                                  from->name, min_chars)}},
        };
        // Reverting only makes sense while the deal still sits where that move took it.
        if (i + 1 == history.size() && next.stage == input.snapshot.deal.stage) {
            finding.revert_to = from->name;
            finding.details["revert_to"] = from->name;
        }
        evaluation.findings.push_back(std::move(finding));
    }
}

Evaluation Evaluate(const RuleInput& input) {
    Evaluation evaluation;
    if (input.pipeline == nullptr) {
        return evaluation;
    }
    const support::HistoryAsOf history_as_of(input);
    const std::span<const StageChange> history = history_as_of.entries();
    CheckRequired(input, history, evaluation);
    if (input.config.card_filled.note_per_stage) {
        CheckNotes(input, history, evaluation);
    }
    return evaluation;
}

const config::RuleCommon& Common(const config::RulesConfig& config) {
    return config.card_filled.common;
}

}  // namespace card_filled_rule

const RuleSpec kCardFilled{
    .id = card_filled_rule::kRuleId,
    .evaluate = &card_filled_rule::Evaluate,
    .common = &card_filled_rule::Common,
    .texts =
        {
            .message_ru = "Сделка «{deal}»: {reason}. Заполните карточку, прежде чем двигать "
                          "сделку дальше.",
            .message_en = "Deal “{deal}”: {reason_en}. Fill in the card before moving the deal on.",
            .task_ru = "Заполните карточку сделки «{deal}»: {reason}",
            .task_en = "Fill in the card of deal “{deal}”: {reason_en}",
        },
    .open_deals_only = false,
    .resolution = "cleared",
};

}  // namespace fg::rules
