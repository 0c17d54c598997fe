#include "src/rules/catalog.hpp"

#include <array>

#include "src/rules/support.hpp"

namespace fg::rules {
namespace {

// The registration list: adding a rule adds one line here.
const std::array<const RuleSpec*, 5> kCatalog = {
    &kStageOrder, &kDealWithoutTask, &kActualStage, &kCardFilled, &kOverdueTask,
};

}  // namespace

std::span<const RuleSpec* const> AllRules() { return kCatalog; }

const RuleSpec* FindRule(std::string_view id) {
    for (const RuleSpec* spec : kCatalog) {
        if (spec->id == id) {
            return spec;
        }
    }
    return nullptr;
}

Evaluation EvaluateAll(const RuleInput& input) {
    // Four of the five rules read the history as of `now`: work it out once for all of them.
    const support::HistoryAsOf history(input);
    RuleInput shared = input;
    shared.history = history.entries();
    Evaluation all;
    for (const RuleSpec* spec : kCatalog) {
        if (!spec->common(input.config).enabled) {
            continue;
        }
        Evaluation one = spec->evaluate(shared);
        for (Finding& finding : one.findings) {
            all.findings.push_back(std::move(finding));
        }
        if (one.wake_at && (!all.wake_at || *one.wake_at < *all.wake_at)) {
            all.wake_at = one.wake_at;
        }
    }
    return all;
}

}  // namespace fg::rules
