#include <filesystem>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <stdlib.h>

#include "src/storage/migrations.hpp"
#include "src/storage/store.hpp"
#include "src/storage/sweep.hpp"
#include "tests/support/process.hpp"

namespace fg::storage {
namespace {

using domain::DealSnapshot;
using domain::Event;

using fg::testing::TempDir;

std::unique_ptr<Db> Open(const std::string& path, bool read_only = false) {
    Result<std::unique_ptr<Db>> db = OpenDatabase(path, read_only);
    REQUIRE_MESSAGE(db.has_value(), (db ? "" : db.error().message));
    return std::move(db).value();
}

std::unique_ptr<Db> Memory() { return Open(":memory:"); }

Timestamp T(std::int64_t seconds) { return FromEpoch(seconds); }

std::string NextEventId() {
    static int counter = 0;
    return fmt::format("e{}", ++counter);
}

Event DealAt(std::int64_t at, const std::string& deal_id, const std::string& stage,
             const std::string& title = "Deal", std::map<std::string, std::string> fields = {},
             const std::string& pipeline = "main") {
    domain::Deal deal;
    deal.id = deal_id;
    deal.title = title;
    deal.pipeline = pipeline;
    deal.stage = stage;
    deal.responsible = "u1";
    deal.fields = std::move(fields);
    return Event{NextEventId(), T(at), domain::DealUpserted{deal}};
}

Event DealDeletedAt(std::int64_t at, const std::string& deal_id) {
    return Event{NextEventId(), T(at), domain::DealDeleted{deal_id}};
}

Event TaskAt(std::int64_t at, const std::string& task_id, const std::string& deal_id,
             std::optional<std::int64_t> due, bool done, const std::string& text = "Call") {
    domain::Task task;
    task.id = task_id;
    task.deal_id = deal_id;
    if (due) {
        task.due = T(*due);
    }
    task.done = done;
    task.responsible = "u1";
    task.text = text;
    return Event{NextEventId(), T(at), domain::TaskUpserted{task}};
}

Event TaskDeletedAt(std::int64_t at, const std::string& task_id) {
    return Event{NextEventId(), T(at), domain::TaskDeleted{task_id}};
}

Event NoteAt(std::int64_t at, const std::string& note_id, const std::string& deal_id,
             const std::string& text) {
    domain::Note note;
    note.id = note_id;
    note.deal_id = deal_id;
    note.text = text;
    return Event{NextEventId(), T(at), domain::NoteAdded{note}};
}

std::vector<std::string> Apply(Db& db, const Event& event, const std::string& tenant = "acme") {
    return ApplyEvent(db, tenant, event);
}

DealSnapshot Load(Db& db, const std::string& deal_id, const std::string& tenant = "acme") {
    std::optional<DealSnapshot> snapshot = LoadSnapshot(db, tenant, deal_id);
    REQUIRE_MESSAGE(snapshot.has_value(), "no deal " << deal_id);
    return *snapshot;
}

// "A@1 B@3" (own entries marked with *).
std::string History(const DealSnapshot& snapshot) {
    std::string out;
    for (const domain::StageChange& change : snapshot.history) {
        out += fmt::format("{}{}{}@{} ", change.pipeline == "main" ? "" : change.pipeline + ":",
                           change.stage, change.own ? "*" : "", ToEpoch(change.at));
    }
    if (!out.empty()) {
        out.pop_back();
    }
    return out;
}

std::string OptionalEpoch(const std::optional<Timestamp>& at) {
    return at ? std::to_string(ToEpoch(*at)) : "-";
}

// Every field of a snapshot, for whole-snapshot comparisons with readable failures.
std::string Describe(const DealSnapshot& s) {
    std::string out =
        fmt::format("deal {}/{} title={} {}:{} resp={} created={} updated={} del={}", s.deal.tenant,
                    s.deal.id, s.deal.title, s.deal.pipeline, s.deal.stage, s.deal.responsible,
                    ToEpoch(s.deal.created_at), ToEpoch(s.deal.updated_at), s.deal.deleted);
    for (const auto& [key, value] : s.deal.fields) {
        out += fmt::format(" [{}={}]", key, value);
    }
    out += "\n history " + History(s);
    for (const domain::Task& t : s.tasks) {
        out += fmt::format(
            "\n task {} deal={} due={} done={} del={} resp={} text={} created={} updated={} "
            "closed={} resched={} own={}",
            t.id, t.deal_id, OptionalEpoch(t.due), t.done, t.deleted, t.responsible, t.text,
            ToEpoch(t.created_at), ToEpoch(t.updated_at), OptionalEpoch(t.closed_at), t.reschedules,
            t.own);
    }
    for (const domain::Note& n : s.notes) {
        out += fmt::format("\n note {} deal={} at={} text={} own={}", n.id, n.deal_id,
                           ToEpoch(n.at), n.text, n.own);
    }
    return out;
}

std::vector<DealSnapshot> Stream(Db& db, const std::string& tenant = "") {
    std::vector<DealSnapshot> out;
    ForEachSnapshot(db, tenant, [&](const DealSnapshot& snapshot) { out.push_back(snapshot); });
    return out;
}

std::int64_t Count(Db& db, const std::string& table) {
    return db.sql().execAndGet("SELECT COUNT(*) FROM " + table).getInt64();
}

}  // namespace

// ---------------------------------------------------------------- opening and migrations

TEST_CASE("OpenDatabase migrates once; a second open is a no-op") {
    TempDir dir;
    const std::string path = dir.File("fg.db");
    std::int64_t objects = 0;
    {
        auto db = Open(path);
        CHECK(db->sql().execAndGet("PRAGMA user_version").getInt() == SchemaVersion());
        CHECK(SchemaVersion() >= 1);
        objects = Count(*db, "sqlite_master");
        CHECK(objects > 10);
        SetMeta(*db, "", "marker", "kept");
    }
    auto db = Open(path);
    CHECK(db->sql().execAndGet("PRAGMA user_version").getInt() == SchemaVersion());
    CHECK(Count(*db, "sqlite_master") == objects);
    CHECK(GetMeta(*db, "", "marker") == std::optional<std::string>("kept"));
    for (const char* table : {"inbox", "events_seen", "deals", "task_deals", "own_writes",
                              "violations", "outbox", "meta"}) {
        CHECK_MESSAGE(db->sql().tableExists(table), table);
    }
}

TEST_CASE("Migration 0004 gives the inbox items of an older database their states") {
    TempDir dir;
    const std::string path = dir.File("fg.db");
    {
        // The database as a build with three migrations left it.
        SQLite::Database sql(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        for (int i = 0; i < 3; ++i) {
            sql.exec(detail::kMigrations[i].sql);
        }
        sql.exec("PRAGMA user_version = 3");
        sql.exec(R"sql(
            INSERT INTO inbox (tenant, crm, dedupe_key, received_at, processed_at, error, body)
            VALUES ('a', 'amocrm', 'k1', 100, NULL, NULL, 'b'),
                   ('a', 'amocrm', 'k2', 100, 110, NULL, 'b'),
                   ('a', 'amocrm', 'k3', 100, 120,
                    'waiting for the CRM directory: pipeline 5 is not known', 'b'),
                   ('a', 'generic', 'k4', 100, 130, 'events[0].at: required', 'b')
        )sql");
    }
    auto db = Open(path);
    SQLite::Statement rows(db->sql(),
                           "SELECT state, COALESCE(reason, ''), COALESCE(error, ''), "
                           "COALESCE(waiting_since, 0) FROM inbox ORDER BY seq");
    std::vector<std::string> seen;
    while (rows.executeStep()) {
        seen.push_back(fmt::format("{}|{}|{}|{}", rows.getColumn(0).getString(),
                                   rows.getColumn(1).getString(), rows.getColumn(2).getString(),
                                   rows.getColumn(3).getInt64()));
    }
    CHECK(seen == std::vector<std::string>{"stored|||0", "applied|||0",
                                           "waiting|directory|pipeline 5 is not known|120",
                                           "failed|decoder|events[0].at: required|0"});
    CHECK(PendingInbox(*db, 10).size() == 1);
}

TEST_CASE("Migration 0005 keeps the outbox's rows and lets an item be cancelled") {
    TempDir dir;
    const std::string path = dir.File("fg.db");
    {
        // The database as a build with four migrations left it.
        SQLite::Database sql(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        for (int i = 0; i < 4; ++i) {
            sql.exec(detail::kMigrations[i].sql);
        }
        sql.exec("PRAGMA user_version = 4");
        sql.exec(R"sql(
            INSERT INTO outbox (id, tenant, kind, idempotency_key, violation_id, status, attempts,
                                next_attempt_at, created_at, done_at, last_error, payload)
            VALUES (7, 'a', 'note', 'k7', 3, 'pending', 2, 100, 90, NULL, 'HTTP 503', '{}'),
                   (8, 'a', 'task', 'k8', 3, 'done', 1, 100, 90, 95, '', '{"t":1}'),
                   (9, 'a', 'notify', 'k9', NULL, 'dead', 5, 100, 90, 99, 'HTTP 400', '{}')
        )sql");
    }
    auto db = Open(path);
    SQLite::Statement rows(db->sql(),
                           "SELECT id, kind, idempotency_key, COALESCE(violation_id, 0), status, "
                           "attempts, next_attempt_at, created_at, COALESCE(done_at, 0), "
                           "last_error, payload FROM outbox ORDER BY id");
    std::vector<std::string> seen;
    while (rows.executeStep()) {
        std::string row;
        for (int column = 0; column < rows.getColumnCount(); ++column) {
            row += (column == 0 ? "" : "|") + rows.getColumn(column).getString();
        }
        seen.push_back(row);
    }
    CHECK(seen == std::vector<std::string>{"7|note|k7|3|pending|2|100|90|0|HTTP 503|{}",
                                           "8|task|k8|3|done|1|100|90|95||{\"t\":1}",
                                           "9|notify|k9|0|dead|5|100|90|99|HTTP 400|{}"});
    CHECK(DueOutbox(*db, T(100), 10).size() == 1);
    CHECK(CancelOutboxForViolation(*db, 3, T(120), "cancelled").size() == 1);
    CHECK(GetOutboxStats(*db).cancelled == 1);
    CHECK_FALSE(EnqueueOutbox(*db, OutboxItem{.id = 0,
                                              .tenant = "a",
                                              .kind = "note",
                                              .idempotency_key = "k7",
                                              .payload = "{}",
                                              .violation_id = {},
                                              .status = OutboxStatus::kPending,
                                              .attempts = 0,
                                              .next_attempt_at = T(1),
                                              .created_at = T(1),
                                              .last_error = {}}));  // still unique
}

TEST_CASE("OpenDatabase sets WAL, synchronous=FULL, busy_timeout and foreign keys") {
    TempDir dir;
    auto db = Open(dir.File("fg.db"));
    CHECK(db->sql().execAndGet("PRAGMA journal_mode").getString() == "wal");
    CHECK(db->sql().execAndGet("PRAGMA synchronous").getInt() == 2);  // FULL
    CHECK(db->sql().execAndGet("PRAGMA busy_timeout").getInt() == 5000);
    CHECK(db->sql().execAndGet("PRAGMA foreign_keys").getInt() == 1);
    CHECK(db->sql().execAndGet("PRAGMA temp_store").getInt() == 2);  // MEMORY
    CHECK(db->sql().execAndGet("PRAGMA journal_size_limit").getInt64() > 0);
    CHECK(db->sql().execAndGet("PRAGMA page_size").getInt() == 8192);

    SUBCASE("a read-only connection reads but cannot write") {
        SetMeta(*db, "t", "k", "v");
        auto reader = Open(dir.File("fg.db"), /*read_only=*/true);
        CHECK(GetMeta(*reader, "t", "k") == std::optional<std::string>("v"));
        CHECK(reader->sql().execAndGet("PRAGMA synchronous").getInt() == 2);
        CHECK_THROWS_AS(SetMeta(*reader, "t", "k", "w"), SQLite::Exception);
    }
}

TEST_CASE("OpenDatabase reports failures with the path") {
    TempDir dir;
    SUBCASE("missing directory") {
        const std::string path = dir.File("no/such/dir/fg.db");
        auto db = OpenDatabase(path);
        REQUIRE_FALSE(db.has_value());
        CHECK(db.error().message.find(path) != std::string::npos);
    }
    SUBCASE("read-only open of a database never migrated") {
        const std::string path = dir.File("empty.db");
        { SQLite::Database create(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE); }
        auto db = OpenDatabase(path, /*read_only=*/true);
        REQUIRE_FALSE(db.has_value());
        CHECK(db.error().message.find(path) != std::string::npos);
        CHECK(db.error().message.find("schema version 0") != std::string::npos);
    }
    SUBCASE("a database newer than this build") {
        const std::string path = dir.File("newer.db");
        {
            auto db = Open(path);
            db->sql().exec(fmt::format("PRAGMA user_version = {}", SchemaVersion() + 1));
        }
        auto db = OpenDatabase(path);
        REQUIRE_FALSE(db.has_value());
        CHECK(db.error().message.find("newer") != std::string::npos);
    }
}

TEST_CASE("Db::Prepared caches one statement per literal and clears its bindings") {
    auto db = Memory();
    static constexpr const char* kSql = "SELECT ?1";
    SQLite::Statement& first = db->Prepared(kSql);
    first.bind(1, 42);
    REQUIRE(first.executeStep());
    CHECK(first.getColumn(0).getInt() == 42);
    SQLite::Statement& second = db->Prepared(kSql);
    CHECK(&first == &second);
    REQUIRE(second.executeStep());  // reset, so it runs again, with the binding cleared
    CHECK(second.getColumn(0).isNull());
}

TEST_CASE("WriteTransaction commits or rolls back") {
    TempDir dir;
    auto db = Open(dir.File("fg.db"));
    {
        WriteTransaction transaction(*db);
        SetMeta(*db, "t", "a", "1");
    }  // not committed
    CHECK_FALSE(GetMeta(*db, "t", "a").has_value());
    {
        WriteTransaction transaction(*db);
        SetMeta(*db, "t", "a", "2");
        transaction.Commit();
    }
    CHECK(GetMeta(*db, "t", "a") == std::optional<std::string>("2"));

    SUBCASE("a second writer waits, then fails with busy, while a transaction is open") {
        auto other = Open(dir.File("fg.db"));
        other->sql().exec("PRAGMA busy_timeout = 10");
        WriteTransaction transaction(*db);
        CHECK_THROWS_AS(WriteTransaction{*other}, SQLite::Exception);
    }
}

// ---------------------------------------------------------------- inbox

TEST_CASE("Inbox deduplicates per (tenant, crm, key) and tracks processing") {
    auto db = Memory();
    const InboxItem item{.tenant = "acme",
                         .crm = "generic",
                         .dedupe_key = "k1",
                         .body = "{}",
                         .received_at = T(100)};
    CHECK(InsertInbox(*db, item));
    CHECK_FALSE(InsertInbox(*db, item));
    InboxItem other_tenant = item;
    other_tenant.tenant = "beta";
    CHECK(InsertInbox(*db, other_tenant));
    InboxItem other_crm = item;
    other_crm.crm = "amocrm";
    CHECK(InsertInbox(*db, other_crm));
    InboxItem later = item;
    later.dedupe_key = "k2";
    later.body = "{\"x\":1}";
    later.received_at = T(105);
    CHECK(InsertInbox(*db, later));
    CHECK(Count(*db, "inbox") == 4);

    std::vector<InboxItem> pending = PendingInbox(*db, 10);
    REQUIRE(pending.size() == 4);
    CHECK(pending[0].tenant == "acme");
    CHECK(pending[0].dedupe_key == "k1");
    CHECK(pending[0].seq < pending[1].seq);
    CHECK(pending[3].body.empty());  // bodies are read on demand
    CHECK(InboxBody(*db, pending[3].seq) == "{\"x\":1}");
    CHECK(pending[3].received_at == T(105));
    CHECK(PendingInbox(*db, 2).size() == 2);

    InboxStats stats = GetInboxStats(*db);
    CHECK(stats.pending == 4);
    CHECK(stats.oldest_pending == std::optional<Timestamp>(T(100)));

    SettleInbox(*db, pending[0].seq, T(200), {});
    SettleInbox(*db, pending[1].seq, T(200), {.state = InboxState::kIgnored});
    SettleInbox(*db, pending[2].seq, T(200),
                {.state = InboxState::kFailed, .reason = "decoder", .error = "cannot decode"});
    pending = PendingInbox(*db, 10);
    REQUIRE(pending.size() == 1);
    CHECK(pending[0].dedupe_key == "k2");
    stats = GetInboxStats(*db);
    CHECK(stats.pending == 1);
    CHECK(stats.oldest_pending == std::optional<Timestamp>(T(105)));
    CHECK(
        db->sql().execAndGet("SELECT COUNT(*) FROM inbox WHERE error = 'cannot decode'").getInt() ==
        1);
    CHECK(db->sql().execAndGet("SELECT COUNT(*) FROM inbox WHERE error IS NULL").getInt() == 3);
    CHECK_FALSE(InsertInbox(*db, item));  // processed items still deduplicate

    SettleInbox(*db, pending[0].seq, T(201), {});
    stats = GetInboxStats(*db);
    CHECK(stats.pending == 0);
    CHECK_FALSE(stats.oldest_pending.has_value());
}

TEST_CASE("Inbox states: waiting items are requeued, failed and waiting ones listed and retried") {
    auto db = Memory();
    const auto insert = [&](const std::string& tenant, const std::string& key) {
        InboxItem item{.tenant = tenant, .crm = "amocrm", .dedupe_key = key, .body = "b"};
        item.received_at = T(100);
        REQUIRE(InsertInbox(*db, item));
        return db->sql().getLastInsertRowid();
    };
    const std::int64_t waiting = insert("acme", "w");
    const std::int64_t failed = insert("acme", "f");
    const std::int64_t other = insert("beta", "w");
    const InboxOutcome park{.state = InboxState::kWaiting, .reason = "directory", .error = "no 5"};
    SettleInbox(*db, waiting, T(110), park);
    SettleInbox(*db, failed, T(110),
                {.state = InboxState::kFailed, .reason = "bad_element", .error = "x: bad"});
    SettleInbox(*db, other, T(120), park);

    auto listed = ListInbox(*db, {.tenant = "acme", .state = InboxState::kWaiting});
    REQUIRE(listed.size() == 1);
    CHECK(listed[0].seq == waiting);
    CHECK(listed[0].waiting_since == std::optional<Timestamp>(T(110)));
    CHECK(listed[0].processed_at == std::optional<Timestamp>(T(110)));
    CHECK(listed[0].error == "no 5");
    CHECK(ListInbox(*db, {.tenant = "", .state = InboxState::kWaiting}).size() == 2);
    CHECK(ListInbox(*db, {.tenant = "", .state = InboxState::kFailed}).at(0).reason ==
          "bad_element");

    // A refresh requeues the tenant's waiting items; they keep when they were first parked.
    CHECK(RequeueWaitingInbox(*db, "acme") == 1);
    auto pending = PendingInbox(*db, 10);
    REQUIRE(pending.size() == 1);
    CHECK(pending[0].waiting_since == std::optional<Timestamp>(T(110)));
    SettleInbox(*db, waiting, T(130), park);  // still lacking: parked again, first time kept
    CHECK(ListInbox(*db, {.tenant = "acme", .state = InboxState::kWaiting})[0].waiting_since ==
          std::optional<Timestamp>(T(110)));

    // Past the limit: failed, with the reason it waited for.
    CHECK(FailWaitingSince(*db, T(115), T(140), "waited too long: ") == 1);
    const auto timed_out = ListInbox(*db, {.tenant = "acme", .state = InboxState::kFailed});
    REQUIRE(timed_out.size() == 2);  // newest first
    CHECK(timed_out[0].seq == failed);
    CHECK(timed_out[1].seq == waiting);
    CHECK(timed_out[1].reason == "directory_timeout");
    CHECK(timed_out[1].error == "waited too long: no 5");

    const auto counts = UnsettledInboxCounts(*db);
    CHECK(counts.size() == 3);  // acme failed x2 reasons, beta waiting

    // Retry: failed and waiting, of one tenant, back to stored as new.
    CHECK(RetryInbox(*db, "acme") == 2);
    pending = PendingInbox(*db, 10);
    REQUIRE(pending.size() == 2);
    CHECK_FALSE(pending[0].waiting_since.has_value());
    CHECK(RetryInbox(*db, "") == 1);  // beta's
    CHECK(UnsettledInboxCounts(*db).empty());
    CHECK(ParseInboxState("ignored") == InboxState::kIgnored);
    CHECK_FALSE(ParseInboxState("nonsense"));
}

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

// ---------------------------------------------------------------- snapshots

TEST_CASE("ForEachSnapshot streams exactly what LoadSnapshot returns") {
    TempDir dir;
    auto db = Open(dir.File("fg.db"));
    std::mt19937 random(7);
    const std::vector<std::string> tenants = {"acme", "beta"};
    const std::vector<std::string> stages = {"A", "B", "C", "D"};
    auto pick = [&](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };
    {
        WriteTransaction transaction(*db);
        for (int i = 0; i < 3000; ++i) {
            const std::string& tenant = tenants[pick(2)];
            const std::string deal = fmt::format("{}", pick(60));  // "10" sorts before "9"
            const std::int64_t at = pick(1000);
            switch (pick(8)) {
                case 0:
                case 1:
                case 2:
                    Apply(*db,
                          DealAt(at, deal, stages[pick(4)], fmt::format("T{}", i),
                                 {{"k", fmt::format("v\"{}\\\n", i)}, {"Сумма", "1"}}),
                          tenant);
                    break;
                case 3:
                case 4:
                    Apply(*db,
                          TaskAt(at, fmt::format("t{}", pick(150)), deal,
                                 pick(2) ? std::optional<std::int64_t>(pick(2000)) : std::nullopt,
                                 pick(3) == 0),
                          tenant);
                    break;
                case 5:
                    Apply(*db, NoteAt(at, fmt::format("n{}", pick(200)), deal, "note"), tenant);
                    break;
                case 6:
                    if (pick(10) == 0) {
                        Apply(*db, DealDeletedAt(at, deal), tenant);
                    } else {
                        Apply(*db, TaskDeletedAt(at, fmt::format("t{}", pick(150))), tenant);
                    }
                    break;
                default:
                    RecordOwnWrite(*db, tenant, deal, OwnWriteKind::kRevert, stages[pick(4)],
                                   T(2000));
            }
        }
        transaction.Commit();
    }
    const std::vector<DealSnapshot> streamed = Stream(*db);
    std::vector<DealRef> all = AllDeals(*db, "");
    REQUIRE(streamed.size() == all.size());
    CHECK(streamed.size() > 60);
    std::size_t with_everything = 0;
    for (std::size_t i = 0; i < streamed.size(); ++i) {
        CHECK(streamed[i].deal.tenant == all[i].tenant);
        CHECK(streamed[i].deal.id == all[i].deal_id);
        CHECK_FALSE(streamed[i].deal.deleted);
        CHECK(Describe(streamed[i]) == Describe(Load(*db, all[i].deal_id, all[i].tenant)));
        if (!streamed[i].tasks.empty() && !streamed[i].notes.empty() &&
            streamed[i].history.size() > 1) {
            ++with_everything;
        }
    }
    CHECK(with_everything > 10);

    const std::vector<DealSnapshot> beta = Stream(*db, "beta");
    const std::vector<DealRef> beta_deals = AllDeals(*db, "beta");
    REQUIRE(beta.size() == beta_deals.size());
    CHECK(beta.size() < streamed.size());
    for (std::size_t i = 0; i < beta.size(); ++i) {
        CHECK(beta[i].deal.tenant == "beta");
        CHECK(Describe(beta[i]) == Describe(Load(*db, beta_deals[i].deal_id, "beta")));
    }

    // The parallel sweep visits the same snapshots, and its results come back in deal order
    // whatever the threads and batch sizes.
    std::vector<std::string> expected;
    for (const DealSnapshot& snapshot : streamed) {
        expected.push_back(Describe(snapshot));
    }
    for (const int threads : {1, 2, 3}) {
        for (const std::size_t batch : {1, 7, 1000}) {
            CAPTURE(threads);
            CAPTURE(batch);
            std::vector<std::string> swept;
            std::size_t batches = 0;
            SweepSnapshots<std::vector<std::string>>(
                *db, "", threads, batch,
                [](const DealSnapshot& snapshot, std::vector<std::string>& out) {
                    out.push_back(Describe(snapshot));
                },
                [&](std::vector<std::string>& out) {
                    CHECK(out.size() <= batch);
                    swept.insert(swept.end(), out.begin(), out.end());
                    ++batches;
                });
            CHECK(swept == expected);
            CHECK(batches == (expected.size() + batch - 1) / batch);
        }
    }
    std::vector<std::string> swept_beta;
    SweepSnapshots<std::vector<std::string>>(
        *db, "beta", 2, 5,
        [](const DealSnapshot& snapshot, std::vector<std::string>& out) {
            out.push_back(snapshot.deal.tenant);
        },
        [&](std::vector<std::string>& out) {
            swept_beta.insert(swept_beta.end(), out.begin(), out.end());
        });
    CHECK(swept_beta == std::vector<std::string>(beta.size(), "beta"));
}

TEST_CASE("SweepSnapshots hands a visit's exception to the caller, in deal order") {
    auto db = Memory();
    for (int i = 0; i < 500; ++i) {
        Apply(*db, DealAt(i, fmt::format("{:04}", i), "A"));
    }
    for (const int threads : {1, 2, 4}) {
        CAPTURE(threads);
        std::vector<std::string> consumed;
        auto sweep = [&] {
            SweepSnapshots<std::vector<std::string>>(
                *db, "", threads, 10,
                [](const DealSnapshot& snapshot, std::vector<std::string>& out) {
                    if (snapshot.deal.id == "0123" || snapshot.deal.id == "0321") {
                        throw std::runtime_error("deal " + snapshot.deal.id);
                    }
                    out.push_back(snapshot.deal.id);
                },
                [&](std::vector<std::string>& out) {
                    consumed.insert(consumed.end(), out.begin(), out.end());
                });
        };
        CHECK_THROWS_WITH_AS(sweep(), "deal 0123", std::runtime_error);
        REQUIRE(consumed.size() == 120);  // the batches before the failing one, and no more
        CHECK(consumed.back() == "0119");
    }
}

TEST_CASE("Deal fields survive the JSON round trip") {
    auto db = Memory();
    const std::map<std::string, std::string> fields = {
        {"", "empty key"},
        {"quote\"back\\slash", "line\nbreak\ttab\r\b\f"},
        {"Дата оплаты", "2026-11-02"},
        {"control", std::string("a\x01z", 3)},
        {"emoji", "\xF0\x9F\x98\x80"},
    };
    Apply(*db, DealAt(1, "d", "A", "Deal", fields));
    CHECK(Load(*db, "d").deal.fields == fields);
    REQUIRE(Stream(*db).size() == 1);
    CHECK(Stream(*db)[0].deal.fields == fields);

    SUBCASE("fields written as any JSON object are read too") {
        db->sql().exec(
            R"(UPDATE deals SET fields = '{ "n": 5, "s": "x\u00e9\ud83d\ude00", "b": true }')");
        const std::map<std::string, std::string> read = Load(*db, "d").deal.fields;
        CHECK(read.at("n") == "5");
        CHECK(read.at("s") == "x\xC3\xA9\xF0\x9F\x98\x80");
        CHECK(read.at("b") == "true");
    }
}

TEST_CASE("A deal's history, tasks and notes survive the document round trip") {
    auto db = Memory();
    const std::string odd("nul\0byte, \"quotes\", \xD0\xAF\xF0\x9F\x98\x80 \\", 24);
    Apply(*db, DealAt(-5, "d", odd, odd, {{odd, odd}}, odd));  // before 1970, odd names
    for (int i = 0; i < 300; ++i) {
        Apply(*db, TaskAt(i, fmt::format("t{:03}", i), "d",
                          i % 3 == 0 ? std::nullopt : std::optional<std::int64_t>(-i), i % 2 == 0,
                          i % 5 == 0 ? std::string() : odd + std::string(i, 'x')));
    }
    Apply(*db, TaskAt(400, "t001", "d", 5'000'000'000, false));
    Apply(*db, TaskAt(401, "t001", "d", 6'000'000'000, false));
    Apply(*db, NoteAt(7, "n", "d", std::string(100'000, 'y')));
    Apply(*db, NoteAt(7, "", "d", ""));
    const DealSnapshot snapshot = Load(*db, "d");
    CHECK(snapshot.deal.stage == odd);
    CHECK(snapshot.deal.fields.at(odd) == odd);
    REQUIRE(snapshot.history.size() == 1);
    CHECK(snapshot.history[0].pipeline == odd);
    CHECK(snapshot.history[0].at == T(-5));
    REQUIRE(snapshot.tasks.size() == 300);
    CHECK(snapshot.tasks[1].due == std::optional<Timestamp>(T(6'000'000'000)));
    CHECK(snapshot.tasks[1].reschedules == 2);  // -1 -> 5e9 -> 6e9
    CHECK(snapshot.tasks[2].due == std::optional<Timestamp>(T(-2)));
    CHECK(snapshot.tasks[2].text == odd + std::string(2, 'x'));
    CHECK_FALSE(snapshot.tasks[3].due.has_value());
    CHECK(snapshot.tasks[5].text.empty());
    REQUIRE(snapshot.notes.size() == 2);
    CHECK(snapshot.notes[0].id.empty());  // (7, "") before (7, "n")
    CHECK(snapshot.notes[1].text.size() == 100'000);
    const std::vector<DealSnapshot> streamed = Stream(*db);
    REQUIRE(streamed.size() == 1);
    CHECK(Describe(streamed[0]) == Describe(snapshot));

    SUBCASE("a damaged document is an error, not a silently different deal") {
        db->sql().exec("UPDATE deals SET doc = substr(doc, 1, length(doc) - 3)");
        CHECK_THROWS_AS(LoadSnapshot(*db, "acme", "d"), SQLite::Exception);
        CHECK_THROWS_AS(Stream(*db), SQLite::Exception);
        CHECK_THROWS_AS(Apply(*db, NoteAt(8, "n2", "d", "x")), SQLite::Exception);
    }
    SUBCASE("a document of an unknown format version is refused") {
        db->sql().exec("UPDATE deals SET doc = CAST(X'02' || substr(doc, 2) AS BLOB)");
        CHECK_THROWS_AS(LoadSnapshot(*db, "acme", "d"), SQLite::Exception);
    }
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

// ---------------------------------------------------------------- violations

namespace {
Violation MakeViolation(const std::string& deal, const std::string& rule, const std::string& key,
                        std::int64_t opened, const std::string& tenant = "acme") {
    Violation violation;
    violation.tenant = tenant;
    violation.deal_id = deal;
    violation.rule = rule;
    violation.key = key;
    violation.responsible = "u1";
    violation.opened_at = T(opened);
    violation.details = {{"from", "A"}, {"skipped", {"B", "C"}}};
    violation.message = "Пропущены этапы";
    return violation;
}
}  // namespace

TEST_CASE("Violations: open, update, resolve, list; never deleted") {
    auto db = Memory();
    Apply(*db, DealAt(1, "d", "A", "ООО Ромашка"));
    const std::int64_t first = InsertViolation(*db, MakeViolation("d", "stage_order", "1", 10));
    const std::int64_t second = InsertViolation(*db, MakeViolation("d", "overdue_task", "t1", 11));
    const std::int64_t third =
        InsertViolation(*db, MakeViolation("x", "stage_order", "1", 12, "beta"));
    CHECK(first != second);

    std::optional<Violation> read = GetViolation(*db, first);
    REQUIRE(read.has_value());
    CHECK(read->tenant == "acme");
    CHECK(read->deal_id == "d");
    CHECK(read->rule == "stage_order");
    CHECK(read->key == "1");
    CHECK(read->opened_at == T(10));
    CHECK_FALSE(read->resolved_at.has_value());
    CHECK(read->resolution.empty());
    CHECK(read->details["skipped"][1] == "C");
    CHECK(read->message == "Пропущены этапы");
    CHECK(read->deal_title == "ООО Ромашка");
    CHECK_FALSE(GetViolation(*db, 999).has_value());
    CHECK(GetViolation(*db, third)->deal_title.empty());  // deal not mirrored

    CHECK_THROWS_AS(InsertViolation(*db, MakeViolation("d", "stage_order", "1", 20)),
                    SQLite::Exception);  // one open per key

    UpdateViolation(*db, second, {{"reschedules", 2}}, "updated", "u2");
    read = GetViolation(*db, second);
    CHECK(read->details["reschedules"] == 2);
    CHECK(read->message == "updated");
    CHECK(read->responsible == "u2");

    CHECK(ResolveViolation(*db, first, T(30), "corrected"));
    CHECK_FALSE(ResolveViolation(*db, first, T(31), "acknowledged"));
    read = GetViolation(*db, first);
    CHECK(read->resolved_at == std::optional<Timestamp>(T(30)));
    CHECK(read->resolution == "corrected");
    UpdateViolation(*db, first, {{"x", 1}}, "changed", "u9");  // resolved: history stays
    CHECK(GetViolation(*db, first)->message == "Пропущены этапы");

    // The key may open again once the earlier one is resolved.
    const std::int64_t again = InsertViolation(*db, MakeViolation("d", "stage_order", "1", 40));

    std::vector<Violation> of_deal = ViolationsForDeal(*db, "acme", "d");
    REQUIRE(of_deal.size() == 3);
    CHECK(of_deal[0].id == first);
    CHECK(of_deal[2].id == again);

    auto ids = [](const std::vector<Violation>& list) {
        std::vector<std::int64_t> out;
        for (const Violation& v : list) {
            out.push_back(v.id);
        }
        return out;
    };
    ViolationFilter filter;
    CHECK(ids(ListViolations(*db, filter)) == std::vector<std::int64_t>{again, third, second});
    filter.tenant = "acme";
    CHECK(ids(ListViolations(*db, filter)) == std::vector<std::int64_t>{again, second});
    filter.rule = "stage_order";
    CHECK(ids(ListViolations(*db, filter)) == std::vector<std::int64_t>{again});
    filter.state = ViolationFilter::State::kAll;
    CHECK(ids(ListViolations(*db, filter)) == std::vector<std::int64_t>{again, first});
    filter.state = ViolationFilter::State::kResolved;
    CHECK(ids(ListViolations(*db, filter)) == std::vector<std::int64_t>{first});
    filter = ViolationFilter{};
    filter.deal_id = "x";
    CHECK(ids(ListViolations(*db, filter)) == std::vector<std::int64_t>{third});
    filter = ViolationFilter{};
    filter.state = ViolationFilter::State::kAll;
    filter.limit = 2;
    CHECK(ids(ListViolations(*db, filter)) == std::vector<std::int64_t>{again, third});
    CHECK(ListViolations(*db, filter)[0].deal_title == "ООО Ромашка");

    CHECK(OpenViolationCounts(*db) ==
          std::vector<std::tuple<std::string, std::string, std::int64_t>>{
              {"acme", "overdue_task", 1}, {"acme", "stage_order", 1}, {"beta", "stage_order", 1}});

    CHECK(ids(OpenNotEscalated(*db, "")) == std::vector<std::int64_t>{second, third, again});
    MarkEscalated(*db, second, T(50));
    MarkEscalated(*db, second, T(60));  // the first escalation time stays
    CHECK(GetViolation(*db, second)->escalated_at == std::optional<Timestamp>(T(50)));
    CHECK(ids(OpenNotEscalated(*db, "acme")) == std::vector<std::int64_t>{again});

    // Deleting the deal leaves its violations where they are.
    Apply(*db, DealDeletedAt(100, "d"));
    CHECK(ViolationsForDeal(*db, "acme", "d").size() == 3);
    CHECK(Count(*db, "violations") == 4);
}

// ---------------------------------------------------------------- outbox

TEST_CASE("Outbox: idempotent enqueue, due order, retry, done, dead") {
    auto db = Memory();
    const std::int64_t violation = InsertViolation(*db, MakeViolation("d", "stage_order", "1", 1));
    auto item = [&](const std::string& key, std::int64_t next) {
        OutboxItem out;
        out.tenant = "acme";
        out.kind = "note";
        out.idempotency_key = key;
        out.payload = R"({"text":"hi"})";
        out.violation_id = violation;
        out.next_attempt_at = T(next);
        out.created_at = T(1);
        return out;
    };
    CHECK(EnqueueOutbox(*db, item("k1", 10)));
    CHECK_FALSE(EnqueueOutbox(*db, item("k1", 5)));
    CHECK(EnqueueOutbox(*db, item("k2", 5)));
    CHECK(EnqueueOutbox(*db, item("k3", 10)));
    OutboxItem unrelated = item("k4", 20);
    unrelated.violation_id = std::nullopt;
    unrelated.kind = "notify";
    CHECK(EnqueueOutbox(*db, unrelated));
    CHECK(Count(*db, "outbox") == 4);

    CHECK(DueOutbox(*db, T(4), 10).empty());
    std::vector<OutboxItem> due = DueOutbox(*db, T(10), 10);
    REQUIRE(due.size() == 3);
    CHECK(due[0].idempotency_key == "k2");
    CHECK(due[1].idempotency_key == "k1");
    CHECK(due[2].idempotency_key == "k3");
    CHECK(due[1].next_attempt_at == T(10));  // the first enqueue's
    CHECK(due[1].payload == R"({"text":"hi"})");
    CHECK(due[1].status == OutboxStatus::kPending);
    CHECK(due[1].attempts == 0);
    CHECK(due[1].violation_id == std::optional<std::int64_t>(violation));
    CHECK(DueOutbox(*db, T(10), 1).size() == 1);
    CHECK(NextOutboxAttempt(*db) == std::optional<Timestamp>(T(5)));

    for (const OutboxItem& item : due) {
        MarkOutboxAttempt(*db, item.id);
    }
    MarkOutboxRetry(*db, due[0].id, T(40), "HTTP 503");
    MarkOutboxDone(*db, due[1].id, T(11));
    MarkOutboxDead(*db, due[2].id, T(12), "HTTP 400");
    MarkOutboxRetry(*db, due[1].id, T(50), "late");  // done already: nothing changes
    MarkOutboxDone(*db, due[2].id, T(13));           // dead already: stays dead
    MarkOutboxAttempt(*db, due[2].id);               // and counts no more attempts

    CHECK(NextOutboxAttempt(*db) == std::optional<Timestamp>(T(20)));
    due = DueOutbox(*db, T(39), 10);
    REQUIRE(due.size() == 1);
    CHECK(due[0].idempotency_key == "k4");
    CHECK_FALSE(due[0].violation_id.has_value());
    due = DueOutbox(*db, T(40), 10);
    REQUIRE(due.size() == 2);
    CHECK(due[1].idempotency_key == "k2");
    CHECK(due[1].attempts == 1);
    CHECK(due[1].last_error == "HTTP 503");
    // A new attempt forgets the last one's error: a crash mid-send must not look like a refusal.
    MarkOutboxAttempt(*db, due[1].id);
    due = DueOutbox(*db, T(40), 10);
    REQUIRE(due.size() == 2);
    CHECK(due[1].attempts == 2);
    CHECK(due[1].last_error.empty());

    const std::vector<OutboxItem> of_violation = OutboxForViolation(*db, violation);
    REQUIRE(of_violation.size() == 3);
    CHECK(of_violation[0].idempotency_key == "k1");
    CHECK(of_violation[0].status == OutboxStatus::kDone);
    CHECK(of_violation[0].attempts == 1);
    CHECK(of_violation[2].status == OutboxStatus::kDead);
    CHECK(of_violation[2].last_error == "HTTP 400");

    const OutboxStats stats = GetOutboxStats(*db);
    CHECK(stats.pending == 2);
    CHECK(stats.done == 1);
    CHECK(stats.dead == 1);
    CHECK_FALSE(EnqueueOutbox(*db, item("k1", 100)));  // done keys stay taken

    MarkOutboxDone(*db, due[0].id, T(41));
    MarkOutboxDone(*db, due[1].id, T(41));
    CHECK_FALSE(NextOutboxAttempt(*db).has_value());
}

TEST_CASE("Outbox: cancelling a violation's items; one in flight may still complete") {
    auto db = Memory();
    const std::int64_t violation = InsertViolation(*db, MakeViolation("d", "stage_order", "1", 1));
    const std::int64_t other = InsertViolation(*db, MakeViolation("e", "stage_order", "1", 1));
    auto item = [](const std::string& key, std::int64_t violation_id) {
        OutboxItem out;
        out.tenant = "acme";
        out.kind = "note";
        out.idempotency_key = key;
        out.payload = R"({"text":"hi"})";
        out.violation_id = violation_id;
        out.next_attempt_at = T(10);
        out.created_at = T(1);
        return out;
    };
    REQUIRE(EnqueueOutbox(*db, item("waiting", violation)));
    REQUIRE(EnqueueOutbox(*db, item("retrying", violation)));
    REQUIRE(EnqueueOutbox(*db, item("in-flight", violation)));
    REQUIRE(EnqueueOutbox(*db, item("delivered", violation)));
    REQUIRE(EnqueueOutbox(*db, item("other", other)));
    std::map<std::string, std::int64_t> id;
    for (const OutboxItem& due : DueOutbox(*db, T(10), 10)) {
        id[due.idempotency_key] = due.id;
    }
    CHECK(MarkOutboxAttempt(*db, id["retrying"]));
    MarkOutboxRetry(*db, id["retrying"], T(40), "HTTP 503");
    CHECK(MarkOutboxAttempt(*db, id["in-flight"]));  // being sent now
    CHECK(MarkOutboxAttempt(*db, id["delivered"]));
    MarkOutboxDone(*db, id["delivered"], T(11));

    const std::vector<OutboxItem> cancelled =
        CancelOutboxForViolation(*db, violation, T(12), "cancelled: acknowledged");
    std::vector<std::string> keys;
    for (const OutboxItem& one : cancelled) {
        keys.push_back(one.idempotency_key);
        CHECK(one.status == OutboxStatus::kPending);  // as they were
    }
    CHECK(keys == std::vector<std::string>{"waiting", "retrying", "in-flight"});
    CHECK(CancelOutboxForViolation(*db, violation, T(13), "again").empty());

    // Nothing of it is due any more, and nothing can start: the worker checks before sending.
    const std::vector<OutboxItem> due = DueOutbox(*db, T(100), 10);
    REQUIRE(due.size() == 1);
    CHECK(due[0].idempotency_key == "other");
    CHECK_FALSE(MarkOutboxAttempt(*db, id["waiting"]));
    MarkOutboxRetry(*db, id["retrying"], T(50), "late");  // no-op: stays cancelled
    MarkOutboxDead(*db, id["retrying"], T(50), "late");
    // The one in flight was taken by the receiver after all: done, and it says so.
    MarkOutboxDone(*db, id["in-flight"], T(14));

    std::map<std::string, OutboxItem> after;
    for (OutboxItem& one : OutboxForViolation(*db, violation)) {
        after[one.idempotency_key] = std::move(one);
    }
    CHECK(after["waiting"].status == OutboxStatus::kCancelled);
    CHECK(after["waiting"].last_error == "cancelled: acknowledged");
    CHECK(after["waiting"].attempts == 0);
    CHECK(after["retrying"].status == OutboxStatus::kCancelled);
    CHECK(after["retrying"].attempts == 1);
    CHECK(after["in-flight"].status == OutboxStatus::kDone);
    CHECK(after["in-flight"].last_error ==
          "delivered while being cancelled (cancelled: acknowledged)");
    CHECK(after["delivered"].status == OutboxStatus::kDone);
    CHECK(after["delivered"].last_error.empty());

    const OutboxStats stats = GetOutboxStats(*db);
    CHECK(stats.pending == 1);
    CHECK(stats.done == 2);
    CHECK(stats.cancelled == 2);
    CHECK(stats.dead == 0);
    CHECK_FALSE(EnqueueOutbox(*db, item("waiting", violation)));  // cancelled keys stay taken
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

// ---------------------------------------------------------------- meta

TEST_CASE("Meta values per tenant") {
    auto db = Memory();
    CHECK_FALSE(GetMeta(*db, "acme", "cursor").has_value());
    SetMeta(*db, "acme", "cursor", "1");
    SetMeta(*db, "beta", "cursor", "2");
    SetMeta(*db, "acme", "cursor", "3");
    CHECK(GetMeta(*db, "acme", "cursor") == std::optional<std::string>("3"));
    CHECK(GetMeta(*db, "beta", "cursor") == std::optional<std::string>("2"));
    CHECK_FALSE(GetMeta(*db, "", "cursor").has_value());
}

}  // namespace fg::storage
