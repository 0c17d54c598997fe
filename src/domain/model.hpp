#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "src/common/time.hpp"

namespace fg::domain {

enum class StageKind { kIntake, kOpen, kWon, kLost };

/// What funnelguard does about a violation (DESIGN.md §2): a rule's `actions` and an outbox
/// item's kind. notify and escalate are chat messages; the others write to the CRM. summary (a
/// person's morning summary) is a chat message too, planned by the timers, never by a rule.
enum class ActionKind { kNote, kTask, kRevert, kNotify, kEscalate, kSummary };
/// "note", "task", "revert", "notify", "escalate", "summary".
std::string_view ActionKindName(ActionKind kind);
std::optional<ActionKind> ParseActionKind(std::string_view name);
inline bool IsMessage(ActionKind kind) {
    return kind == ActionKind::kNotify || kind == ActionKind::kEscalate ||
           kind == ActionKind::kSummary;
}
/// What a rule's `actions` may list (every kind but summary).
inline bool IsRuleAction(ActionKind kind) { return kind != ActionKind::kSummary; }
/// The outbox channel of a tenant's CRM; a chat notifier's channel is its name ("telegram").
inline constexpr std::string_view kCrmChannel = "crm";

struct Stage {
    std::string name{};
    StageKind kind = StageKind::kOpen;
};

/// Open stages in funnel order, then won stages; lost and intake stages stand outside the order.
struct Pipeline {
    std::string id{};
    std::vector<Stage> stages{};

    const Stage* Find(const std::string& name) const;
    /// Position of an open or won stage in the funnel order; nullopt for lost, intake or unknown.
    std::optional<int> OrderOf(const std::string& name) const;
    /// Open and won stages, in order.
    std::vector<const Stage*> Ordered() const;
};

/// A deal's stage as the CRM reported it at CRM time `at`.
struct StageChange {
    Timestamp at{};
    std::string pipeline{};
    std::string stage{};
    bool own = false;  // funnelguard moved it (a revert); never judged
};

struct Task {
    std::string id{};
    std::string deal_id{};
    std::optional<Timestamp> due{};
    bool done = false;
    bool deleted = false;
    std::string responsible{};
    std::string text{};
    Timestamp created_at{};                // CRM time the mirror first saw it
    Timestamp updated_at{};                // CRM time of the latest change
    std::optional<Timestamp> closed_at{};  // completed or deleted, CRM time
    int reschedules = 0;                   // times the due time moved into the future
    bool own = false;                      // funnelguard created it

    bool IsOpen() const { return !done && !deleted; }
};

struct Note {
    std::string id{};
    std::string deal_id{};
    Timestamp at{};
    std::string text{};
    bool own = false;  // funnelguard wrote it; never counts as the manager's note
};

struct Deal {
    std::string tenant{};
    std::string id{};
    std::string title{};
    std::string pipeline{};
    std::string stage{};
    std::string responsible{};
    std::map<std::string, std::string> fields{};
    Timestamp created_at{};  // CRM time of the first event seen for it
    Timestamp updated_at{};  // CRM time of the card the mirror holds
    bool deleted = false;
};

/// Everything the rules may look at for one deal. History is in CRM time order.
struct DealSnapshot {
    Deal deal{};
    std::vector<StageChange> history{};
    std::vector<Task> tasks{};
    std::vector<Note> notes{};
};

// Normalized events: what every adapter decodes into.
struct DealUpserted {
    Deal deal{};
};
struct DealDeleted {
    std::string deal_id{};
};
struct TaskUpserted {
    Task task{};
};
struct TaskDeleted {
    std::string task_id{};
};
struct NoteAdded {
    Note note{};
};
/// The CRM's own log says the deal was at this stage at the event's time (a transition no
/// webhook reported): it enters the stage history there and never replaces the card.
struct StageObserved {
    std::string deal_id{};
    std::string pipeline{};
    std::string stage{};
};

struct Event {
    std::string id{};  // the sender's id, the dedupe key within a tenant
    Timestamp at{};    // CRM time
    std::variant<DealUpserted, DealDeleted, TaskUpserted, TaskDeleted, NoteAdded, StageObserved>
        body{};
};

}  // namespace fg::domain
