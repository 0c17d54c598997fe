#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/config/config.hpp"
#include "src/outbox/action.hpp"
#include "src/rules/rule.hpp"
#include "src/storage/store.hpp"

namespace fg::engine {

/// Runs every enabled rule of the tenant over one deal snapshot as of `now` (pure).
rules::Evaluation EvaluateSnapshot(const domain::DealSnapshot& snapshot,
                                   const config::TenantConfig& tenant, Timestamp now);

/// A violation whose state changed, for logs, the demo and metrics.
struct ViolationChange {
    storage::Violation violation{};
    bool opened = false;  // false: resolved (violation.resolution says how)
};

/// An action to enqueue: what it does and the channel it goes to (the CRM or a chat notifier).
struct PlannedAction {
    std::string channel{domain::kCrmChannel};
    outbox::ActionBody body{};

    outbox::ActionKind kind() const { return body.kind; }
};

struct JudgeOutcome {
    std::vector<ViolationChange> changes{};
    std::vector<PlannedAction> actions{};  // enqueued in the outbox
};

struct JudgeContext {
    const config::TenantConfig& tenant;
    /// The tenant's channels that have a sink: actions are planned for these only (no CRM
    /// channel: no note, task or revert; none of its message channels: no notify or escalate).
    std::vector<std::string> channels{};
    Timestamp now{};
};

/// What the judge knows of a deal besides its snapshot: the violations recorded about it (open
/// and resolved) and what funnelguard has on its way to it (writes whose echo has not come).
struct DealRecord {
    std::vector<storage::Violation> violations{};
    bool task_on_its_way = false;
    bool revert_on_its_way = false;
};

/// A violation to open and the actions its opening plans (bound to its id once it is stored).
struct OpenPlan {
    storage::Violation violation{};  // id 0 until stored
    std::vector<PlannedAction> actions{};
};

/// A still-open violation whose details, text or responsible changed.
struct UpdatePlan {
    std::int64_t id = 0;
    nlohmann::json details = nlohmann::json::object();
    std::string message{};
    std::string responsible{};
};

/// What judging one deal decides, before anything is stored.
struct Judgement {
    std::vector<OpenPlan> open{};
    std::vector<storage::Violation> resolve{};  // resolved_at and resolution set
    std::vector<UpdatePlan> update{};
    std::optional<Timestamp> wake_at{};  // when the deal must be judged again (time alone)
};

/// The violation lifecycle as a pure function of the deal, its record, the tenant's rules and
/// `now`: opens what newly holds (with its actions), resolves what stopped holding (cleared /
/// corrected / deal_closed / deal_deleted), refreshes what still holds. An acknowledged
/// violation is not opened again while its finding holds; a rule switched off keeps its
/// violations as they were (unless the deal is deleted).
Judgement Judge(const domain::DealSnapshot& snapshot, const DealRecord& record,
                const JudgeContext& context);

/// Stores a judgement in the caller's write transaction, in one go: resolutions, updates, the
/// opened violations with their actions in the outbox (idempotency keys from the ids they get)
/// and the echoes to expect, and the deal's wake-up time. Returns what changed.
JudgeOutcome ApplyJudgement(storage::Db& db, const std::string& tenant, const std::string& deal_id,
                            Judgement judgement, Timestamp now);

/// Gives a planned action its violation's id: the idempotency key (`<tenant>:v<id>:<kind>`, and
/// `:<channel>` for a chat notifier's) and the body's violation.
void BindAction(PlannedAction& action, const storage::Violation& violation);

/// Brings one deal's violations in line with the rules as of `now`: opens what newly holds,
/// resolves what stopped holding (cleared / corrected / deal_closed / deal_deleted), plans the
/// actions of newly opened violations into the outbox (with idempotency keys), records the echoes
/// to expect, and sets the deal's wake-up time: Judge, then ApplyJudgement. Runs inside the
/// caller's write transaction.
JudgeOutcome JudgeDeal(storage::Db& db, const JudgeContext& context, const std::string& deal_id);

/// Escalates the tenant's open violations that have been open for their rule's escalate_after.
JudgeOutcome EscalateDue(storage::Db& db, const JudgeContext& context);

/// What funnelguard may still write to a deal, given what it already did there (JudgeDeal works
/// it out; docs/rules.md, "Interplay with funnelguard's own actions").
struct PlanLimits {
    bool may_revert = true;    // false: a revert of the deal is on its way already
    bool may_add_task = true;  // false: one of funnelguard's tasks is open or on its way on the
                               // deal, or it created one there less than the rule's task_due ago
};

/// The actions a violation triggers when it opens, for the channels in `channels` (pure;
/// exposed for tests): note, task and revert to the CRM channel, notify to each of the tenant's
/// message channels. A task is due the rule's task_due after `now`.
std::vector<PlannedAction> PlanActions(const config::TenantConfig& tenant,
                                       const rules::RuleSpec& spec,
                                       const storage::Violation& violation,
                                       const rules::Finding& finding, const domain::Deal& deal,
                                       Timestamp now, const std::vector<std::string>& channels,
                                       const PlanLimits& limits = {});

/// Cancels the violation's actions that were not delivered (its acknowledgement makes them
/// moot): pending and retrying outbox items become `cancelled` with `reason`, and the echoes
/// recorded for those never sent are forgotten. Returns the items cancelled. Runs in the
/// caller's transaction.
std::vector<storage::OutboxItem> CancelActions(storage::Db& db, std::int64_t violation_id,
                                               Timestamp now, const std::string& reason);

}  // namespace fg::engine
