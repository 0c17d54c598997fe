// actual_stage: deals sit on their actual stage (DESIGN.md §1): the card does not say the deal is
// further than its stage, and the deal does not sit in one stage for longer than allowed.
#include <algorithm>
#include <charconv>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "src/rules/catalog.hpp"
#include "src/rules/support.hpp"

namespace fg::rules {
// A namespace of its own, not an anonymous one: the rules are compiled together (FG_UNITY).
namespace actual_stage_rule {

using config::ConsistencyCheck;

constexpr std::string_view kRuleId = "actual_stage";

/// A number as managers type it: "500000", "500 000", "500 000,50", "1,500.50", "500000.50".
std::optional<double> ParseNumber(std::string_view text) {
    text = support::Trim(text);
    std::string digits;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == ' ' || c == '\'') {
            continue;  // thousands separators
        }
        // U+00A0 no-break space, U+202F narrow no-break space, U+2009 thin space.
        if (text.compare(i, 2, "\xC2\xA0") == 0) {
            ++i;
            continue;
        }
        if (text.compare(i, 3, "\xE2\x80\xAF") == 0 || text.compare(i, 3, "\xE2\x80\x89") == 0) {
            i += 2;
            continue;
        }
        digits += c;
    }
    // One comma and no dot is a decimal comma ("500 000,50"); otherwise commas group thousands.
    const bool has_dot = digits.find('.') != std::string::npos;
    const auto commas = std::count(digits.begin(), digits.end(), ',');
    if (has_dot || commas > 1) {
        std::erase(digits, ',');
    } else if (commas == 1) {
        digits[digits.find(',')] = '.';
    }
    if (digits.empty()) {
        return std::nullopt;
    }
    double value = 0;
    const char* begin = digits.data();
    const char* end = digits.data() + digits.size();
    if (*begin == '+') {
        ++begin;
    }
    const auto [stop, error] = std::from_chars(begin, end, value);
    if (error != std::errc{} || stop != end) {
        return std::nullopt;
    }
    return value;
}

bool ConditionHolds(const ConsistencyCheck& check, const std::map<std::string, std::string>& fields,
                    std::string& value) {
    const auto field = fields.find(check.field);
    if (field == fields.end()) {
        return false;
    }
    value = field->second;
    switch (check.kind) {
        case ConsistencyCheck::Kind::kFilled:
            return !support::IsBlank(field->second);
        case ConsistencyCheck::Kind::kEquals:
            return field->second == check.value;
        case ConsistencyCheck::Kind::kAtLeast: {
            const std::optional<double> number = ParseNumber(field->second);
            return number && *number >= check.number;
        }
    }
    return false;
}

std::string DescribeCondition(const ConsistencyCheck& check, std::string_view locale) {
    const bool ru = locale == "ru";
    switch (check.kind) {
        case ConsistencyCheck::Kind::kFilled:
            return ru ? fmt::format("поле «{}» заполнено", check.field)
                      : fmt::format("field “{}” is filled", check.field);
        case ConsistencyCheck::Kind::kEquals:
            return ru ? fmt::format("поле «{}» = «{}»", check.field, check.value)
                      : fmt::format("field “{}” is “{}”", check.field, check.value);
        case ConsistencyCheck::Kind::kAtLeast:
            return ru ? fmt::format("поле «{}» не меньше {}", check.field, check.number)
                      : fmt::format("field “{}” is at least {}", check.field, check.number);
    }
    return {};
}

std::string_view ToString(ConsistencyCheck::Kind kind) {
    switch (kind) {
        case ConsistencyCheck::Kind::kFilled:
            return "when_filled";
        case ConsistencyCheck::Kind::kEquals:
            return "when_equals";
        case ConsistencyCheck::Kind::kAtLeast:
            return "when_at_least";
    }
    return "when_filled";
}

/// The first entry of the trailing run of history entries in the deal's current stage (the
/// current stay); nullopt when there is no history.
std::optional<std::size_t> CurrentStayStart(std::span<const domain::StageChange> history) {
    if (history.empty()) {
        return std::nullopt;
    }
    std::size_t first = history.size() - 1;
    while (first > 0 && history[first - 1].stage == history[first].stage &&
           history[first - 1].pipeline == history[first].pipeline) {
        --first;
    }
    return first;
}

/// When funnelguard's own revert began the current stay: the funnel position of the stage it
/// moved the deal back from. A consistency condition that held there ("at least Paid" on a deal
/// reverted from Paid) is of funnelguard's making, not the manager's.
std::optional<int> RevertedFrom(const RuleInput& input) {
    const support::HistoryAsOf history_as_of(input);
    const std::span<const domain::StageChange> history = history_as_of.entries();
    const std::optional<std::size_t> first = CurrentStayStart(history);
    if (!first || *first == 0 || !history[*first].own) {
        return std::nullopt;
    }
    const domain::StageChange& before = history[*first - 1];
    if (before.pipeline != input.pipeline->id) {
        return std::nullopt;
    }
    return input.pipeline->OrderOf(before.stage);
}

void CheckConsistency(const RuleInput& input, Evaluation& evaluation) {
    const domain::Deal& deal = input.snapshot.deal;
    const std::optional<int> current = input.pipeline->OrderOf(deal.stage);
    const auto& checks = input.config.actual_stage.consistency;
    if (!current || checks.empty()) {
        return;
    }
    const std::optional<int> reverted_from = RevertedFrom(input);
    for (std::size_t i = 0; i < checks.size(); ++i) {
        const ConsistencyCheck& check = checks[i];
        const std::optional<int> at_least = input.pipeline->OrderOf(check.stage_at_least);
        std::string value;
        if (!at_least || *current >= *at_least || !ConditionHolds(check, deal.fields, value)) {
            continue;
        }
        if (reverted_from && *reverted_from >= *at_least) {
            // funnelguard moved the deal back from a stage that satisfied the condition: the
            // mismatch is the revert's, and the revert's note already says what to do. Judged
            // again once anyone else moves the deal.
            continue;
        }
        evaluation.findings.push_back(Finding{
            .rule = std::string(kRuleId),
            .key = fmt::format("consistency:{}", i),
            .responsible = deal.responsible,
            .since = std::min(deal.updated_at, input.now),
            .details =
                {{"kind", "consistency"},
                 {"condition", ToString(check.kind)},
                 {"field", check.field},
                 {"value", value},
                 {"stage_at_least", check.stage_at_least},
                 {"stage", deal.stage},
                 {"reason",
                  fmt::format("{}, значит сделка должна быть не раньше этапа «{}», "
                              "а она на этапе «{}»",
                              DescribeCondition(check, "ru"), check.stage_at_least, deal.stage)},
                 {"reason_en",
                  fmt::format("{}, so the deal should be at “{}” or later, but it is at “{}”",
                              DescribeCondition(check, "en"), check.stage_at_least, deal.stage)}},
        });
    }
}

/// When the deal entered the stage it is in: the start of the current stay (a revert starts one
/// too); the creation when there is no history.
Timestamp EnteredCurrentStage(const RuleInput& input) {
    const support::HistoryAsOf history_as_of(input);
    const std::span<const domain::StageChange> history = history_as_of.entries();
    const std::optional<std::size_t> first = CurrentStayStart(history);
    return first ? history[*first].at : input.snapshot.deal.created_at;
}

void CheckStaleness(const RuleInput& input, Evaluation& evaluation) {
    const config::ActualStageConfig& config = input.config.actual_stage;
    const domain::Deal& deal = input.snapshot.deal;
    std::optional<Duration> max_age = config.max_age_default;
    if (const auto it = config.max_age.find(deal.stage); it != config.max_age.end()) {
        max_age = it->second;
    }
    if (!max_age) {
        return;  // no max_age for this stage: staleness is off
    }
    const Timestamp entered = EnteredCurrentStage(input);
    const Duration in_stage = input.now - entered;
    if (in_stage <= *max_age) {
        evaluation.wake_at = entered + *max_age + Duration{1};
        return;
    }
    evaluation.findings.push_back(Finding{
        .rule = std::string(kRuleId),
        .key = fmt::format("stale:{}:{}", deal.stage, ToEpoch(entered)),
        .responsible = deal.responsible,
        .since = entered + *max_age,
        .details = {{"kind", "stale"},
                    {"stage", deal.stage},
                    {"in_stage_for", CompactDuration(in_stage)},
                    {"max_age", CompactDuration(*max_age)},
                    {"entered_at", FormatIso8601(entered)},
                    {"reason",
                     fmt::format("сделка стоит на этапе «{}» уже {} (норма — {})", deal.stage,
                                 HumanDuration(in_stage, "ru"), HumanDuration(*max_age, "ru"))},
                    {"reason_en",
                     fmt::format("the deal has been in “{}” for {} (limit: {})", deal.stage,
                                 HumanDuration(in_stage, "en"), HumanDuration(*max_age, "en"))}},
    });
}

Evaluation Evaluate(const RuleInput& input) {
    Evaluation evaluation;
    if (!IsOpen(input.snapshot, input.pipeline)) {
        return evaluation;
    }
    CheckConsistency(input, evaluation);
    CheckStaleness(input, evaluation);
    return evaluation;
}

const config::RuleCommon& Common(const config::RulesConfig& config) {
    return config.actual_stage.common;
}

}  // namespace actual_stage_rule

const RuleSpec kActualStage{
    .id = actual_stage_rule::kRuleId,
    .evaluate = &actual_stage_rule::Evaluate,
    .common = &actual_stage_rule::Common,
    .texts =
        {
            .message_ru = "Сделка «{deal}» не на своём этапе: {reason}. Переведите сделку на "
                          "актуальный этап или закройте её.",
            .message_en = "Deal “{deal}” is not at its actual stage: {reason_en}. Move it to the "
                          "stage it is really at, or close it.",
            .task_ru = "Актуализируйте этап сделки «{deal}»",
            .task_en = "Bring the stage of deal “{deal}” up to date",
        },
    .open_deals_only = true,
    .resolution = "cleared",
};

}  // namespace fg::rules
