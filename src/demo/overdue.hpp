#pragma once

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "src/common/time.hpp"
#include "src/storage/store.hpp"

// The demo's account of overdue tasks: what the CRM says went overdue, set against what
// funnelguard raised, so that every overdue task is either an overdue_task violation or listed
// with the reason it is not.
namespace fg::demo {

/// A task whose deadline passed while it was open, as the CRM's own records tell it.
struct OverdueFact {
    std::string task_id{};
    std::string deal_id{};
    Timestamp due{};
    Timestamp overdue_at{};                     // when the deadline passed (or the task was made
                                                // already past it)
    std::optional<Timestamp> closed_at{};       // done or deleted afterwards; nullopt: still open
    std::optional<Timestamp> deal_closed_at{};  // won, lost or deleted; nullopt: open at the end
};

/// What funnelguard's database holds about one such task.
struct MirrorView {
    bool deal_known = false;
    bool task_known = false;
    std::optional<Timestamp> due{};                // funnelguard's copy of the deadline
    std::vector<storage::Violation> violations{};  // the task's overdue_task violations
};

/// Reads the view of `fact`'s task from the database.
MirrorView ViewOf(storage::Db& db, const std::string& tenant, const OverdueFact& fact);

/// Why an overdue task is or is not an overdue_task violation.
enum class OverdueOutcome {
    kRaised,         // an overdue_task violation names the task
    kDealClosed,     // the deal was won, lost or deleted before the deadline + grace passed
    kWithinGrace,    // done or deleted before the deadline + grace passed
    kStillInGrace,   // open at the end, deadline + grace not yet passed
    kBetweenChecks,  // overdue past grace for less than funnelguard's check interval
    kDealUnseen,     // funnelguard's mirror never had the deal
    kTaskUnseen,     // funnelguard's mirror never had the task
    kDueDiffers,     // funnelguard's copy of the task has another deadline
    kMissed,         // none of the above: funnelguard should have raised it
};

/// How often funnelguard looks for deals whose time has come (the engine's sweep).
inline constexpr Duration kCheckInterval{60};

/// The outcome for one task, `grace` being the overdue_task rule's and `until` the time the
/// account was closed (funnelguard stopped).
OverdueOutcome Classify(const OverdueFact& fact, const MirrorView& view, Duration grace,
                        Timestamp until);

/// Every overdue task with its outcome, counted, and the overdue_task violations on tasks the
/// CRM does not count as overdue (which should not exist).
struct OverdueAccount {
    struct Entry {
        OverdueFact fact{};
        OverdueOutcome outcome = OverdueOutcome::kMissed;
        bool before_start =
            false;  // raised before the managers started (mostly the first reconcile)
        std::string resolution{};   // of the task's latest violation; empty: still open
        int violations_in_day = 0;  // its violations opened while the managers worked
    };
    Timestamp start{};
    Timestamp until{};
    std::vector<Entry> entries{};
    std::vector<storage::Violation> unmatched{};  // overdue_task violations no entry accounts for

    int Count(OverdueOutcome outcome) const;
};

/// Accounts for `facts` (the tasks overdue at some time in [start, until)) against `violations`
/// (every overdue_task violation of the tenant): `views` is the mirror's view of each fact (same
/// order), `quiet_ids` the violations opened before the managers started (mostly the first
/// reconcile's).
OverdueAccount AccountOverdue(const std::vector<OverdueFact>& facts,
                              const std::vector<MirrorView>& views,
                              const std::vector<storage::Violation>& violations,
                              const std::set<std::int64_t>& quiet_ids, Duration grace,
                              Timestamp start, Timestamp until);

/// The summary's lines, plain sentences whose numbers add up. `opened_in_day` is the table's
/// overdue_task "opened" (violations opened while the managers worked); `local` prints a time.
std::vector<std::string> OverdueLines(const OverdueAccount& account, int opened_in_day,
                                      const std::function<std::string(Timestamp)>& local);

}  // namespace fg::demo
