#pragma once

#include <memory>
#include <string>
#include <vector>

#include "src/domain/model.hpp"
#include "src/storage/database.hpp"

/// The mirror: events applied in CRM time to each deal's row (its card, stage history, tasks and
/// notes). The merge rules themselves are pure functions, in merge.hpp; reading snapshots is in
/// snapshot.hpp. Throws SQLite::Exception on database errors; the caller owns the transaction.
namespace fg::storage {

/// Records that an event id was seen; false when it had been seen before (then ignore the event).
bool MarkEventSeen(Db& db, const std::string& tenant, const std::string& event_id);

/// Applies one normalized event to the mirror in CRM time (DESIGN.md §3). The event's `at` is the
/// time used throughout (times inside the body, e.g. Note::at, are ignored).
/// - deal.upserted: inserts or, if `at` is not older than the stored card, overwrites the card;
///   either way the (at, pipeline, stage) observation takes its place in the stage history
///   (collapsed: an observation equal to its predecessor in time adds nothing; one that makes its
///   successor redundant removes it; observations with the same `at` keep their arrival order).
///   created_at is the earliest `at` seen.
/// - deal.deleted: marks deleted. Only an upsert strictly newer than the deletion restores the
///   deal (a tie goes to the deletion); an older one still takes its place in the history (and
///   replaces the card if newer than it). A deletion of a deal never seen is remembered.
/// - task.upserted: older than the stored task = ignored; done false->true sets closed_at = at;
///   a due time moved later increments reschedules; a task may arrive before its deal, and may
///   move to another deal (then both deals are returned).
/// - task.deleted: marks deleted, closed_at = at unless already closed; ignored when older than the
///   stored task. A deletion that arrives before the task is remembered.
/// - note.added: inserted once.
/// - stage.observed (domain::StageObserved): the (at, pipeline, stage) observation takes its place
///   in the stage history as a deal.upserted's would; the card's fields are never replaced, but
///   its pipeline and stage follow an observation at or after the card's time. created_at is
///   the earliest `at` seen.
/// Echoes of funnelguard's own writes (see RecordOwnWrite) are flagged `own` and consume the
/// record. Returns the ids of the deals whose snapshot changed (usually one).
/// One event: a MirrorBatch of one. The rules are merge.hpp's pure functions.
std::vector<std::string> ApplyEvent(Db& db, const std::string& tenant, const domain::Event& event);

/// Applies many events as ApplyEvent would, one after the other, but reads each deal row they
/// touch once, keeps it in memory and writes it once, on Flush (with its stage_history rows, from
/// the first entry that changed). The events of a deal usually arrive together, and rewriting its
/// row and document per event was most of the cost of applying them. Other tables (events_seen,
/// task_deals, own_writes) are written at once. Until Flush, the mirror read through `db`
/// (LoadSnapshot, judging) does not show the batch; destroyed without Flush, the deal rows'
/// changes are dropped (the caller rolls its transaction back). Use within one transaction.
class MirrorBatch {
public:
    explicit MirrorBatch(Db& db);
    ~MirrorBatch();
    MirrorBatch(const MirrorBatch&) = delete;
    MirrorBatch& operator=(const MirrorBatch&) = delete;

    /// ApplyEvent's contract; the returned deals are changed once Flush has run.
    std::vector<std::string> Apply(const std::string& tenant, const domain::Event& event);
    /// Writes every changed deal row, then starts empty.
    void Flush();

private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace fg::storage
