#pragma once

#include <span>

#include "src/rules/rule.hpp"

namespace fg::rules {

// One declaration per rule; each is defined in its own file.
extern const RuleSpec kStageOrder;
extern const RuleSpec kDealWithoutTask;
extern const RuleSpec kActualStage;
extern const RuleSpec kCardFilled;
extern const RuleSpec kOverdueTask;

/// Every rule, in the order of DESIGN.md §1.
std::span<const RuleSpec* const> AllRules();
const RuleSpec* FindRule(std::string_view id);

/// Runs every enabled rule over one deal.
Evaluation EvaluateAll(const RuleInput& input);

}  // namespace fg::rules
