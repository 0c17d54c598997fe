#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/common/time.hpp"
#include "src/config/config.hpp"
#include "src/domain/model.hpp"

namespace fg::rules {

/// One way a deal breaks a rule, as of `now`. The engine turns findings into violations:
/// a finding whose (rule, key) has no open violation opens one; an open violation whose key is no
/// longer found is resolved.
struct Finding {
    std::string rule{};         // the rule id from DESIGN.md §1
    std::string key{};          // stable identity within (deal, rule), e.g. "task:t1"
    std::string responsible{};  // who should fix it
    Timestamp since{};          // CRM time from which it holds (opened_at)
    nlohmann::json details = nlohmann::json::object();  // stage names, task ids, durations...
    std::optional<std::string> revert_to{};  // where a `revert` action would move the deal
    /// The finding is about a task funnelguard itself created (overdue_task): the engine plans
    /// no `task` action for it, since a task about funnelguard's own task would repeat for ever.
    bool about_own_task = false;
};

struct Evaluation {
    std::vector<Finding> findings{};
    /// The earliest time after `now` at which this rule's answer may change with no new event
    /// (a grace period or due time running out). The minute timer re-evaluates the deal then.
    std::optional<Timestamp> wake_at{};
};

/// Everything a rule may look at. Pure input: no I/O, no clock.
struct RuleInput {
    const domain::DealSnapshot& snapshot;
    const domain::Pipeline* pipeline = nullptr;  // the deal's pipeline; null if unknown
    const config::RulesConfig& config;
    Timestamp now{};
    /// The stage history as of `now` (entries with at <= now, stably sorted by time), worked out
    /// once by EvaluateAll for all the rules of the deal. Left unset, each rule works it out.
    std::optional<std::span<const domain::StageChange>> history{};
};

/// Default message texts; `{name}` placeholders are filled from the finding's details and from
/// {deal}, {deal_id}, {stage}, {responsible}. Tenants override them by key "<rule>.message" and
/// "<rule>.task".
struct RuleTexts {
    std::string_view message_ru{};
    std::string_view message_en{};
    std::string_view task_ru{};
    std::string_view task_en{};
};

/// One entry of the catalog: how the engine knows a rule.
struct RuleSpec {
    std::string_view id{};
    Evaluation (*evaluate)(const RuleInput&) = nullptr;
    const config::RuleCommon& (*common)(const config::RulesConfig&) = nullptr;
    RuleTexts texts{};
    /// Judges open deals only, so its violations resolve as `deal_closed` when the deal closes.
    bool open_deals_only = false;
    /// Resolution kind when the finding stops holding on an open deal ("cleared" or "corrected").
    std::string_view resolution = "cleared";
};

/// Helpers shared by the rules.
bool IsOpen(const domain::DealSnapshot& snapshot, const domain::Pipeline* pipeline);
/// Length in Unicode code points (notes are counted in characters, not bytes).
std::size_t Utf8Length(std::string_view text);

}  // namespace fg::rules
