#include "src/engine/judge.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <utility>

#include <fmt/format.h>

#include "src/engine/messages.hpp"
#include "src/notify/working_time.hpp"
#include "src/outbox/action_codec.hpp"
#include "src/rules/catalog.hpp"

namespace fg::engine {
namespace {

using config::ActionKind;

// How long an expected echo of our own write is remembered.
constexpr Duration kEchoWindow = std::chrono::hours{24 * 7};
// Escalation delay when `escalate` is listed without escalate_after.
constexpr Duration kDefaultEscalateAfter = std::chrono::hours{24};

const domain::Pipeline* FindPipeline(const config::TenantConfig& tenant, const std::string& id) {
    for (const domain::Pipeline& pipeline : tenant.pipelines) {
        if (pipeline.id == id) {
            return &pipeline;
        }
    }
    return nullptr;
}

bool HasAction(const config::RuleCommon& common, ActionKind kind) {
    return std::find(common.actions.begin(), common.actions.end(), kind) != common.actions.end();
}

std::optional<Duration> EscalateAfter(const config::RuleCommon& common) {
    if (common.escalate_after) {
        return common.escalate_after;
    }
    if (HasAction(common, ActionKind::kEscalate)) {
        return kDefaultEscalateAfter;
    }
    return std::nullopt;
}

bool DealIsOpen(const domain::DealSnapshot& snapshot, const config::TenantConfig& tenant) {
    return rules::IsOpen(snapshot, FindPipeline(tenant, snapshot.deal.pipeline));
}

std::string ResolutionFor(const rules::RuleSpec& spec, const domain::DealSnapshot& snapshot,
                          const config::TenantConfig& tenant) {
    if (snapshot.deal.deleted) {
        return "deal_deleted";
    }
    if (spec.open_deals_only && !DealIsOpen(snapshot, tenant)) {
        return "deal_closed";
    }
    return std::string(spec.resolution);
}

}  // namespace

void BindAction(PlannedAction& action, const storage::Violation& violation) {
    outbox::ActionBody& body = action.body;
    body.idempotency_key =
        fmt::format("{}:v{}:{}", violation.tenant, violation.id, domain::ActionKindName(body.kind));
    if (action.channel != domain::kCrmChannel) {
        body.idempotency_key += ":" + action.channel;
    }
    body.violation = {.id = violation.id,
                      .rule = violation.rule,
                      .opened_at = violation.opened_at,
                      .details = violation.details,
                      .message = violation.message};
}

namespace {

PlannedAction MakeAction(const storage::Violation& violation, outbox::ActionKind kind,
                         const domain::Deal& deal,
                         std::string channel = std::string(domain::kCrmChannel)) {
    PlannedAction action;
    action.channel = std::move(channel);
    action.body.kind = kind;
    action.body.tenant = violation.tenant;
    action.body.deal = violation.deal_id;
    action.body.deal_title = deal.title;
    action.body.responsible = violation.responsible;
    if (violation.id != 0) {
        BindAction(action, violation);
    }
    return action;
}

bool Has(const std::vector<std::string>& channels, std::string_view channel) {
    return std::find(channels.begin(), channels.end(), channel) != channels.end();
}

// The tenant's message channels that have a sink.
std::vector<std::string> MessageChannels(const config::TenantConfig& tenant,
                                         const std::vector<std::string>& channels) {
    std::vector<std::string> out;
    for (std::string& channel : tenant.MessageChannels()) {
        if (Has(channels, channel)) {
            out.push_back(std::move(channel));
        }
    }
    return out;
}

void Enqueue(storage::Db& db, const PlannedAction& action, std::int64_t violation_id, Timestamp now,
             std::vector<PlannedAction>& out) {
    storage::OutboxItem item;
    item.tenant = action.body.tenant;
    item.kind = std::string(domain::ActionKindName(action.body.kind));
    item.channel = action.channel;
    item.idempotency_key = action.body.idempotency_key;
    item.payload = outbox::EncodeAction(action.body);
    item.violation_id = violation_id;
    item.next_attempt_at = now;
    item.created_at = now;
    if (storage::EnqueueOutbox(db, item)) {
        out.push_back(action);
    }
}

// The echo an action's write will cause in the mirror: its kind and fingerprint (see
// storage::RecordOwnWrite); nullopt for what changes no deal (notify, escalate).
std::optional<std::pair<storage::OwnWriteKind, std::string>> EchoOf(
    const outbox::ActionBody& body) {
    switch (body.kind) {
        case outbox::ActionKind::kNote:
            return std::make_pair(storage::OwnWriteKind::kNote, body.text);
        case outbox::ActionKind::kTask:
            return std::make_pair(storage::OwnWriteKind::kTask, body.text);
        case outbox::ActionKind::kRevert:
            if (const outbox::RevertBody* revert = body.revert()) {
                return std::make_pair(storage::OwnWriteKind::kRevert, revert->to);
            }
            return std::nullopt;
        case outbox::ActionKind::kNotify:
        case outbox::ActionKind::kEscalate:
        case outbox::ActionKind::kSummary:
            return std::nullopt;
    }
    return std::nullopt;
}

void RecordEchoes(storage::Db& db, const std::string& tenant, const PlannedAction& action,
                  Timestamp now) {
    if (const auto echo = EchoOf(action.body)) {
        storage::RecordOwnWrite(db, tenant, action.body.deal, echo->first, echo->second,
                                now + kEchoWindow);
    }
}

// Whether funnelguard may write to the deal what the violation's actions would, given what it
// already did or has on its way there (docs/rules.md, "Interplay with funnelguard's own actions").
struct OwnActivity {
    bool revert_on_its_way = false;            // a revert planned whose echo has not come yet
    bool task_on_its_way = false;              // likewise a task
    bool own_task_open = false;                // one of funnelguard's tasks is open on the deal
    std::optional<Timestamp> last_own_task{};  // when the latest of them was created
};

OwnActivity ActivityOf(const domain::DealSnapshot& snapshot, const DealRecord& record) {
    OwnActivity activity;
    for (const domain::Task& task : snapshot.tasks) {
        if (!task.own) {
            continue;
        }
        activity.own_task_open = activity.own_task_open || task.IsOpen();
        if (!activity.last_own_task || task.created_at > *activity.last_own_task) {
            activity.last_own_task = task.created_at;
        }
    }
    activity.task_on_its_way = record.task_on_its_way;
    activity.revert_on_its_way = record.revert_on_its_way;
    return activity;
}

PlanLimits LimitsFor(const OwnActivity& activity, const config::RuleCommon& common, Timestamp now) {
    return PlanLimits{
        .may_revert = !activity.revert_on_its_way,
        .may_add_task =
            !activity.own_task_open && !activity.task_on_its_way &&
            (!activity.last_own_task || *activity.last_own_task + common.task_due <= now),
    };
}

}  // namespace

std::vector<storage::OutboxItem> CancelActions(storage::Db& db, std::int64_t violation_id,
                                               Timestamp now, const std::string& reason) {
    std::vector<storage::OutboxItem> cancelled =
        storage::CancelOutboxForViolation(db, violation_id, now, reason);
    for (const storage::OutboxItem& item : cancelled) {
        // One never sent has no echo to come. One attempted (retrying, or being sent right now)
        // may have reached the CRM: its echo is still recognised, until it expires.
        if (item.attempts > 0) {
            continue;
        }
        const Result<outbox::ActionBody> body = outbox::DecodeAction(item.payload);
        if (!body) {
            continue;
        }
        if (const auto echo = EchoOf(*body)) {
            storage::ForgetOwnWrite(db, item.tenant, body->deal, echo->first, echo->second);
        }
    }
    return cancelled;
}

rules::Evaluation EvaluateSnapshot(const domain::DealSnapshot& snapshot,
                                   const config::TenantConfig& tenant, Timestamp now) {
    const rules::RuleInput input{
        .snapshot = snapshot,
        .pipeline = FindPipeline(tenant, snapshot.deal.pipeline),
        .config = tenant.rules,
        .now = now,
    };
    return rules::EvaluateAll(input);
}

std::vector<PlannedAction> PlanActions(const config::TenantConfig& tenant,
                                       const rules::RuleSpec& spec,
                                       const storage::Violation& violation,
                                       const rules::Finding& finding, const domain::Deal& deal,
                                       Timestamp now, const std::vector<std::string>& channels,
                                       const PlanLimits& limits) {
    std::vector<PlannedAction> actions;
    if (tenant.mode == config::Mode::kObserve) {
        return actions;
    }
    const bool to_crm = Has(channels, domain::kCrmChannel);
    const config::RuleCommon& common = spec.common(tenant.rules);
    for (ActionKind kind : common.actions) {
        switch (kind) {
            case ActionKind::kNote: {
                if (!to_crm) {
                    break;
                }
                PlannedAction action = MakeAction(violation, kind, deal);
                action.body.text = violation.message;
                action.body.detail = outbox::NoteBody{};
                actions.push_back(std::move(action));
                break;
            }
            case ActionKind::kTask: {
                // One funnelguard task per deal at a time and per task_due; never a task about
                // funnelguard's own task (it would repeat for ever).
                if (!to_crm || !limits.may_add_task || finding.about_own_task) {
                    break;
                }
                PlannedAction action = MakeAction(violation, kind, deal);
                action.body.text = RenderFindingText(spec, finding, deal, tenant, TextKind::kTask);
                action.body.detail = outbox::TaskBody{.responsible = violation.responsible,
                                                      .due = now + common.task_due};
                actions.push_back(std::move(action));
                break;
            }
            case ActionKind::kRevert: {
                // Only enforce mode moves deals, only to a stage the deal is not already at, and
                // only open deals: reopening a won or lost deal would set off other rules, and
                // the violation counts in the history either way.
                // One revert at a time: a second one on its way would race the first.
                if (!to_crm || tenant.mode != config::Mode::kEnforce || !finding.revert_to ||
                    *finding.revert_to == deal.stage || deal.deleted || !limits.may_revert) {
                    break;
                }
                const domain::Pipeline* pipeline = FindPipeline(tenant, deal.pipeline);
                const domain::Stage* current = pipeline ? pipeline->Find(deal.stage) : nullptr;
                if (current == nullptr || current->kind != domain::StageKind::kOpen) {
                    break;
                }
                PlannedAction action = MakeAction(violation, kind, deal);
                action.body.text = violation.message;
                action.body.detail = outbox::RevertBody{
                    .pipeline = deal.pipeline, .from = deal.stage, .to = *finding.revert_to};
                actions.push_back(std::move(action));
                break;
            }
            case ActionKind::kNotify:
                for (std::string& channel : MessageChannels(tenant, channels)) {
                    PlannedAction action = MakeAction(violation, kind, deal, std::move(channel));
                    action.body.text = violation.message;
                    action.body.detail = outbox::MessageBody{.to = violation.responsible};
                    actions.push_back(std::move(action));
                }
                break;
            case ActionKind::kEscalate:
                break;  // planned by EscalateDue once the violation has been open long enough
            case ActionKind::kSummary:
                break;  // never a rule's (the timers plan morning summaries)
        }
    }
    return actions;
}

Judgement Judge(const domain::DealSnapshot& snapshot, const DealRecord& record,
                const JudgeContext& context) {
    Judgement judgement;
    const config::TenantConfig& tenant = context.tenant;
    rules::Evaluation evaluation;
    if (!snapshot.deal.deleted) {
        evaluation = EvaluateSnapshot(snapshot, tenant, context.now);
    }
    judgement.wake_at = evaluation.wake_at;
    std::map<std::pair<std::string, std::string>, const rules::Finding*> found;
    for (const rules::Finding& finding : evaluation.findings) {
        found.emplace(std::make_pair(finding.rule, finding.key), &finding);
    }

    // Resolve or refresh what is open.
    std::map<std::pair<std::string, std::string>, const storage::Violation*> known;
    for (const storage::Violation& violation : record.violations) {
        const auto id = std::make_pair(violation.rule, violation.key);
        const bool open = !violation.resolved_at.has_value();
        if (open || violation.resolution == "acknowledged") {
            known[id] = &violation;
        }
        if (!open) {
            continue;
        }
        const rules::RuleSpec* spec = rules::FindRule(violation.rule);
        if (spec == nullptr || (!spec->common(tenant.rules).enabled && !snapshot.deal.deleted)) {
            continue;  // a rule switched off keeps its history as it was
        }
        const auto hit = found.find(id);
        if (hit == found.end()) {
            storage::Violation resolved = violation;
            resolved.resolved_at = context.now;
            resolved.resolution = ResolutionFor(*spec, snapshot, tenant);
            resolved.deal_title = snapshot.deal.title;
            judgement.resolve.push_back(std::move(resolved));
            continue;
        }
        const rules::Finding& finding = *hit->second;
        std::string message =
            RenderFindingText(*spec, finding, snapshot.deal, tenant, TextKind::kMessage);
        if (finding.details != violation.details || message != violation.message ||
            finding.responsible != violation.responsible) {
            judgement.update.push_back({.id = violation.id,
                                        .details = finding.details,
                                        .message = std::move(message),
                                        .responsible = finding.responsible});
        }
    }

    // Open what newly holds. What funnelguard already did or has on its way to the deal limits
    // what it writes again (kept up to date with what this pass plans).
    OwnActivity activity = ActivityOf(snapshot, record);
    for (const rules::Finding& finding : evaluation.findings) {
        if (known.count({finding.rule, finding.key}) != 0) {
            continue;
        }
        const rules::RuleSpec* spec = rules::FindRule(finding.rule);
        if (spec == nullptr) {
            continue;
        }
        OpenPlan plan;
        storage::Violation& violation = plan.violation;
        violation.tenant = tenant.id;
        violation.deal_id = snapshot.deal.id;
        violation.rule = finding.rule;
        violation.key = finding.key;
        violation.responsible = finding.responsible;
        violation.opened_at = std::min(finding.since, context.now);
        violation.details = finding.details;
        violation.message =
            RenderFindingText(*spec, finding, snapshot.deal, tenant, TextKind::kMessage);
        violation.deal_title = snapshot.deal.title;
        if (!context.channels.empty()) {
            const PlanLimits limits = LimitsFor(activity, spec->common(tenant.rules), context.now);
            plan.actions = PlanActions(tenant, *spec, violation, finding, snapshot.deal,
                                       context.now, context.channels, limits);
            for (const PlannedAction& action : plan.actions) {
                activity.task_on_its_way =
                    activity.task_on_its_way || action.kind() == ActionKind::kTask;
                activity.revert_on_its_way =
                    activity.revert_on_its_way || action.kind() == ActionKind::kRevert;
            }
        }
        judgement.open.push_back(std::move(plan));
    }
    return judgement;
}

JudgeOutcome ApplyJudgement(storage::Db& db, const std::string& tenant, const std::string& deal_id,
                            Judgement judgement, Timestamp now) {
    JudgeOutcome outcome;
    for (storage::Violation& resolved : judgement.resolve) {
        if (storage::ResolveViolation(db, resolved.id, now, resolved.resolution)) {
            // A violation resolved before its message went out is dropped, in this transaction.
            storage::CancelMessagesForViolation(
                db, resolved.id, now,
                "cancelled: the violation was resolved (" + resolved.resolution + ")");
            outcome.changes.push_back({.violation = std::move(resolved), .opened = false});
        }
    }
    for (const UpdatePlan& update : judgement.update) {
        storage::UpdateViolation(db, update.id, update.details, update.message, update.responsible);
    }
    for (OpenPlan& plan : judgement.open) {
        plan.violation.id = storage::InsertViolation(db, plan.violation);
        for (PlannedAction& action : plan.actions) {
            BindAction(action, plan.violation);
            Enqueue(db, action, plan.violation.id, now, outcome.actions);
            RecordEchoes(db, tenant, action, now);
        }
        outcome.changes.push_back({.violation = std::move(plan.violation), .opened = true});
    }
    storage::SetWakeAt(db, tenant, deal_id, judgement.wake_at);
    return outcome;
}

JudgeOutcome JudgeDeal(storage::Db& db, const JudgeContext& context, const std::string& deal_id) {
    const std::string& tenant = context.tenant.id;
    std::optional<domain::DealSnapshot> snapshot = storage::LoadSnapshot(db, tenant, deal_id);
    if (!snapshot) {
        return {};  // tasks or notes of a deal the mirror has not seen yet
    }
    DealRecord record;
    record.violations = storage::ViolationsForDeal(db, tenant, deal_id);
    Judgement judgement = Judge(*snapshot, record, context);
    // What funnelguard has on its way to the deal matters only to the actions of what opens,
    // which is rare: read then, and plan again with it.
    if (!context.channels.empty() && !judgement.open.empty()) {
        record.task_on_its_way = storage::OwnWritePending(
            db, tenant, deal_id, storage::OwnWriteKind::kTask, context.now);
        record.revert_on_its_way = storage::OwnWritePending(
            db, tenant, deal_id, storage::OwnWriteKind::kRevert, context.now);
        if (record.task_on_its_way || record.revert_on_its_way) {
            judgement = Judge(*snapshot, record, context);
        }
    }
    return ApplyJudgement(db, tenant, deal_id, std::move(judgement), context.now);
}

JudgeOutcome EscalateDue(storage::Db& db, const JudgeContext& context) {
    JudgeOutcome outcome;
    const config::TenantConfig& tenant = context.tenant;
    const std::vector<std::string> channels = MessageChannels(tenant, context.channels);
    if (tenant.mode == config::Mode::kObserve || channels.empty()) {
        return outcome;
    }
    // Most tenants escalate nothing: then the open violations need not be read every minute.
    const auto all_rules = rules::AllRules();
    if (std::none_of(all_rules.begin(), all_rules.end(), [&tenant](const rules::RuleSpec* spec) {
            return EscalateAfter(spec->common(tenant.rules)).has_value();
        })) {
        return outcome;
    }
    for (const storage::Violation& violation : storage::OpenNotEscalated(db, tenant.id)) {
        const rules::RuleSpec* spec = rules::FindRule(violation.rule);
        if (spec == nullptr) {
            continue;
        }
        const auto after = EscalateAfter(spec->common(tenant.rules));
        // With [tenant.chat], escalate_after counts working time only: a violation opened on
        // Friday evening is not escalated before Monday's working hours have passed.
        const Duration open_for =
            tenant.chat.configured
                ? notify::WorkingTimeBetween(tenant, violation.opened_at, context.now)
                : context.now - violation.opened_at;
        if (!after || open_for < *after) {
            continue;
        }
        domain::Deal deal;
        deal.id = violation.deal_id;
        deal.title = violation.deal_title;
        const std::string text = RenderEscalation(violation.message, violation.responsible,
                                                  context.now - violation.opened_at, tenant);
        for (const std::string& channel : channels) {
            PlannedAction action = MakeAction(violation, ActionKind::kEscalate, deal, channel);
            action.body.text = text;
            // Routing to the responsible's head is the chat core's, so a chat's escalation names
            // the responsible; the generic receiver gets the documented "head_of_sales".
            action.body.detail = outbox::MessageBody{.to = channel == domain::kCrmChannel
                                                               ? std::string("head_of_sales")
                                                               : violation.responsible};
            Enqueue(db, action, violation.id, context.now, outcome.actions);
        }
        storage::MarkEscalated(db, violation.id, context.now);
    }
    return outcome;
}

}  // namespace fg::engine
