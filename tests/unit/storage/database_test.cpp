#include "src/storage/database.hpp"

#include <filesystem>
#include <string>

#include <doctest/doctest.h>
#include <stdlib.h>

#include "src/storage/inbox.hpp"
#include "src/storage/metadata.hpp"
#include "src/storage/migrations.hpp"
#include "src/storage/outbox.hpp"
#include "tests/unit/storage/storage_test_support.hpp"

namespace fg::storage {

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
    // Migration 0006: every item of an earlier build goes to the CRM.
    CHECK(db->sql().execAndGet("SELECT group_concat(channel) FROM outbox").getString() ==
          "crm,crm,crm");
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

TEST_CASE("Migration 0007 keeps the inbox's states, schedules waiting items, counts settled ones") {
    TempDir dir;
    const std::string path = dir.File("fg.db");
    {
        // The database as a build with six migrations left it.
        SQLite::Database sql(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        for (int i = 0; i < 6; ++i) {
            sql.exec(detail::kMigrations[i].sql);
        }
        sql.exec("PRAGMA user_version = 6");
        sql.exec(R"sql(
            INSERT INTO inbox (tenant, crm, dedupe_key, received_at, processed_at, error, body,
                               state, reason, waiting_since)
            VALUES ('a', 'amocrm', 'k1', 100, NULL, NULL, 'b', 'stored', NULL, NULL),
                   ('a', 'amocrm', 'k2', 100, 110, NULL, 'b', 'applied', NULL, NULL),
                   ('a', 'amocrm', 'k3', 100, 120, 'pipeline 5', 'b', 'waiting', 'directory', 115),
                   ('a', 'amocrm', 'k4', 100, 130, NULL, 'b', 'ignored', NULL, NULL),
                   ('b', 'amocrm', 'k5', 100, 140, NULL, 'b', 'applied', NULL, NULL),
                   ('a', 'amocrm', 'k6', 100, 150, NULL, 'b', 'applied', NULL, NULL)
        )sql");
    }
    auto db = Open(path);
    const auto due = DueWaitingInbox(*db, T(120), 10);
    REQUIRE(due.size() == 1);  // due since it was parked
    CHECK(due[0].reason == "directory");
    CHECK(due[0].waiting_since == T(115));
    CHECK(DueWaitingInbox(*db, T(119), 10).empty());
    const auto counts = InboxStateCounts(*db, "a");
    CHECK(counts.at(InboxState::kStored) == 1);
    CHECK(counts.at(InboxState::kWaiting) == 1);
    CHECK(counts.at(InboxState::kApplied) == 2);
    CHECK(counts.at(InboxState::kIgnored) == 1);
    CHECK(InboxStateCounts(*db, "").at(InboxState::kApplied) == 3);
    CHECK(PendingInbox(*db, 10).size() == 1);
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

}  // namespace fg::storage
