#include "src/storage/merge.hpp"

#include <optional>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/format.h>

// The mirror's merge rules on domain values alone: no database anywhere in this file.
namespace fg::storage {
namespace {

Timestamp At(std::int64_t seconds) { return FromEpoch(seconds); }

std::optional<Timestamp> OptAt(std::int64_t seconds) { return At(seconds); }

domain::Deal Card(const std::string& stage, const std::string& pipeline = "main") {
    domain::Deal deal;
    deal.id = "d";
    deal.pipeline = pipeline;
    deal.stage = stage;
    return deal;
}

// "A@1 B@3".
std::string History(const std::vector<domain::StageChange>& history) {
    std::string out;
    for (const domain::StageChange& change : history) {
        out += fmt::format("{}{}@{} ", change.pipeline == "main" ? "" : change.pipeline + ":",
                           change.stage, ToEpoch(change.at));
    }
    if (!out.empty()) {
        out.pop_back();
    }
    return out;
}

std::vector<domain::StageChange> Observed(
    const std::vector<std::pair<std::string, std::int64_t>>& observations) {
    std::vector<domain::StageChange> history;
    for (const auto& [stage, at] : observations) {
        ObserveStage(history, "main", stage, At(at));
    }
    return history;
}

domain::Task Update(std::optional<std::int64_t> due, bool done, const std::string& deal = "d") {
    domain::Task task;
    task.id = "t";
    task.deal_id = deal;
    if (due) {
        task.due = At(*due);
    }
    task.done = done;
    task.responsible = "u1";
    task.text = "Call";
    return task;
}

domain::Task Stored(std::int64_t at, std::optional<std::int64_t> due, bool done = false) {
    return NewTask(Update(due, done), At(at), std::nullopt);
}

}  // namespace

TEST_CASE("MergeDealUpsert: the card of the newest upsert wins, by CRM time") {
    DealClock clock;
    SUBCASE("the first card is kept and its stage observed") {
        const UpsertMerge merge = MergeDealUpsert(clock, "", "", Card("A"), At(10));
        CHECK(merge.replaces_card);
        CHECK(merge.observe_stage);
        CHECK(clock.updated_at == OptAt(10));
        CHECK(clock.created_at == OptAt(10));
        CHECK_FALSE(clock.deleted);
    }
    clock = DealClock{.created_at = At(10), .updated_at = At(10)};
    SUBCASE("a newer card replaces it; repeating the held stage adds nothing to the history") {
        const UpsertMerge merge = MergeDealUpsert(clock, "main", "A", Card("A"), At(20));
        CHECK(merge.replaces_card);
        CHECK_FALSE(merge.observe_stage);
        CHECK(clock.updated_at == OptAt(20));
        CHECK(clock.created_at == OptAt(10));
    }
    SUBCASE("a newer card of another stage is observed") {
        CHECK(MergeDealUpsert(clock, "main", "A", Card("B"), At(20)).observe_stage);
        CHECK(MergeDealUpsert(clock, "main", "A", Card("A", "other"), At(30)).observe_stage);
    }
    SUBCASE("a card of the same time is not older: it replaces the held one") {
        const UpsertMerge merge = MergeDealUpsert(clock, "main", "A", Card("B"), At(10));
        CHECK(merge.replaces_card);
        CHECK(merge.observe_stage);
        CHECK(clock.updated_at == OptAt(10));
    }
    SUBCASE("an older card is not kept, but its stage takes its place in the history") {
        const UpsertMerge merge = MergeDealUpsert(clock, "main", "A", Card("A"), At(5));
        CHECK_FALSE(merge.replaces_card);
        CHECK(merge.observe_stage);  // even the same stage: it may be new at its time
        CHECK(clock.updated_at == OptAt(10));
        CHECK(clock.created_at == OptAt(5));  // the earliest event seen
    }
}

TEST_CASE("MergeDealUpsert against a deletion: a tie goes to the deletion") {
    DealClock clock{
        .created_at = At(10), .updated_at = At(10), .deleted_at = At(20), .deleted = true};
    SUBCASE("an upsert of the deletion's time leaves the deal deleted") {
        CHECK(MergeDealUpsert(clock, "main", "A", Card("A"), At(20)).replaces_card);
        CHECK(clock.deleted);
        CHECK(clock.updated_at == OptAt(20));
    }
    SUBCASE("a strictly newer upsert restores it") {
        CHECK(MergeDealUpsert(clock, "main", "A", Card("A"), At(21)).replaces_card);
        CHECK_FALSE(clock.deleted);
    }
    SUBCASE("an older upsert neither restores it nor changes its card") {
        CHECK_FALSE(MergeDealUpsert(clock, "main", "A", Card("B"), At(5)).replaces_card);
        CHECK(clock.deleted);
        CHECK(clock.updated_at == OptAt(10));
    }
    SUBCASE("an upsert newer than the card but older than the deletion replaces the card only") {
        CHECK(MergeDealUpsert(clock, "main", "A", Card("B"), At(15)).replaces_card);
        CHECK(clock.deleted);
        CHECK(clock.updated_at == OptAt(15));
    }
}

TEST_CASE("MergeDealDeletion: deleted when not older than the card; remembered before the deal") {
    SUBCASE("a deletion of a deal never seen is remembered, with no deal to report") {
        DealClock clock;
        const DeletionMerge merge = MergeDealDeletion(clock, /*exists=*/false, At(10));
        CHECK(merge.row_changed);
        CHECK_FALSE(merge.deal_changed);
        CHECK(clock.deleted);
        CHECK(clock.deleted_at == OptAt(10));
        CHECK(clock.created_at == OptAt(10));
        SUBCASE("and an older card arriving later does not bring the deal to life") {
            CHECK(MergeDealUpsert(clock, "", "", Card("A"), At(5)).replaces_card);
            CHECK(clock.deleted);
        }
        SUBCASE("a newer card does") {
            CHECK(MergeDealUpsert(clock, "", "", Card("A"), At(11)).replaces_card);
            CHECK_FALSE(clock.deleted);
        }
    }
    DealClock clock{.created_at = At(10), .updated_at = At(10)};
    SUBCASE("a deletion of the card's time deletes the deal (a tie goes to the deletion)") {
        const DeletionMerge merge = MergeDealDeletion(clock, true, At(10));
        CHECK(merge.row_changed);
        CHECK(merge.deal_changed);
        CHECK(clock.deleted);
        SUBCASE("repeating it changes nothing") {
            const DeletionMerge again = MergeDealDeletion(clock, true, At(10));
            CHECK_FALSE(again.row_changed);
            CHECK_FALSE(again.deal_changed);
        }
        SUBCASE("an older one only shows the deal existed earlier; deleted_at is the latest") {
            const DeletionMerge older = MergeDealDeletion(clock, true, At(5));
            CHECK(older.row_changed);
            CHECK_FALSE(older.deal_changed);
            CHECK(clock.created_at == OptAt(5));
            CHECK(clock.deleted_at == OptAt(10));
            CHECK(clock.deleted);
        }
    }
    SUBCASE("a deletion older than the card is stored but does not delete the deal") {
        const DeletionMerge merge = MergeDealDeletion(clock, true, At(5));
        CHECK(merge.row_changed);
        CHECK_FALSE(merge.deal_changed);
        CHECK_FALSE(clock.deleted);
        CHECK(clock.deleted_at == OptAt(5));
        CHECK(clock.created_at == OptAt(5));
    }
    SUBCASE("a newer deletion deletes it") {
        CHECK(MergeDealDeletion(clock, true, At(11)).deal_changed);
        CHECK(clock.deleted);
        CHECK(clock.deleted_at == OptAt(11));
    }
    SUBCASE("a row holding only tasks (no card) is deleted by any deletion") {
        DealClock tasks_only;
        const DeletionMerge merge = MergeDealDeletion(tasks_only, true, At(3));
        CHECK(merge.row_changed);
        CHECK(merge.deal_changed);
        CHECK(tasks_only.deleted);
    }
}

TEST_CASE("MergeStageObserved: the card's stage follows a newer observation of another stage") {
    const domain::StageObserved seen{.deal_id = "d", .pipeline = "main", .stage = "B"};
    DealClock clock{.created_at = At(10), .updated_at = At(10)};
    CHECK(MergeStageObserved(clock, "main", "A", seen, At(10)));  // the card's time: not older
    CHECK(MergeStageObserved(clock, "main", "A", seen, At(20)));
    CHECK(clock.updated_at == OptAt(10));  // the card's fields stay, and so does its time
    CHECK_FALSE(MergeStageObserved(clock, "main", "B", seen, At(20)));  // already there
    CHECK_FALSE(MergeStageObserved(clock, "main", "A", seen, At(9)));   // older than the card
    CHECK(clock.created_at == OptAt(9));
    DealClock no_card;
    CHECK_FALSE(MergeStageObserved(no_card, "", "", seen, At(5)));
    CHECK(no_card.created_at == OptAt(5));
}

TEST_CASE("ObserveStage places observations in CRM time and collapses redundant ones") {
    SUBCASE("in time order, a repeated stage adds nothing") {
        std::vector<domain::StageChange> history;
        CHECK(ObserveStage(history, "main", "A", At(1)) == std::optional<std::size_t>(0));
        CHECK_FALSE(ObserveStage(history, "main", "A", At(2)).has_value());
        CHECK(ObserveStage(history, "main", "B", At(3)) == std::optional<std::size_t>(1));
        CHECK(History(history) == "A@1 B@3");
        CHECK_FALSE(history[1].own);  // the caller flags echoes of its own writes
    }
    SUBCASE("an observation arriving late takes its place in time") {
        CHECK(History(Observed({{"A", 1}, {"C", 5}, {"B", 3}})) == "A@1 B@3 C@5");
    }
    SUBCASE("one equal to its predecessor in time adds nothing, even arriving late") {
        CHECK(History(Observed({{"A", 1}, {"B", 5}, {"A", 3}})) == "A@1 B@5");
    }
    SUBCASE("one that makes its successor redundant removes it") {
        // B was first seen at 5; an earlier sighting at 3 says it was there since then.
        CHECK(History(Observed({{"A", 1}, {"B", 5}, {"B", 3}})) == "A@1 B@3");
        std::vector<domain::StageChange> history = Observed({{"A", 1}, {"B", 5}});
        CHECK(ObserveStage(history, "main", "B", At(3)) == std::optional<std::size_t>(1));
    }
    SUBCASE("observations of the same second keep their arrival order") {
        CHECK(History(Observed({{"A", 1}, {"B", 1}, {"C", 1}})) == "A@1 B@1 C@1");
        CHECK(History(Observed({{"A", 1}, {"B", 2}, {"C", 1}})) == "A@1 C@1 B@2");
    }
    SUBCASE("an observation before the first entry") {
        CHECK(History(Observed({{"B", 5}, {"A", 1}})) == "A@1 B@5");
        CHECK(History(Observed({{"B", 5}, {"B", 1}})) == "B@1");
    }
    SUBCASE("the same stage name in another pipeline is another stage") {
        std::vector<domain::StageChange> history;
        ObserveStage(history, "main", "A", At(1));
        CHECK(ObserveStage(history, "other", "A", At(2)).has_value());
        CHECK(History(history) == "A@1 other:A@2");
    }
}

TEST_CASE("MergeTaskUpsert: older updates are ignored; completion and reschedules") {
    domain::Task stored = Stored(10, 100);
    SUBCASE("an older update is ignored") {
        CHECK(MergeTaskUpsert(stored, Update(200, true), At(9)) == TaskChange::kCreatedAt);
        CHECK(stored.created_at == At(9));  // but the task existed earlier
        CHECK(MergeTaskUpsert(stored, Update(200, true), At(9)) == TaskChange::kNone);
        CHECK_FALSE(stored.done);
        CHECK(stored.due == OptAt(100));
    }
    SUBCASE("an update of the same time is applied") {
        CHECK(MergeTaskUpsert(stored, Update(100, false), At(10)) == TaskChange::kApplied);
    }
    SUBCASE("done false->true closes the task at the update's time; done again keeps it") {
        CHECK(MergeTaskUpsert(stored, Update(100, true), At(20)) == TaskChange::kApplied);
        CHECK(stored.done);
        CHECK(stored.closed_at == OptAt(20));
        CHECK(MergeTaskUpsert(stored, Update(100, true), At(30)) == TaskChange::kApplied);
        CHECK(stored.closed_at == OptAt(20));
        CHECK(stored.updated_at == At(30));
        SUBCASE("reopened, it is not closed any more") {
            CHECK(MergeTaskUpsert(stored, Update(100, false), At(40)) == TaskChange::kApplied);
            CHECK_FALSE(stored.closed_at.has_value());
        }
    }
    SUBCASE("a due time moved later counts one reschedule; earlier or removed counts none") {
        MergeTaskUpsert(stored, Update(200, false), At(20));
        CHECK(stored.reschedules == 1);
        MergeTaskUpsert(stored, Update(150, false), At(30));
        CHECK(stored.reschedules == 1);
        MergeTaskUpsert(stored, Update(std::nullopt, false), At(40));
        CHECK(stored.reschedules == 1);
        MergeTaskUpsert(stored, Update(500, false), At(50));  // from no due time: not a move
        CHECK(stored.reschedules == 1);
        MergeTaskUpsert(stored, Update(600, false), At(60));
        CHECK(stored.reschedules == 2);
        CHECK(stored.due == OptAt(600));
    }
    SUBCASE("against a deletion of the same time the update loses; a newer one undeletes") {
        REQUIRE(MergeTaskDeletion(stored, At(20)));
        CHECK(MergeTaskUpsert(stored, Update(100, false), At(20)) == TaskChange::kNone);
        CHECK(stored.deleted);
        CHECK(MergeTaskUpsert(stored, Update(100, false), At(21)) == TaskChange::kApplied);
        CHECK_FALSE(stored.deleted);
        CHECK_FALSE(stored.closed_at.has_value());
    }
}

TEST_CASE("NewTask: a deletion seen before the task, if not older, makes it arrive deleted") {
    const domain::Task plain = NewTask(Update(100, false), At(10), std::nullopt);
    CHECK(plain.created_at == At(10));
    CHECK(plain.updated_at == At(10));
    CHECK_FALSE(plain.closed_at.has_value());
    CHECK_FALSE(plain.deleted);
    CHECK(plain.reschedules == 0);
    CHECK(NewTask(Update(100, true), At(10), std::nullopt).closed_at == OptAt(10));

    const domain::Task deleted_later = NewTask(Update(100, false), At(10), At(15));
    CHECK(deleted_later.deleted);
    CHECK(deleted_later.updated_at == At(15));
    CHECK(deleted_later.closed_at == OptAt(15));
    CHECK(NewTask(Update(100, false), At(10), At(10)).deleted);  // a tie goes to the deletion
    CHECK(NewTask(Update(100, true), At(10), At(15)).closed_at == OptAt(10));  // done first
    CHECK_FALSE(NewTask(Update(100, false), At(10), At(5)).deleted);           // an older deletion
}

TEST_CASE("MoveTask: a task moves to the deal a newer update names") {
    std::vector<domain::Task> from;
    std::vector<domain::Task> to;
    InsertTask(from, Stored(10, 100));
    SUBCASE("newer: moved, with the update applied") {
        CHECK(MoveTask(from, to, Update(200, false, "e"), At(20)) == TaskMove::kMovedTo);
        CHECK(from.empty());
        REQUIRE(to.size() == 1);
        CHECK(to[0].deal_id == "e");
        CHECK(to[0].reschedules == 1);
        CHECK(to[0].created_at == At(10));
    }
    SUBCASE("older: it stays where it is") {
        CHECK(MoveTask(from, to, Update(200, false, "e"), At(5)) == TaskMove::kStays);
        CHECK(from.at(0).created_at == At(5));
        CHECK(MoveTask(from, to, Update(200, false, "e"), At(7)) == TaskMove::kNone);
        CHECK(to.empty());
        CHECK(from.at(0).deal_id == "d");
    }
    SUBCASE("not there") {
        std::vector<domain::Task> empty;
        CHECK(MoveTask(empty, to, Update(200, false, "e"), At(20)) == TaskMove::kAbsent);
    }
}

TEST_CASE("Tasks stay sorted by id") {
    std::vector<domain::Task> tasks;
    for (const char* id : {"t3", "t1", "t2"}) {
        domain::Task task;
        task.id = id;
        InsertTask(tasks, task);
    }
    CHECK(tasks[0].id == "t1");
    CHECK(tasks[2].id == "t3");
    CHECK(FindTask(tasks, "t2") == tasks.begin() + 1);
    CHECK(FindTask(tasks, "t0") == tasks.end());
}

TEST_CASE("MergeTaskDeletion: closed at the deletion unless closed already; older ignored") {
    domain::Task open = Stored(10, 100);
    CHECK_FALSE(MergeTaskDeletion(open, At(9)));
    CHECK_FALSE(open.deleted);
    CHECK(MergeTaskDeletion(open, At(10)));  // the same time as the update: the deletion wins
    CHECK(open.deleted);
    CHECK(open.closed_at == OptAt(10));
    CHECK_FALSE(MergeTaskDeletion(open, At(10)));  // repeated
    CHECK(MergeTaskDeletion(open, At(12)));        // a newer one moves updated_at only
    CHECK(open.updated_at == At(12));
    CHECK(open.closed_at == OptAt(10));

    domain::Task done = Stored(10, 100, /*done=*/true);
    CHECK(MergeTaskDeletion(done, At(20)));
    CHECK(done.closed_at == OptAt(10));
}

TEST_CASE("AddNote: once per id, in (at, id) order, at the event's time") {
    std::vector<domain::Note> notes;
    domain::Note note;
    note.id = "n2";
    note.deal_id = "d";
    note.text = "hello";
    note.at = At(999);  // the body's time is ignored
    note.own = true;    // and so is its own flag: the caller decides
    domain::Note* added = AddNote(notes, note, At(5));
    REQUIRE(added != nullptr);
    CHECK(added->at == At(5));
    CHECK_FALSE(added->own);
    CHECK(AddNote(notes, note, At(6)) == nullptr);
    note.id = "n1";
    AddNote(notes, note, At(5));
    note.id = "n0";
    AddNote(notes, note, At(7));
    REQUIRE(notes.size() == 3);
    CHECK(notes[0].id == "n1");
    CHECK(notes[1].id == "n2");
    CHECK(notes[2].id == "n0");
}

}  // namespace fg::storage
