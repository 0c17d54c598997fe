#include "src/storage/merge.hpp"

#include <algorithm>
#include <iterator>
#include <utility>

namespace fg::storage {
namespace {

std::optional<Timestamp> Earliest(const std::optional<Timestamp>& known, Timestamp at) {
    return known ? std::min(*known, at) : at;
}

}  // namespace

UpsertMerge MergeDealUpsert(DealClock& clock, const std::string& held_pipeline,
                            const std::string& held_stage, const domain::Deal& deal, Timestamp at) {
    UpsertMerge merge;
    merge.replaces_card = !clock.updated_at || at >= *clock.updated_at;
    // The card held is the newest observation, so a newer one that repeats it changes nothing in
    // the history (the caller need not even read it); anything else goes through ObserveStage.
    merge.observe_stage = !(clock.updated_at && merge.replaces_card &&
                            held_pipeline == deal.pipeline && held_stage == deal.stage);
    clock.created_at = Earliest(clock.created_at, at);
    if (merge.replaces_card) {
        clock.updated_at = at;
        clock.deleted = clock.deleted_at && *clock.deleted_at >= at;  // a deletion wins a tie
    }
    return merge;
}

DeletionMerge MergeDealDeletion(DealClock& clock, bool exists, Timestamp at) {
    DealClock next = clock;
    next.created_at = Earliest(clock.created_at, at);
    next.deleted_at = clock.deleted_at ? std::max(*clock.deleted_at, at) : at;
    next.deleted = !clock.updated_at || *next.deleted_at >= *clock.updated_at;
    if (exists && next.created_at == clock.created_at && next.deleted_at == clock.deleted_at &&
        next.deleted == clock.deleted) {
        return {};  // an older or repeated deletion
    }
    const bool was_deleted = clock.deleted;
    clock = next;
    return DeletionMerge{.row_changed = true,
                         .deal_changed = exists && next.deleted != was_deleted};
}

bool MergeStageObserved(DealClock& clock, const std::string& held_pipeline,
                        const std::string& held_stage, const domain::StageObserved& seen,
                        Timestamp at) {
    clock.created_at = Earliest(clock.created_at, at);
    // The card's stage follows an observation newer than the card (a Digital Pipeline move, or a
    // move the CRM's log reports after the last card): that is where the deal is now. updated_at
    // stays the card's, so a card of a time between the two still replaces the fields.
    return clock.updated_at && at >= *clock.updated_at &&
           (held_pipeline != seen.pipeline || held_stage != seen.stage);
}

std::optional<std::size_t> ObserveStage(std::vector<domain::StageChange>& history,
                                        const std::string& pipeline, const std::string& stage,
                                        Timestamp at) {
    auto same = [&](const domain::StageChange& change) {
        return change.pipeline == pipeline && change.stage == stage;
    };
    auto next = std::upper_bound(
        history.begin(), history.end(), at,
        [](Timestamp value, const domain::StageChange& change) { return value < change.at; });
    if (next != history.begin() && same(*std::prev(next))) {
        return std::nullopt;
    }
    const auto position = static_cast<std::size_t>(next - history.begin());
    next = history.insert(next, domain::StageChange{at, pipeline, stage, false});
    ++next;
    if (next != history.end() && same(*next)) {
        history.erase(next);
    }
    return position;
}

std::vector<domain::Task>::iterator FindTask(std::vector<domain::Task>& tasks,
                                             const std::string& id) {
    auto it = std::lower_bound(
        tasks.begin(), tasks.end(), id,
        [](const domain::Task& task, const std::string& value) { return task.id < value; });
    return it != tasks.end() && it->id == id ? it : tasks.end();
}

void InsertTask(std::vector<domain::Task>& tasks, domain::Task task) {
    auto it = std::lower_bound(
        tasks.begin(), tasks.end(), task.id,
        [](const domain::Task& existing, const std::string& value) { return existing.id < value; });
    tasks.insert(it, std::move(task));
}

TaskChange MergeTaskUpsert(domain::Task& stored, const domain::Task& update, Timestamp at) {
    if (at < stored.updated_at || (at == stored.updated_at && stored.deleted)) {
        if (at < stored.created_at) {
            stored.created_at = at;
            return TaskChange::kCreatedAt;
        }
        return TaskChange::kNone;
    }
    if (update.due && stored.due && *update.due > *stored.due) {
        ++stored.reschedules;
    }
    if (update.done) {
        if (!stored.done || !stored.closed_at) {
            stored.closed_at = at;
        }
    } else {
        stored.closed_at.reset();
    }
    stored.due = update.due;
    stored.done = update.done;
    stored.deleted = false;
    stored.responsible = update.responsible;
    stored.text = update.text;
    stored.updated_at = at;
    return TaskChange::kApplied;
}

domain::Task NewTask(const domain::Task& update, Timestamp at,
                     std::optional<Timestamp> deleted_before) {
    domain::Task created = update;
    created.created_at = at;
    created.updated_at = at;
    created.closed_at = update.done ? std::optional<Timestamp>(at) : std::nullopt;
    created.deleted = false;
    created.reschedules = 0;
    created.own = false;
    // Its deletion came first; if that is newer, the task arrives deleted.
    if (deleted_before && *deleted_before >= at) {
        created.deleted = true;
        created.updated_at = *deleted_before;
        if (!created.closed_at) {
            created.closed_at = created.updated_at;
        }
    }
    return created;
}

TaskMove MoveTask(std::vector<domain::Task>& from, std::vector<domain::Task>& to,
                  const domain::Task& update, Timestamp at) {
    const auto moving = FindTask(from, update.id);
    if (moving == from.end()) {
        return TaskMove::kAbsent;
    }
    domain::Task moved = *moving;
    const TaskChange change = MergeTaskUpsert(moved, update, at);
    if (change == TaskChange::kNone) {
        return TaskMove::kNone;
    }
    if (change == TaskChange::kCreatedAt) {  // older: it stays where it is
        *moving = std::move(moved);
        return TaskMove::kStays;
    }
    from.erase(moving);
    moved.deal_id = update.deal_id;
    InsertTask(to, std::move(moved));
    return TaskMove::kMovedTo;
}

bool MergeTaskDeletion(domain::Task& stored, Timestamp at) {
    if (at < stored.updated_at || (stored.deleted && at == stored.updated_at)) {
        return false;  // older than what the mirror holds, or repeated
    }
    if (!stored.deleted && !stored.closed_at) {
        stored.closed_at = at;
    }
    stored.deleted = true;
    stored.updated_at = at;
    return true;
}

domain::Note* AddNote(std::vector<domain::Note>& notes, const domain::Note& note, Timestamp at) {
    if (std::any_of(notes.begin(), notes.end(),
                    [&](const domain::Note& stored) { return stored.id == note.id; })) {
        return nullptr;
    }
    domain::Note added = note;
    added.at = at;
    added.own = false;
    auto position = std::upper_bound(notes.begin(), notes.end(), added,
                                     [](const domain::Note& a, const domain::Note& b) {
                                         return a.at != b.at ? a.at < b.at : a.id < b.id;
                                     });
    return &*notes.insert(position, std::move(added));
}

}  // namespace fg::storage
