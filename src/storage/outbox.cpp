#include "src/storage/outbox.hpp"

#include <string_view>

#include "src/storage/query.hpp"

namespace fg::storage {
namespace {

using detail::BindOptionalInt;
using detail::BindText;
using detail::BindTime;
using detail::OptionalInt;
using detail::OptionalTime;
using detail::Query;

OutboxStatus ParseOutboxStatus(std::string_view name) {
    if (name == "done") {
        return OutboxStatus::kDone;
    }
    if (name == "dead") {
        return OutboxStatus::kDead;
    }
    if (name == "cancelled") {
        return OutboxStatus::kCancelled;
    }
    return OutboxStatus::kPending;
}

#define FG_OUTBOX_COLUMNS                                                          \
    "id, tenant, kind, idempotency_key, payload, violation_id, status, attempts, " \
    "next_attempt_at, created_at, last_error, channel"

OutboxItem ReadOutbox(SQLite::Statement& statement) {
    OutboxItem item;
    item.id = statement.getColumn(0).getInt64();
    item.tenant = statement.getColumn(1).getString();
    item.kind = statement.getColumn(2).getString();
    item.idempotency_key = statement.getColumn(3).getString();
    item.payload = statement.getColumn(4).getString();
    item.violation_id = OptionalInt(statement.getColumn(5));
    item.status = ParseOutboxStatus(statement.getColumn(6).getText());
    item.attempts = statement.getColumn(7).getInt();
    item.next_attempt_at = FromEpoch(statement.getColumn(8).getInt64());
    item.created_at = FromEpoch(statement.getColumn(9).getInt64());
    item.last_error = statement.getColumn(10).getString();
    item.channel = statement.getColumn(11).getString();
    return item;
}

}  // namespace

bool EnqueueOutbox(Db& db, const OutboxItem& item) {
    static constexpr const char* kSql = R"sql(
        INSERT INTO outbox (tenant, kind, idempotency_key, violation_id, status, attempts,
                            next_attempt_at, created_at, payload, channel)
        VALUES (?1, ?2, ?3, ?4, 'pending', 0, ?5, ?6, ?7, ?8)
        ON CONFLICT (idempotency_key) DO NOTHING
    )sql";
    Query query(db, kSql);
    BindText(*query, 1, item.tenant);
    BindText(*query, 2, item.kind);
    BindText(*query, 3, item.idempotency_key);
    BindOptionalInt(*query, 4, item.violation_id);
    BindTime(*query, 5, item.next_attempt_at);
    BindTime(*query, 6, item.created_at);
    BindText(*query, 7, item.payload);
    BindText(*query, 8, item.channel);
    return query->exec() == 1;
}

std::vector<OutboxItem> DueOutbox(Db& db, Timestamp now, int limit) {
    static constexpr const char* kSql =
        "SELECT " FG_OUTBOX_COLUMNS
        " FROM outbox WHERE status = 'pending' AND next_attempt_at <= ?1 "
        "ORDER BY next_attempt_at, id LIMIT ?2";
    Query query(db, kSql);
    BindTime(*query, 1, now);
    query->bind(2, limit);
    std::vector<OutboxItem> items;
    while (query->executeStep()) {
        items.push_back(ReadOutbox(*query));
    }
    return items;
}

std::optional<Timestamp> NextOutboxAttempt(Db& db) {
    static constexpr const char* kSql =
        "SELECT MIN(next_attempt_at) FROM outbox WHERE status = 'pending'";
    Query query(db, kSql);
    query->executeStep();
    return OptionalTime(query->getColumn(0));
}

bool MarkOutboxAttempt(Db& db, std::int64_t id) {
    static constexpr const char* kSql = R"sql(
        UPDATE outbox SET attempts = attempts + 1, last_error = ''
        WHERE id = ?1 AND status = 'pending'
    )sql";
    Query query(db, kSql);
    query->bind(1, id);
    return query->exec() == 1;
}

void MarkOutboxDone(Db& db, std::int64_t id, Timestamp at) {
    // A cancelled item reaches here only when it was in flight as it was cancelled (the worker
    // sends nothing it could not count an attempt for): the receiver has it, so it is done.
    static constexpr const char* kSql = R"sql(
        UPDATE outbox SET status = 'done', done_at = ?2,
            last_error = CASE WHEN status = 'cancelled'
                              THEN 'delivered while being cancelled (' || last_error || ')'
                              ELSE last_error END
        WHERE id = ?1 AND status IN ('pending', 'cancelled')
    )sql";
    Query query(db, kSql);
    query->bind(1, id);
    BindTime(*query, 2, at);
    query->exec();
}

void MarkOutboxRetry(Db& db, std::int64_t id, Timestamp next_attempt_at, const std::string& error) {
    static constexpr const char* kSql = R"sql(
        UPDATE outbox SET next_attempt_at = ?2, last_error = ?3
        WHERE id = ?1 AND status = 'pending'
    )sql";
    Query query(db, kSql);
    query->bind(1, id);
    BindTime(*query, 2, next_attempt_at);
    BindText(*query, 3, error);
    query->exec();
}

void MarkOutboxDeferred(Db& db, std::int64_t id, Timestamp next_attempt_at,
                        const std::string& error) {
    static constexpr const char* kSql = R"sql(
        UPDATE outbox SET next_attempt_at = ?2, last_error = ?3, attempts = MAX(attempts - 1, 0)
        WHERE id = ?1 AND status = 'pending'
    )sql";
    Query query(db, kSql);
    query->bind(1, id);
    BindTime(*query, 2, next_attempt_at);
    BindText(*query, 3, error);
    query->exec();
}

void MarkOutboxDead(Db& db, std::int64_t id, Timestamp at, const std::string& error) {
    static constexpr const char* kSql = R"sql(
        UPDATE outbox SET status = 'dead', done_at = ?2, last_error = ?3
        WHERE id = ?1 AND status = 'pending'
    )sql";
    Query query(db, kSql);
    query->bind(1, id);
    BindTime(*query, 2, at);
    BindText(*query, 3, error);
    query->exec();
}

std::vector<OutboxItem> OutboxForViolation(Db& db, std::int64_t violation_id) {
    static constexpr const char* kSql =
        "SELECT " FG_OUTBOX_COLUMNS " FROM outbox WHERE violation_id = ?1 ORDER BY id";
    Query query(db, kSql);
    query->bind(1, violation_id);
    std::vector<OutboxItem> items;
    while (query->executeStep()) {
        items.push_back(ReadOutbox(*query));
    }
    return items;
}

namespace {

// The violation's pending items, all of them or its chat messages only, cancelled and returned
// as they were.
std::vector<OutboxItem> CancelPending(Db& db, std::int64_t violation_id, Timestamp at,
                                      const std::string& reason, bool messages_only) {
    static constexpr const char* kSelect =
        "SELECT " FG_OUTBOX_COLUMNS
        " FROM outbox WHERE violation_id = ?1 AND status = 'pending' "
        "AND (?2 = 0 OR kind IN ('notify', 'escalate')) ORDER BY id";
    static constexpr const char* kCancel = R"sql(
        UPDATE outbox SET status = 'cancelled', done_at = ?3, last_error = ?4
        WHERE violation_id = ?1 AND status = 'pending'
          AND (?2 = 0 OR kind IN ('notify', 'escalate'))
    )sql";
    std::vector<OutboxItem> items;
    {
        Query query(db, kSelect);
        query->bind(1, violation_id);
        query->bind(2, messages_only ? 1 : 0);
        while (query->executeStep()) {
            items.push_back(ReadOutbox(*query));
        }
    }
    if (!items.empty()) {
        Query query(db, kCancel);
        query->bind(1, violation_id);
        query->bind(2, messages_only ? 1 : 0);
        BindTime(*query, 3, at);
        BindText(*query, 4, reason);
        query->exec();
    }
    return items;
}

}  // namespace

std::vector<OutboxItem> CancelOutboxForViolation(Db& db, std::int64_t violation_id, Timestamp at,
                                                 const std::string& reason) {
    return CancelPending(db, violation_id, at, reason, false);
}

std::vector<OutboxItem> CancelMessagesForViolation(Db& db, std::int64_t violation_id, Timestamp at,
                                                   const std::string& reason) {
    return CancelPending(db, violation_id, at, reason, true);
}

OutboxStats GetOutboxStats(Db& db) {
    static constexpr const char* kSql = "SELECT status, COUNT(*) FROM outbox GROUP BY status";
    Query query(db, kSql);
    OutboxStats stats;
    while (query->executeStep()) {
        const std::int64_t count = query->getColumn(1).getInt64();
        switch (ParseOutboxStatus(query->getColumn(0).getText())) {
            case OutboxStatus::kPending:
                stats.pending = count;
                break;
            case OutboxStatus::kDone:
                stats.done = count;
                break;
            case OutboxStatus::kDead:
                stats.dead = count;
                break;
            case OutboxStatus::kCancelled:
                stats.cancelled = count;
                break;
        }
    }
    return stats;
}

}  // namespace fg::storage
