#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "src/common/time.hpp"
#include "src/domain/model.hpp"

/// The mirror's merge rules (DESIGN.md §3, the contract of ApplyEvent in mirror.hpp): which of a
/// deal's or task's events wins in CRM time, and how the stage history, tasks and notes change.
/// Pure functions over domain types, no I/O: the SQLite mirror (mirror.cpp) reads the rows, calls
/// these and writes the result. Echoes of funnelguard's own writes are the caller's business (they
/// need the database): a function that adds an entry returns it, with `own` false, and the caller
/// flags it. Safe to call concurrently on different data.
namespace fg::storage {

/// The times of a deal's mirror row that decide which of its events win.
struct DealClock {
    std::optional<Timestamp> created_at{};  // the earliest deal event seen
    std::optional<Timestamp> updated_at{};  // the card's time; none while no card has been seen
    std::optional<Timestamp> deleted_at{};  // the latest deletion seen
    bool deleted = false;                   // deleted_at >= updated_at (a deletion wins a tie)
};

struct UpsertMerge {
    bool replaces_card = false;  // the upsert is not older than the card held: its card is kept
    bool observe_stage = false;  // its stage must take its place in the history (ObserveStage)
};
/// deal.upserted at `at` of a deal holding a card at `held_pipeline`/`held_stage` (empty, and
/// clock.updated_at none, without one). Updates the clock: created_at is the earliest `at`; a card
/// not older than the held one replaces it (updated_at = at), and the deal is deleted after it
/// only if a deletion is at least as new (a tie goes to the deletion; a strictly newer upsert
/// restores the deal). An older upsert leaves the card, but its stage still enters the history;
/// only a newer card repeating the held stage adds nothing to it.
UpsertMerge MergeDealUpsert(DealClock& clock, const std::string& held_pipeline,
                            const std::string& held_stage, const domain::Deal& deal, Timestamp at);

struct DeletionMerge {
    bool row_changed = false;   // something to write (a deletion seen first is remembered too)
    bool deal_changed = false;  // the deal's deleted flag flipped: its snapshot changed
};
/// deal.deleted at `at`; `exists`: the mirror has a row for the deal (a card, a deletion, or tasks
/// and notes that came first). deleted_at becomes the latest deletion and the deal is deleted when
/// that is not older than the card (or there is no card). An older or repeated deletion changes
/// nothing; a deletion of a deal never seen is remembered (row_changed), so that an older upsert
/// arriving later does not bring the deal to life.
DeletionMerge MergeDealDeletion(DealClock& clock, bool exists, Timestamp at);

/// stage.observed at `at` (`seen`): created_at is the earliest `at`. Returns true when the card's
/// stage follows the observation: there is a card, the observation is not older than it, and it
/// names another pipeline or stage (the card's fields and updated_at never change).
bool MergeStageObserved(DealClock& clock, const std::string& held_pipeline,
                        const std::string& held_stage, const domain::StageObserved& seen,
                        Timestamp at);

/// Places the observation (at, pipeline, stage) in `history` (CRM time order, arrival order within
/// a second), collapsed: nothing when the entry before it in time is the same stage (returns
/// nullopt); otherwise it goes after every entry of the same second or earlier, and the entry
/// after it is removed if it only repeats it. Returns the new entry's index (its `own` is false).
std::optional<std::size_t> ObserveStage(std::vector<domain::StageChange>& history,
                                        const std::string& pipeline, const std::string& stage,
                                        Timestamp at);

/// The task of `tasks` (sorted by id) with `id`, or tasks.end().
std::vector<domain::Task>::iterator FindTask(std::vector<domain::Task>& tasks,
                                             const std::string& id);
/// Inserts `task` into `tasks`, keeping them sorted by id.
void InsertTask(std::vector<domain::Task>& tasks, domain::Task task);

enum class TaskChange {
    kNone,       // older than the stored task: ignored
    kCreatedAt,  // older, but shows the task existed earlier: only created_at moved back
    kApplied,    // the update replaced the stored task's state
};
/// task.upserted at `at` (`update`) onto the stored task. Older than the stored task, or of the
/// same time as its deletion, it is ignored but may move created_at back. Otherwise it replaces
/// due, done, responsible and text, undeletes the task, and: done false->true sets closed_at = at
/// (kept while done; cleared when not done); a due time moved later counts one more reschedule.
TaskChange MergeTaskUpsert(domain::Task& stored, const domain::Task& update, Timestamp at);

/// A task the mirror has not held yet, from task.upserted at `at`: created and updated at `at`,
/// closed at `at` when done, no reschedules. `deleted_before`: the CRM time of a deletion of it
/// that arrived first; when that is not older than `at`, the task arrives deleted at that time.
domain::Task NewTask(const domain::Task& update, Timestamp at,
                     std::optional<Timestamp> deleted_before);

enum class TaskMove {
    kAbsent,   // not in `from`
    kNone,     // older than the task in `from`: nothing changed
    kStays,    // older, but moved its created_at back: it stays in `from`, changed
    kMovedTo,  // moved from `from` to `to` with the update applied
};
/// task.upserted at `at` of a task that `from` (another deal's tasks) holds, naming the deal of
/// `to`: it moves unless it is older than the task held (MergeTaskUpsert).
TaskMove MoveTask(std::vector<domain::Task>& from, std::vector<domain::Task>& to,
                  const domain::Task& update, Timestamp at);

/// task.deleted at `at` of the stored task: marks it deleted and updated at `at`, closed_at = at
/// unless already closed. Returns false (nothing changed) when older than the stored task or
/// repeated (a deletion of the same time as the one held).
bool MergeTaskDeletion(domain::Task& stored, Timestamp at);

/// note.added at `at`: inserted once (a note id already there is ignored: nullptr), in (at, id)
/// order, with at = `at` (the note's own time is ignored). Returns the inserted note.
domain::Note* AddNote(std::vector<domain::Note>& notes, const domain::Note& note, Timestamp at);

}  // namespace fg::storage
