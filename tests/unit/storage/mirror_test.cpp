#include "src/storage/mirror.hpp"

#include <map>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "src/storage/own_writes.hpp"
#include "src/storage/wake.hpp"
#include "tests/unit/storage/storage_test_support.hpp"

namespace fg::storage {

TEST_CASE("MarkEventSeen is true once per (tenant, event id)") {
    auto db = Memory();
    CHECK(MarkEventSeen(*db, "acme", "e1"));
    CHECK_FALSE(MarkEventSeen(*db, "acme", "e1"));
    CHECK(MarkEventSeen(*db, "beta", "e1"));
    CHECK(MarkEventSeen(*db, "acme", "e2"));
}

// ---------------------------------------------------------------- deals and stage history

TEST_CASE("Deal upserts keep the newest card and every observation in CRM time") {
    auto db = Memory();
    CHECK(Apply(*db, DealAt(1, "d1", "A", "First", {{"Бюджет", "100"}})) ==
          std::vector<std::string>{"d1"});
    Apply(*db, DealAt(3, "d1", "C", "Third", {{"Бюджет", "300"}}));
    // Late: B happened at 2, after A and before C.
    CHECK(Apply(*db, DealAt(2, "d1", "B", "Second", {{"Бюджет", "200"}})) ==
          std::vector<std::string>{"d1"});

    const DealSnapshot snapshot = Load(*db, "d1");
    CHECK(History(snapshot) == "A@1 B@2 C@3");
    CHECK(snapshot.deal.title == "Third");
    CHECK(snapshot.deal.stage == "C");
    CHECK(snapshot.deal.fields.at("Бюджет") == "300");
    CHECK(snapshot.deal.created_at == T(1));
    CHECK(snapshot.deal.updated_at == T(3));
    CHECK(snapshot.deal.tenant == "acme");
    CHECK(snapshot.deal.responsible == "u1");
    CHECK_FALSE(snapshot.deal.deleted);

    SUBCASE("an upsert older than everything lowers created_at") {
        Apply(*db, DealAt(0, "d1", "A", "Zero"));
        const DealSnapshot earlier = Load(*db, "d1");
        CHECK(earlier.deal.created_at == T(0));
        CHECK(History(earlier) == "A@0 B@2 C@3");  // A@1 only repeated A@0
        CHECK(earlier.deal.title == "Third");
    }
    SUBCASE("the stage_history table says the same, in order, for SQL analytics") {
        SQLite::Statement rows(db->sql(),
                               "SELECT stage, at FROM stage_history WHERE tenant = 'acme' AND "
                               "deal_id = 'd1' ORDER BY seq");
        std::string table;
        while (rows.executeStep()) {
            table += fmt::format("{}{}@{}", table.empty() ? "" : " ", rows.getColumn(0).getString(),
                                 rows.getColumn(1).getInt64() - ToEpoch(T(0)));
        }
        CHECK(table == History(snapshot));
    }
    SUBCASE("an upsert at the card's own time replaces the card") {
        Apply(*db, DealAt(3, "d1", "C", "Renamed"));
        CHECK(Load(*db, "d1").deal.title == "Renamed");
        CHECK(History(Load(*db, "d1")) == "A@1 B@2 C@3");
    }
}

TEST_CASE("A stage observed enters the history and never replaces the card's fields") {
    auto db = Memory();
    auto observed = [](std::int64_t at, const std::string& stage) {
        return Event{NextEventId(), T(at),
                     domain::StageObserved{.deal_id = "d1", .pipeline = "main", .stage = stage}};
    };
    Apply(*db, DealAt(5, "d1", "C", "Card"));
    SUBCASE("at the card's own time: the card keeps its title and fields") {
        Apply(*db, observed(5, "C"));
        const DealSnapshot snapshot = Load(*db, "d1");
        CHECK(snapshot.deal.title == "Card");
        CHECK(snapshot.deal.responsible == "u1");
        CHECK(History(snapshot) == "C@5");
    }
    SUBCASE("transitions no webhook reported fill the history in CRM time") {
        Apply(*db, observed(2, "A"));
        Apply(*db, observed(3, "B"));
        const DealSnapshot snapshot = Load(*db, "d1");
        CHECK(History(snapshot) == "A@2 B@3 C@5");
        CHECK(snapshot.deal.created_at == T(2));
        CHECK(snapshot.deal.stage == "C");
        CHECK(snapshot.deal.title == "Card");
    }
    SUBCASE("newer than the card (a Digital Pipeline move): the card's stage follows it") {
        Apply(*db, observed(9, "D"));
        DealSnapshot snapshot = Load(*db, "d1");
        CHECK(History(snapshot) == "C@5 D@9");
        CHECK(snapshot.deal.stage == "D");
        CHECK(snapshot.deal.title == "Card");
        CHECK(snapshot.deal.updated_at == T(5));
        // A card between the two still brings its fields (and its own stage, as the CRM said then).
        Apply(*db, DealAt(7, "d1", "D", "Renamed"));
        snapshot = Load(*db, "d1");
        CHECK(snapshot.deal.title == "Renamed");
        CHECK(snapshot.deal.stage == "D");
        // The card repeats the stage the row holds, so it adds no observation (the mirror does
        // not read the history for it): the move keeps the observation's time, 9, not 7.
        CHECK(History(snapshot) == "C@5 D@9");
    }
    SUBCASE("before the card arrives it holds the history; the card fills in later") {
        auto fresh = Memory();
        Apply(*fresh,
              Event{NextEventId(), T(1),
                    domain::StageObserved{.deal_id = "d2", .pipeline = "main", .stage = "A"}});
        Apply(*fresh, DealAt(4, "d2", "B", "Late card"));
        const DealSnapshot snapshot = Load(*fresh, "d2");
        CHECK(History(snapshot) == "A@1 B@4");
        CHECK(snapshot.deal.title == "Late card");
    }
}

TEST_CASE("Stage history collapses repeated observations") {
    auto db = Memory();
    SUBCASE("the same stage again adds nothing") {
        Apply(*db, DealAt(1, "d", "A"));
        Apply(*db, DealAt(2, "d", "A"));
        Apply(*db, DealAt(3, "d", "B"));
        Apply(*db, DealAt(4, "d", "B"));
        CHECK(History(Load(*db, "d")) == "A@1 B@3");
    }
    SUBCASE("a late observation equal to its predecessor adds nothing") {
        Apply(*db, DealAt(1, "d", "A"));
        Apply(*db, DealAt(3, "d", "B"));
        Apply(*db, DealAt(2, "d", "A"));
        CHECK(History(Load(*db, "d")) == "A@1 B@3");
        CHECK(Load(*db, "d").deal.stage == "B");
    }
    SUBCASE("a late observation makes its successor redundant") {
        Apply(*db, DealAt(1, "d", "A"));
        Apply(*db, DealAt(3, "d", "B"));
        Apply(*db, DealAt(2, "d", "B"));
        CHECK(History(Load(*db, "d")) == "A@1 B@2");
    }
    SUBCASE("observations before the first one") {
        Apply(*db, DealAt(5, "d", "B"));
        Apply(*db, DealAt(1, "d", "A"));
        CHECK(History(Load(*db, "d")) == "A@1 B@5");
        Apply(*db, DealAt(0, "d", "B"));
        CHECK(History(Load(*db, "d")) == "B@0 A@1 B@5");
        CHECK(Load(*db, "d").deal.created_at == T(0));
    }
    SUBCASE("a pipeline change with the same stage name is a change") {
        Apply(*db, DealAt(1, "d", "A"));
        Apply(*db, DealAt(2, "d", "A", "Deal", {}, "other"));
        CHECK(History(Load(*db, "d")) == "A@1 other:A@2");
    }
    SUBCASE("changes within one CRM second keep their arrival order") {
        Apply(*db, DealAt(1, "d", "Z"));
        Apply(*db, DealAt(1, "d", "A"));
        CHECK(History(Load(*db, "d")) == "Z@1 A@1");
        CHECK(Load(*db, "d").deal.stage == "A");
        Apply(*db, DealAt(2, "d", "A"));
        CHECK(History(Load(*db, "d")) == "Z@1 A@1");
    }
    SUBCASE("deals are independent") {
        Apply(*db, DealAt(1, "d", "A"));
        Apply(*db, DealAt(1, "e", "B"));
        Apply(*db, DealAt(2, "d", "B"));
        CHECK(History(Load(*db, "d")) == "A@1 B@2");
        CHECK(History(Load(*db, "e")) == "B@1");
        CHECK(History(Load(*db, "e", "acme")) == "B@1");
        CHECK_FALSE(LoadSnapshot(*db, "beta", "e").has_value());
    }
}

TEST_CASE("A deleted deal is not brought back by an older upsert") {
    auto db = Memory();
    Apply(*db, DealAt(1, "d", "A", "Old"));
    SetWakeAt(*db, "acme", "d", T(50));
    CHECK(Apply(*db, DealDeletedAt(5, "d")) == std::vector<std::string>{"d"});
    CHECK(Load(*db, "d").deal.deleted);
    CHECK(DealsToWake(*db, T(100), 10).empty());

    Apply(*db, DealAt(3, "d", "B", "Late"));  // older than the deletion
    DealSnapshot snapshot = Load(*db, "d");
    CHECK(snapshot.deal.deleted);
    CHECK(snapshot.deal.title == "Late");  // still the newest card seen
    CHECK(History(snapshot) == "A@1 B@3");
    CHECK(Stream(*db).empty());
    CHECK(AllDeals(*db, "").empty());

    SUBCASE("an upsert at the deletion's second does not either") {
        Apply(*db, DealAt(5, "d", "C"));
        CHECK(Load(*db, "d").deal.deleted);
    }
    SUBCASE("a newer upsert restores it") {
        CHECK(Apply(*db, DealAt(6, "d", "C", "Back")) == std::vector<std::string>{"d"});
        snapshot = Load(*db, "d");
        CHECK_FALSE(snapshot.deal.deleted);
        CHECK(snapshot.deal.title == "Back");
        CHECK(Stream(*db).size() == 1);
    }
    SUBCASE("a repeated or older deletion changes nothing") {
        CHECK(Apply(*db, DealDeletedAt(5, "d")).empty());
        CHECK(Apply(*db, DealDeletedAt(2, "d")).empty());
        CHECK(Load(*db, "d").deal.deleted);
    }
}

TEST_CASE("A deletion seen before the deal keeps it deleted") {
    auto db = Memory();
    Apply(*db, DealDeletedAt(10, "d"));
    DealSnapshot snapshot = Load(*db, "d");
    CHECK(snapshot.deal.deleted);
    CHECK(snapshot.history.empty());

    Apply(*db, DealAt(4, "d", "A", "Card"));
    Apply(*db, DealAt(2, "d", "S", "Older card"));
    snapshot = Load(*db, "d");
    CHECK(snapshot.deal.deleted);
    CHECK(snapshot.deal.title == "Card");
    CHECK(snapshot.deal.stage == "A");
    CHECK(snapshot.deal.created_at == T(2));
    CHECK(History(snapshot) == "S@2 A@4");
    CHECK(Stream(*db).empty());

    Apply(*db, DealAt(11, "d", "B"));
    CHECK_FALSE(Load(*db, "d").deal.deleted);
}

TEST_CASE("An older deletion does not delete a newer card; one in the same second does") {
    auto db = Memory();
    Apply(*db, DealAt(10, "d", "A"));
    CHECK(Apply(*db, DealDeletedAt(5, "d")).empty());
    CHECK_FALSE(Load(*db, "d").deal.deleted);
    CHECK(Apply(*db, DealDeletedAt(10, "d")) == std::vector<std::string>{"d"});
    CHECK(Load(*db, "d").deal.deleted);
}

// ---------------------------------------------------------------- tasks and notes

TEST_CASE("Tasks: completion, reschedules, deletion, order") {
    auto db = Memory();
    Apply(*db, DealAt(1, "d", "A"));
    CHECK(Apply(*db, TaskAt(2, "t1", "d", 100, false)) == std::vector<std::string>{"d"});
    domain::Task task = Load(*db, "d").tasks.at(0);
    CHECK(task.id == "t1");
    CHECK(task.deal_id == "d");
    CHECK(task.due == std::optional<Timestamp>(T(100)));
    CHECK(task.IsOpen());
    CHECK(task.created_at == T(2));
    CHECK_FALSE(task.closed_at.has_value());
    CHECK(task.responsible == "u1");
    CHECK(task.text == "Call");

    Apply(*db, TaskAt(3, "t1", "d", 200, false));  // later: a reschedule
    Apply(*db, TaskAt(4, "t1", "d", 150, false));  // earlier: not one
    Apply(*db, TaskAt(5, "t1", "d", 300, false));
    task = Load(*db, "d").tasks.at(0);
    CHECK(task.reschedules == 2);
    CHECK(task.due == std::optional<Timestamp>(T(300)));
    CHECK(task.updated_at == T(5));

    CHECK(Apply(*db, TaskAt(4, "t1", "d", 999, true)).empty());  // older: ignored
    task = Load(*db, "d").tasks.at(0);
    CHECK_FALSE(task.done);
    CHECK(task.due == std::optional<Timestamp>(T(300)));

    Apply(*db, TaskAt(6, "t1", "d", 300, true));
    task = Load(*db, "d").tasks.at(0);
    CHECK(task.done);
    CHECK(task.closed_at == std::optional<Timestamp>(T(6)));
    Apply(*db, TaskAt(7, "t1", "d", 300, true, "Called"));  // still done: closed_at stays
    task = Load(*db, "d").tasks.at(0);
    CHECK(task.closed_at == std::optional<Timestamp>(T(6)));
    CHECK(task.text == "Called");
    CHECK(task.created_at == T(2));

    SUBCASE("reopened") {
        Apply(*db, TaskAt(8, "t1", "d", 300, false));
        task = Load(*db, "d").tasks.at(0);
        CHECK(task.IsOpen());
        CHECK_FALSE(task.closed_at.has_value());
    }
    SUBCASE("deleted") {
        Apply(*db, TaskAt(8, "t2", "d", std::nullopt, false));
        CHECK(Apply(*db, TaskDeletedAt(9, "t2")) == std::vector<std::string>{"d"});
        const DealSnapshot snapshot = Load(*db, "d");
        REQUIRE(snapshot.tasks.size() == 2);
        const domain::Task& deleted = snapshot.tasks[1];
        CHECK(deleted.id == "t2");
        CHECK(deleted.deleted);
        CHECK_FALSE(deleted.IsOpen());
        CHECK(deleted.closed_at == std::optional<Timestamp>(T(9)));
        CHECK(deleted.updated_at == T(9));
        CHECK(Apply(*db, TaskAt(8, "t2", "d", 5, false)).empty());  // older upsert: stays deleted
        CHECK(Apply(*db, TaskAt(9, "t2", "d", 5, false)).empty());  // tie: the deletion wins
        CHECK(Load(*db, "d").tasks[1].deleted);
        CHECK(Apply(*db, TaskDeletedAt(9, "t2")).empty());
    }
    SUBCASE("a done task keeps its completion time when deleted") {
        Apply(*db, TaskDeletedAt(9, "t1"));
        task = Load(*db, "d").tasks.at(0);
        CHECK(task.deleted);
        CHECK(task.closed_at == std::optional<Timestamp>(T(6)));
    }
    SUBCASE("an older deletion is ignored") {
        CHECK(Apply(*db, TaskDeletedAt(5, "t1")).empty());
        CHECK_FALSE(Load(*db, "d").tasks.at(0).deleted);
    }
}

TEST_CASE("A task may arrive before its deal, and move between deals") {
    auto db = Memory();
    CHECK(Apply(*db, TaskAt(2, "t1", "d", 100, false)) == std::vector<std::string>{"d"});
    CHECK_FALSE(LoadSnapshot(*db, "acme", "d").has_value());
    CHECK(Stream(*db).empty());
    Apply(*db, DealAt(1, "d", "A"));
    REQUIRE(Load(*db, "d").tasks.size() == 1);
    CHECK(Load(*db, "d").tasks[0].id == "t1");

    Apply(*db, DealAt(1, "e", "A"));
    std::vector<std::string> affected = Apply(*db, TaskAt(3, "t1", "e", 100, false));
    std::sort(affected.begin(), affected.end());
    CHECK(affected == std::vector<std::string>{"d", "e"});
    CHECK(Load(*db, "d").tasks.empty());
    REQUIRE(Load(*db, "e").tasks.size() == 1);
    const domain::Task moved = Load(*db, "e").tasks[0];
    CHECK(moved.deal_id == "e");
    CHECK(moved.created_at == T(2));
    CHECK(Count(*db, "task_deals") == 1);
}

TEST_CASE("A task deletion seen before the task") {
    auto db = Memory();
    Apply(*db, DealAt(1, "d", "A"));
    CHECK(Apply(*db, TaskDeletedAt(10, "t1")).empty());  // its deal is unknown yet
    CHECK(Load(*db, "d").tasks.empty());

    SUBCASE("the older upsert arrives already deleted") {
        CHECK(Apply(*db, TaskAt(5, "t1", "d", 100, false)) == std::vector<std::string>{"d"});
        const DealSnapshot snapshot = Load(*db, "d");
        REQUIRE(snapshot.tasks.size() == 1);
        const domain::Task& task = snapshot.tasks[0];
        CHECK(task.deleted);
        CHECK(task.created_at == T(5));
        CHECK(task.closed_at == std::optional<Timestamp>(T(10)));
        CHECK(task.text == "Call");
        CHECK(Count(*db, "task_deals") == 1);
    }
    SUBCASE("a newer upsert wins") {
        Apply(*db, TaskAt(11, "t1", "d", 100, false));
        CHECK(Load(*db, "d").tasks.at(0).IsOpen());
    }
    SUBCASE("the latest of several early deletions counts") {
        Apply(*db, TaskDeletedAt(4, "t1"));
        Apply(*db, TaskAt(7, "t1", "d", 100, false));
        const domain::Task task = Load(*db, "d").tasks.at(0);
        CHECK(task.deleted);
        CHECK(task.updated_at == T(10));
    }
}

TEST_CASE("A note is stored once") {
    auto db = Memory();
    Apply(*db, DealAt(1, "d", "A"));
    CHECK(Apply(*db, NoteAt(5, "n2", "d", "second")) == std::vector<std::string>{"d"});
    CHECK(Apply(*db, NoteAt(3, "n1", "d", "first")) == std::vector<std::string>{"d"});
    CHECK(Apply(*db, NoteAt(7, "n1", "d", "first again")).empty());
    const DealSnapshot snapshot = Load(*db, "d");
    REQUIRE(snapshot.notes.size() == 2);
    CHECK(snapshot.notes[0].id == "n1");  // by time
    CHECK(snapshot.notes[0].text == "first");
    CHECK(snapshot.notes[0].at == T(3));
    CHECK(snapshot.notes[1].id == "n2");
    CHECK_FALSE(snapshot.notes[0].own);
}

// ---------------------------------------------------------------- own writes

TEST_CASE("Echoes of funnelguard's own writes are recognised once") {
    auto db = Memory();
    Apply(*db, DealAt(1, "d", "A"));
    Apply(*db, DealAt(2, "d", "C"));

    SUBCASE("revert") {
        RecordOwnWrite(*db, "acme", "d", OwnWriteKind::kRevert, "A", T(100));
        Apply(*db, DealAt(3, "d", "C"));  // not a change: the record stays
        CHECK(Count(*db, "own_writes") == 1);
        Apply(*db, DealAt(4, "d", "A"));
        CHECK(History(Load(*db, "d")) == "A@1 C@2 A*@4");
        CHECK(Count(*db, "own_writes") == 0);
        Apply(*db, DealAt(5, "d", "C"));
        Apply(*db, DealAt(6, "d", "A"));  // a manager's move back: not ours
        CHECK(History(Load(*db, "d")) == "A@1 C@2 A*@4 C@5 A@6");
    }
    SUBCASE("revert of another deal or tenant does not match") {
        RecordOwnWrite(*db, "acme", "other", OwnWriteKind::kRevert, "A", T(100));
        RecordOwnWrite(*db, "beta", "d", OwnWriteKind::kRevert, "A", T(100));
        RecordOwnWrite(*db, "acme", "d", OwnWriteKind::kNote, "A", T(100));
        Apply(*db, DealAt(4, "d", "A"));
        CHECK(History(Load(*db, "d")) == "A@1 C@2 A@4");
        CHECK(Count(*db, "own_writes") == 3);
    }
    SUBCASE("an expired record is ignored, and pruned") {
        RecordOwnWrite(*db, "acme", "d", OwnWriteKind::kRevert, "A", T(3));
        RecordOwnWrite(*db, "acme", "d", OwnWriteKind::kTask, "Plan", T(50));
        Apply(*db, DealAt(4, "d", "A"));
        CHECK(History(Load(*db, "d")) == "A@1 C@2 A@4");
        CHECK(PruneOwnWrites(*db, T(10)) == 1);
        CHECK(Count(*db, "own_writes") == 1);
    }
    SUBCASE("task") {
        RecordOwnWrite(*db, "acme", "d", OwnWriteKind::kTask, "Plan the next step", T(100));
        Apply(*db, TaskAt(3, "t1", "d", 50, false, "Call"));
        Apply(*db, TaskAt(4, "t2", "d", 50, false, "Plan the next step"));
        Apply(*db, TaskAt(5, "t3", "d", 50, false, "Plan the next step"));
        Apply(*db, TaskAt(6, "t2", "d", 60, false, "Plan the next step"));  // an update: stays own
        const DealSnapshot snapshot = Load(*db, "d");
        REQUIRE(snapshot.tasks.size() == 3);
        CHECK_FALSE(snapshot.tasks[0].own);
        CHECK(snapshot.tasks[1].own);
        CHECK_FALSE(snapshot.tasks[2].own);  // the record was consumed by t2
    }
    SUBCASE("note") {
        RecordOwnWrite(*db, "acme", "d", OwnWriteKind::kNote, "Stage skipped", T(100));
        Apply(*db, NoteAt(3, "n1", "d", "Stage skipped"));
        Apply(*db, NoteAt(3, "n1", "d", "Stage skipped"));  // repeated: stays own, nothing consumed
        Apply(*db, NoteAt(4, "n2", "d", "Stage skipped"));
        const DealSnapshot snapshot = Load(*db, "d");
        REQUIRE(snapshot.notes.size() == 2);
        CHECK(snapshot.notes[0].own);
        CHECK_FALSE(snapshot.notes[1].own);
        CHECK(Count(*db, "own_writes") == 0);
    }
}

// ---------------------------------------------------------------- batches

namespace {

// Every row of a table, ordered, as text: the two mirrors of a comparison must agree on all.
std::string Dump(Db& db, const std::string& table, int columns, const std::string& order) {
    SQLite::Statement rows(db.sql(), "SELECT * FROM " + table + " ORDER BY " + order);
    std::string out;
    while (rows.executeStep()) {
        for (int i = 0; i < columns; ++i) {
            const SQLite::Column column = rows.getColumn(i);
            out += column.isNull() ? std::string("NULL") : column.getString();
            out += i + 1 < columns ? "|" : "\n";
        }
    }
    return out;
}

}  // namespace

TEST_CASE("MirrorBatch leaves the mirror exactly as ApplyEvent does, event after event") {
    // Random events over few deals, tasks, notes and stages observed in the CRM's log, out of
    // order and repeated, own writes included: one mirror applies them one by one, the other in
    // batches of random size.
    auto one_by_one = Memory();
    auto batched = Memory();
    std::mt19937 random(2026);
    auto pick = [&](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };
    const std::vector<std::string> stages = {"A", "B", "C", "D"};
    for (Db* db : {one_by_one.get(), batched.get()}) {
        RecordOwnWrite(*db, "acme", "d1", OwnWriteKind::kRevert, "A", T(40));
        RecordOwnWrite(*db, "acme", "d2", OwnWriteKind::kTask, "Plan", T(60));
        RecordOwnWrite(*db, "acme", "d0", OwnWriteKind::kNote, "Skipped", T(60));
    }
    std::vector<Event> events;
    for (int i = 0; i < 600; ++i) {
        const std::string deal = fmt::format("d{}", pick(4));
        const std::int64_t at = pick(60);
        switch (pick(9)) {
            case 0:
                events.push_back(DealDeletedAt(at, deal));
                break;
            case 1:
            case 2:
                events.push_back(TaskAt(at, fmt::format("t{}", pick(6)), deal,
                                        pick(3) == 0 ? std::nullopt : std::optional(at + pick(20)),
                                        pick(2) == 0, pick(2) == 0 ? "Plan" : "Call"));
                break;
            case 3:
                events.push_back(TaskDeletedAt(at, fmt::format("t{}", pick(6))));
                break;
            case 4:
                events.push_back(NoteAt(at, fmt::format("n{}", pick(8)), deal,
                                        pick(2) == 0 ? "Skipped" : "Called the client"));
                break;
            case 5:  // history only, never the card (some before the deal's first card)
                events.push_back(
                    Event{NextEventId(), T(at),
                          domain::StageObserved{
                              .deal_id = deal, .pipeline = "main", .stage = stages[pick(4)]}});
                break;
            default:
                events.push_back(DealAt(at, deal, stages[pick(4)], fmt::format("T{}", at),
                                        {{"F", std::to_string(pick(3))}},
                                        pick(6) == 0 ? "other" : "main"));
        }
    }
    std::vector<std::vector<std::string>> affected_one_by_one;
    for (const Event& event : events) {
        affected_one_by_one.push_back(Apply(*one_by_one, event));
    }
    std::vector<std::vector<std::string>> affected_batched;
    for (std::size_t begin = 0; begin < events.size();) {
        const std::size_t end = std::min(events.size(), begin + 1 + pick(60));
        MirrorBatch batch(*batched);
        for (std::size_t i = begin; i < end; ++i) {
            affected_batched.push_back(batch.Apply("acme", events[i]));
        }
        batch.Flush();
        begin = end;
    }

    CHECK(affected_batched == affected_one_by_one);
    for (int d = 0; d < 4; ++d) {
        const std::string deal = fmt::format("d{}", d);
        const auto expected = LoadSnapshot(*one_by_one, "acme", deal);
        const auto actual = LoadSnapshot(*batched, "acme", deal);
        REQUIRE(expected.has_value() == actual.has_value());
        if (expected) {
            CHECK(Describe(*actual) == Describe(*expected));
        }
    }
    CHECK(Dump(*batched, "deals", 13, "tenant, id") ==
          Dump(*one_by_one, "deals", 13, "tenant, id"));
    CHECK(Dump(*batched, "stage_history", 7, "tenant, deal_id, seq") ==
          Dump(*one_by_one, "stage_history", 7, "tenant, deal_id, seq"));
    CHECK(Dump(*batched, "task_deals", 4, "tenant, task_id") ==
          Dump(*one_by_one, "task_deals", 4, "tenant, task_id"));
    CHECK(Dump(*batched, "own_writes", 5, "rowid") == Dump(*one_by_one, "own_writes", 5, "rowid"));
    CHECK(Count(*batched, "own_writes") < 3);  // some echoes were recognised
}

TEST_CASE("MirrorBatch recognises own writes on a deal whose row the batch itself creates") {
    // ApplyEvent reads the own-write hint with the row of each event: once an earlier event of
    // the batch has created the row, later ones must find the records as they would one by one.
    auto one_by_one = Memory();
    auto batched = Memory();
    for (Db* db : {one_by_one.get(), batched.get()}) {
        RecordOwnWrite(*db, "acme", "d", OwnWriteKind::kRevert, "A", T(40));
        RecordOwnWrite(*db, "acme", "d", OwnWriteKind::kTask, "Plan", T(40));
        RecordOwnWrite(*db, "acme", "d", OwnWriteKind::kNote, "Skipped", T(40));
    }
    const std::vector<Event> events = {DealAt(1, "d", "B"), DealAt(2, "d", "A"),
                                       TaskAt(3, "t", "d", 10, false, "Plan"),
                                       NoteAt(4, "n", "d", "Skipped")};
    for (const Event& event : events) {
        Apply(*one_by_one, event);
    }
    MirrorBatch batch(*batched);
    for (const Event& event : events) {
        batch.Apply("acme", event);
    }
    batch.Flush();
    const DealSnapshot expected = Load(*one_by_one, "d");
    CHECK(History(expected) == "B@1 A*@2");
    CHECK(expected.tasks.at(0).own);
    CHECK(expected.notes.at(0).own);
    CHECK(Describe(Load(*batched, "d")) == Describe(expected));
    CHECK(Count(*batched, "own_writes") == 0);
}

TEST_CASE("MirrorBatch: the mirror changes on Flush, and not without it") {
    auto db = Memory();
    Apply(*db, DealAt(1, "d", "A"));
    {
        MirrorBatch batch(*db);
        batch.Apply("acme", DealAt(2, "d", "B"));
        batch.Apply("acme", TaskAt(3, "t", "d", 10, false));
        CHECK(History(Load(*db, "d")) == "A@1");  // not written yet
        batch.Flush();
        CHECK(History(Load(*db, "d")) == "A@1 B@2");
        CHECK(Load(*db, "d").tasks.size() == 1);
        batch.Apply("acme", DealAt(4, "d", "C"));
    }  // dropped: no Flush
    CHECK(History(Load(*db, "d")) == "A@1 B@2");
    CHECK(Count(*db, "stage_history") == 2);
}

TEST_CASE("Rows for deals not seen yet stay invisible") {
    auto db = Memory();
    Apply(*db, TaskAt(1, "t1", "d", std::nullopt, false));
    Apply(*db, NoteAt(2, "n1", "d", "early"));
    CHECK_FALSE(LoadSnapshot(*db, "acme", "d").has_value());
    CHECK(AllDeals(*db, "").empty());
    CHECK(Stream(*db).empty());

    SUBCASE("the deal arrives") {
        Apply(*db, DealAt(5, "d", "A"));
        const DealSnapshot snapshot = Load(*db, "d");
        CHECK(snapshot.deal.created_at == T(5));
        CHECK(snapshot.tasks.size() == 1);
        CHECK(snapshot.notes.size() == 1);
        CHECK(AllDeals(*db, "acme").size() == 1);
    }
    SUBCASE("its deletion arrives") {
        CHECK(Apply(*db, DealDeletedAt(5, "d")) == std::vector<std::string>{"d"});
        CHECK(Load(*db, "d").deal.deleted);
        CHECK(Stream(*db).empty());
    }
}

TEST_CASE("An older upsert naming another deal does not move a task") {
    auto db = Memory();
    Apply(*db, DealAt(1, "d", "A"));
    Apply(*db, DealAt(1, "e", "A"));
    Apply(*db, TaskAt(10, "t1", "d", 100, false));
    Apply(*db, TaskAt(20, "t1", "d", 100, false));
    CHECK(Apply(*db, TaskAt(15, "t1", "e", 100, false)).empty());
    CHECK(Load(*db, "d").tasks.size() == 1);
    CHECK(Load(*db, "e").tasks.empty());
    CHECK(Apply(*db, TaskAt(3, "t1", "e", 100, false)) == std::vector<std::string>{"d"});
    CHECK(Load(*db, "d").tasks.at(0).created_at == T(3));  // it existed earlier
    CHECK(Apply(*db, TaskDeletedAt(21, "t1")) == std::vector<std::string>{"d"});
    CHECK(Load(*db, "d").tasks.at(0).deleted);
}

TEST_CASE("Wake-ups") {
    auto db = Memory();
    Apply(*db, DealAt(1, "a", "A"));
    Apply(*db, DealAt(1, "b", "A"));
    Apply(*db, DealAt(1, "c", "A"), "beta");
    SetWakeAt(*db, "acme", "a", T(300));
    SetWakeAt(*db, "acme", "b", T(100));
    SetWakeAt(*db, "beta", "c", T(200));
    CHECK(DealsToWake(*db, T(99), 10).empty());
    std::vector<DealRef> due = DealsToWake(*db, T(250), 10);
    REQUIRE(due.size() == 2);
    CHECK(due[0].deal_id == "b");
    CHECK(due[1].tenant == "beta");
    CHECK(due[1].deal_id == "c");
    CHECK(DealsToWake(*db, T(1000), 1).size() == 1);
    SetWakeAt(*db, "acme", "b", std::nullopt);
    due = DealsToWake(*db, T(1000), 10);
    REQUIRE(due.size() == 2);
    CHECK(due[0].deal_id == "c");
    CHECK(due[1].deal_id == "a");

    const std::vector<DealRef> acme = AllDeals(*db, "acme");
    REQUIRE(acme.size() == 2);
    CHECK(acme[0].deal_id == "a");
    CHECK(AllDeals(*db, "").size() == 3);
}

TEST_CASE("Own writes on their way, and forgetting one") {
    auto db = Memory();
    Apply(*db, DealAt(1, "d", "A"));
    Apply(*db, DealAt(2, "d", "C"));
    CHECK_FALSE(OwnWritePending(*db, "acme", "d", OwnWriteKind::kRevert, T(3)));
    RecordOwnWrite(*db, "acme", "d", OwnWriteKind::kRevert, "A", T(100));
    RecordOwnWrite(*db, "acme", "d", OwnWriteKind::kTask, "Plan", T(100));
    CHECK(OwnWritePending(*db, "acme", "d", OwnWriteKind::kRevert, T(3)));
    CHECK(OwnWritePending(*db, "acme", "d", OwnWriteKind::kTask, T(100)));
    CHECK_FALSE(OwnWritePending(*db, "acme", "d", OwnWriteKind::kTask, T(101)));  // expired
    CHECK_FALSE(OwnWritePending(*db, "acme", "d", OwnWriteKind::kNote, T(3)));
    CHECK_FALSE(OwnWritePending(*db, "acme", "e", OwnWriteKind::kRevert, T(3)));
    CHECK_FALSE(OwnWritePending(*db, "beta", "d", OwnWriteKind::kRevert, T(3)));

    ForgetOwnWrite(*db, "acme", "d", OwnWriteKind::kRevert, "B");  // not recorded: no-op
    CHECK(Count(*db, "own_writes") == 2);
    ForgetOwnWrite(*db, "acme", "d", OwnWriteKind::kRevert, "A");
    CHECK_FALSE(OwnWritePending(*db, "acme", "d", OwnWriteKind::kRevert, T(3)));
    Apply(*db, DealAt(4, "d", "A"));  // the manager's move: not funnelguard's any more
    CHECK(History(Load(*db, "d")) == "A@1 C@2 A@4");
    CHECK(OwnWritePending(*db, "acme", "d", OwnWriteKind::kTask, T(5)));
}

}  // namespace fg::storage
