#include "src/demo/overdue.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

namespace fg::demo {
namespace {

constexpr std::string_view kRule = "overdue_task";

std::string TaskKey(const std::string& task_id) { return "task:" + task_id; }

// What became of a raised task, for a head of sales: the violation's resolution in words.
std::string Plain(const std::string& resolution) {
    if (resolution.empty()) {
        return "still overdue";
    }
    if (resolution == "cleared") {
        return "since done or moved to a later date";
    }
    if (resolution == "deal_closed") {
        return "closed with their deal (won or lost)";
    }
    if (resolution == "deal_deleted") {
        return "gone with their deleted deal";
    }
    return resolution;
}

std::string Reason(OverdueOutcome outcome) {
    switch (outcome) {
        case OverdueOutcome::kRaised:
            return "raised";
        case OverdueOutcome::kDealClosed:
            return "on a deal already won, lost or deleted when the deadline passed (the rule "
                   "watches open deals only)";
        case OverdueOutcome::kWithinGrace:
            return "done within the rule's grace period";
        case OverdueOutcome::kStillInGrace:
            return "still within the rule's grace period at the end";
        case OverdueOutcome::kBetweenChecks:
            return "overdue for less than a minute (done, or the demo ended, before "
                   "funnelguard's once-a-minute check)";
        case OverdueOutcome::kDealUnseen:
            return "on a deal funnelguard never received";
        case OverdueOutcome::kTaskUnseen:
            return "a task funnelguard never received";
        case OverdueOutcome::kDueDiffers:
            return "funnelguard's copy of the task has another deadline";
        case OverdueOutcome::kMissed:
            return "NOT EXPLAINED: funnelguard should have raised them";
    }
    return "?";
}

}  // namespace

MirrorView ViewOf(storage::Db& db, const std::string& tenant, const OverdueFact& fact) {
    MirrorView view;
    if (const auto snapshot = storage::LoadSnapshot(db, tenant, fact.deal_id); snapshot) {
        view.deal_known = true;
        for (const domain::Task& task : snapshot->tasks) {
            if (task.id == fact.task_id) {
                view.task_known = true;
                view.due = task.due;
            }
        }
    }
    for (storage::Violation& violation : storage::ViolationsForDeal(db, tenant, fact.deal_id)) {
        if (violation.rule == kRule && violation.key == TaskKey(fact.task_id)) {
            view.violations.push_back(std::move(violation));
        }
    }
    return view;
}

OverdueOutcome Classify(const OverdueFact& fact, const MirrorView& view, Duration grace,
                        Timestamp until) {
    if (!view.violations.empty()) {
        return OverdueOutcome::kRaised;
    }
    const Timestamp overdue_from = std::max(fact.due + grace, fact.overdue_at);
    if (fact.deal_closed_at && *fact.deal_closed_at <= overdue_from) {
        return OverdueOutcome::kDealClosed;
    }
    if (fact.closed_at && *fact.closed_at <= overdue_from) {
        return OverdueOutcome::kWithinGrace;
    }
    if (!fact.closed_at && until <= overdue_from) {
        return OverdueOutcome::kStillInGrace;
    }
    if (!view.deal_known) {
        return OverdueOutcome::kDealUnseen;
    }
    if (!view.task_known) {
        return OverdueOutcome::kTaskUnseen;
    }
    if (view.due != fact.due) {
        return OverdueOutcome::kDueDiffers;
    }
    // The rule held from overdue_from until the task or the deal closed, or the account stopped.
    Timestamp held_until = std::min(fact.closed_at.value_or(until), until);
    if (fact.deal_closed_at) {
        held_until = std::min(held_until, *fact.deal_closed_at);
    }
    if (held_until - overdue_from <= kCheckInterval) {
        return OverdueOutcome::kBetweenChecks;
    }
    return OverdueOutcome::kMissed;
}

int OverdueAccount::Count(OverdueOutcome outcome) const {
    return static_cast<int>(
        std::count_if(entries.begin(), entries.end(),
                      [outcome](const Entry& e) { return e.outcome == outcome; }));
}

OverdueAccount AccountOverdue(const std::vector<OverdueFact>& facts,
                              const std::vector<MirrorView>& views,
                              const std::vector<storage::Violation>& violations,
                              const std::set<std::int64_t>& quiet_ids, Duration grace,
                              Timestamp start, Timestamp until) {
    OverdueAccount account{.start = start, .until = until};
    std::set<std::int64_t> accounted;
    for (std::size_t i = 0; i < facts.size(); ++i) {
        const MirrorView empty;
        const MirrorView& view = i < views.size() ? views[i] : empty;
        OverdueAccount::Entry entry{.fact = facts[i],
                                    .outcome = Classify(facts[i], view, grace, until)};
        if (!view.violations.empty()) {
            entry.before_start = quiet_ids.count(view.violations.front().id) != 0;
            entry.resolution = view.violations.back().resolution;
        }
        for (const storage::Violation& violation : view.violations) {
            accounted.insert(violation.id);
            entry.violations_in_day += quiet_ids.count(violation.id) == 0 ? 1 : 0;
        }
        account.entries.push_back(std::move(entry));
    }
    for (const storage::Violation& violation : violations) {
        if (violation.rule == kRule && accounted.count(violation.id) == 0) {
            account.unmatched.push_back(violation);
        }
    }
    return account;
}

std::vector<std::string> OverdueLines(const OverdueAccount& account, int opened_in_day,
                                      const std::function<std::string(Timestamp)>& local) {
    const std::string start_local = local(account.start);
    const std::string until_local = local(account.until);
    std::vector<std::string> lines;
    const int total = static_cast<int>(account.entries.size());
    lines.push_back(fmt::format(
        "overdue tasks: {} (deadline passed while the task was still open, {}–{}, as the "
        "CRM's records show)",
        total, start_local, until_local));

    int raised = 0;
    int by_reconcile = 0;
    int already_overdue = 0;  // of those raised before the managers started
    int in_day = 0;
    int in_day_violations = 0;
    std::map<std::string, int> outcome_of_raised;  // plain resolution -> tasks
    for (const OverdueAccount::Entry& entry : account.entries) {
        if (entry.outcome != OverdueOutcome::kRaised) {
            continue;
        }
        in_day_violations += entry.violations_in_day;
        ++raised;
        ++outcome_of_raised[Plain(entry.resolution)];
        if (entry.before_start) {
            ++by_reconcile;
            already_overdue += entry.fact.overdue_at < account.start ? 1 : 0;
        } else {
            ++in_day;
        }
    }
    std::string found =
        fmt::format("{} while the managers worked (the table's overdue_task \"opened\")", in_day);
    if (by_reconcile > 0) {
        found = fmt::format("{} before the managers started ({} of them already overdue at {}), {}",
                            by_reconcile, already_overdue, start_local, found);
    }
    lines.push_back(fmt::format("  {} raised as overdue_task: {}", raised, found));
    if (raised > 0) {
        std::string then;
        for (const auto& [plain, n] : outcome_of_raised) {
            then +=
                fmt::format("{}{} {}", then.empty() ? "" : ", ", n,
                            plain == "still overdue" ? "still overdue at " + until_local : plain);
        }
        lines.push_back("    of them: " + then);
    }
    const int not_raised = total - raised;
    if (not_raised > 0) {
        std::string why;
        for (OverdueOutcome outcome : {OverdueOutcome::kBetweenChecks, OverdueOutcome::kWithinGrace,
                                       OverdueOutcome::kStillInGrace, OverdueOutcome::kDealClosed,
                                       OverdueOutcome::kDealUnseen, OverdueOutcome::kTaskUnseen,
                                       OverdueOutcome::kDueDiffers, OverdueOutcome::kMissed}) {
            const int n = account.Count(outcome);
            if (n == 0) {
                continue;
            }
            std::string ids;
            if (outcome == OverdueOutcome::kMissed || outcome == OverdueOutcome::kDueDiffers ||
                outcome == OverdueOutcome::kTaskUnseen || outcome == OverdueOutcome::kDealUnseen) {
                for (const OverdueAccount::Entry& entry : account.entries) {
                    if (entry.outcome == outcome) {
                        ids += fmt::format("{}{}", ids.empty() ? " (tasks " : ", ",
                                           entry.fact.task_id);
                    }
                }
                ids += ")";
            }
            why += fmt::format("{}{} {}{}", why.empty() ? "" : "; ", n, Reason(outcome), ids);
        }
        lines.push_back(fmt::format("  {} not raised: {}", not_raised, why));
    }
    if (in_day != opened_in_day) {
        lines.push_back(fmt::format(
            "  (the table's overdue_task \"opened\" counts violations, {}: {} more for tasks "
            "raised again after a new deadline passed, {} for tasks not counted here)",
            opened_in_day, in_day_violations - in_day, opened_in_day - in_day_violations));
    }
    if (!account.unmatched.empty()) {
        std::string keys;
        for (const storage::Violation& violation : account.unmatched) {
            keys += fmt::format("{}{}", keys.empty() ? "" : ", ", violation.key);
        }
        lines.push_back(fmt::format(
            "  {} overdue_task violations name tasks the CRM's records do not show overdue: {}",
            account.unmatched.size(), keys));
    }
    return lines;
}

}  // namespace fg::demo
