#include "src/storage/outbox.hpp"

#include <string>

#include <doctest/doctest.h>

#include "src/storage/violations.hpp"
#include "tests/unit/storage/storage_test_support.hpp"

namespace fg::storage {

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
    CHECK(due[1].channel == "crm");  // an item that names none goes to the CRM
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

TEST_CASE("Outbox: a resolved violation's chat messages are cancelled, its CRM writes are not") {
    auto db = Memory();
    const std::int64_t violation = InsertViolation(*db, MakeViolation("d", "stage_order", "1", 1));
    auto item = [violation](const std::string& key, const std::string& kind) {
        OutboxItem out;
        out.tenant = "acme";
        out.kind = kind;
        out.channel = kind == "note" ? "crm" : "telegram";
        out.idempotency_key = key;
        out.payload = "{}";
        out.violation_id = violation;
        out.next_attempt_at = T(10);
        out.created_at = T(1);
        return out;
    };
    REQUIRE(EnqueueOutbox(*db, item("note", "note")));
    REQUIRE(EnqueueOutbox(*db, item("notify", "notify")));
    REQUIRE(EnqueueOutbox(*db, item("escalate", "escalate")));
    REQUIRE(EnqueueOutbox(*db, item("sent", "notify")));
    std::map<std::string, std::int64_t> id;
    for (const OutboxItem& due : DueOutbox(*db, T(10), 10)) {
        id[due.idempotency_key] = due.id;
    }
    CHECK(MarkOutboxAttempt(*db, id["sent"]));
    MarkOutboxDone(*db, id["sent"], T(11));

    const std::vector<OutboxItem> cancelled =
        CancelMessagesForViolation(*db, violation, T(12), "cancelled: resolved");
    std::vector<std::string> keys;
    for (const OutboxItem& one : cancelled) {
        keys.push_back(one.idempotency_key);
    }
    CHECK(keys == std::vector<std::string>{"notify", "escalate"});
    std::map<std::string, OutboxStatus> status;
    for (const OutboxItem& one : OutboxForViolation(*db, violation)) {
        status[one.idempotency_key] = one.status;
    }
    CHECK(status["note"] == OutboxStatus::kPending);
    CHECK(status["notify"] == OutboxStatus::kCancelled);
    CHECK(status["escalate"] == OutboxStatus::kCancelled);
    CHECK(status["sent"] == OutboxStatus::kDone);
    CHECK(GetOutboxStats(*db).cancelled == 2);
}

TEST_CASE("Outbox: an item keeps its channel") {
    auto db = Memory();
    OutboxItem item;
    item.tenant = "acme";
    item.kind = "notify";
    item.channel = "telegram";
    item.idempotency_key = "acme:v1:notify:telegram";
    item.payload = "{}";
    item.next_attempt_at = T(1);
    item.created_at = T(1);
    REQUIRE(EnqueueOutbox(*db, item));
    const std::vector<OutboxItem> due = DueOutbox(*db, T(1), 10);
    REQUIRE(due.size() == 1);
    CHECK(due[0].channel == "telegram");
}

}  // namespace fg::storage
