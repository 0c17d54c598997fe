#include "src/storage/inbox.hpp"

#include <array>
#include <utility>

#include "src/storage/database.hpp"
#include "src/storage/query.hpp"

namespace fg::storage {
namespace {

using detail::BindText;
using detail::BindTime;
using detail::OptionalTime;
using detail::Query;

constexpr std::array<std::pair<InboxState, std::string_view>, 5> kStateNames = {{
    {InboxState::kStored, "stored"},
    {InboxState::kWaiting, "waiting"},
    {InboxState::kApplied, "applied"},
    {InboxState::kIgnored, "ignored"},
    {InboxState::kFailed, "failed"},
}};

std::string StateText(InboxState state) { return std::string(InboxStateName(state)); }

InboxState StateFromColumn(const SQLite::Column& column) {
    return ParseInboxState(column.getString()).value_or(InboxState::kFailed);
}

}  // namespace

std::string_view InboxStateName(InboxState state) {
    for (const auto& [value, name] : kStateNames) {
        if (value == state) {
            return name;
        }
    }
    return "failed";
}

std::optional<InboxState> ParseInboxState(std::string_view name) {
    for (const auto& [value, text] : kStateNames) {
        if (text == name) {
            return value;
        }
    }
    return std::nullopt;
}

bool InsertInbox(Db& db, const InboxItem& item) {
    static constexpr const char* kSql = R"sql(
        INSERT INTO inbox (tenant, crm, dedupe_key, received_at, body) VALUES (?1, ?2, ?3, ?4, ?5)
        ON CONFLICT (tenant, crm, dedupe_key) DO NOTHING
    )sql";
    Query query(db, kSql);
    BindText(*query, 1, item.tenant);
    BindText(*query, 2, item.crm);
    BindText(*query, 3, item.dedupe_key);
    BindTime(*query, 4, item.received_at);
    BindText(*query, 5, item.body);
    return query->exec() == 1;
}

std::vector<InboxItem> PendingInbox(Db& db, int limit) {
    static constexpr const char* kSql = R"sql(
        SELECT seq, tenant, crm, dedupe_key, received_at, waiting_since FROM inbox
        WHERE processed_at IS NULL ORDER BY seq LIMIT ?1
    )sql";
    Query query(db, kSql);
    query->bind(1, limit);
    std::vector<InboxItem> items;
    while (query->executeStep()) {
        items.push_back(InboxItem{
            .seq = query->getColumn(0).getInt64(),
            .tenant = query->getColumn(1).getString(),
            .crm = query->getColumn(2).getString(),
            .dedupe_key = query->getColumn(3).getString(),
            .body = {},
            .received_at = FromEpoch(query->getColumn(4).getInt64()),
            .waiting_since = OptionalTime(query->getColumn(5)),
        });
    }
    return items;
}

std::string InboxBody(Db& db, std::int64_t seq) {
    static constexpr const char* kSql = "SELECT body FROM inbox WHERE seq = ?1";
    Query query(db, kSql);
    query->bind(1, seq);
    return query->executeStep() ? query->getColumn(0).getString() : std::string{};
}

void SettleInbox(Db& db, std::int64_t seq, Timestamp at, const InboxOutcome& outcome) {
    static constexpr const char* kSql = R"sql(
        UPDATE inbox SET processed_at = ?2, state = ?3, reason = NULLIF(?4, ''),
                         error = NULLIF(?5, ''),
                         waiting_since = CASE WHEN ?3 = 'waiting' THEN COALESCE(waiting_since, ?2)
                                              ELSE NULL END
        WHERE seq = ?1
    )sql";
    const std::string state = StateText(outcome.state);
    Query query(db, kSql);
    query->bind(1, seq);
    BindTime(*query, 2, at);
    BindText(*query, 3, state);
    BindText(*query, 4, outcome.reason);
    BindText(*query, 5, outcome.error);
    query->exec();
}

int RequeueWaitingInbox(Db& db, const std::string& tenant) {
    static constexpr const char* kSql = R"sql(
        UPDATE inbox SET processed_at = NULL, state = 'stored'
        WHERE state = 'waiting' AND tenant = ?1
    )sql";
    Query query(db, kSql);
    BindText(*query, 1, tenant);
    return query->exec();
}

int FailWaitingSince(Db& db, Timestamp before, Timestamp now, const std::string& error) {
    static constexpr const char* kSql = R"sql(
        UPDATE inbox SET state = 'failed', reason = 'directory_timeout', processed_at = ?2,
                         error = ?3 || COALESCE(error, '')
        WHERE state = 'waiting' AND waiting_since < ?1
    )sql";
    Query query(db, kSql);
    BindTime(*query, 1, before);
    BindTime(*query, 2, now);
    BindText(*query, 3, error);
    return query->exec();
}

int RetryInbox(Db& db, const std::string& tenant) {
    static constexpr const char* kSql = R"sql(
        UPDATE inbox SET processed_at = NULL, state = 'stored', reason = NULL, error = NULL,
                         waiting_since = NULL
        WHERE state IN ('waiting', 'failed') AND (?1 = '' OR tenant = ?1)
    )sql";
    Query query(db, kSql);
    BindText(*query, 1, tenant);
    return query->exec();
}

std::vector<InboxEntry> ListInbox(Db& db, const InboxFilter& filter) {
    static constexpr const char* kSql = R"sql(
        SELECT seq, tenant, crm, state, reason, error, received_at, processed_at, waiting_since
        FROM inbox
        WHERE state = ?1 AND state IN ('waiting', 'failed') AND (?2 = '' OR tenant = ?2)
        ORDER BY seq DESC LIMIT ?3
    )sql";
    const std::string state = StateText(filter.state);
    Query query(db, kSql);
    BindText(*query, 1, state);
    BindText(*query, 2, filter.tenant);
    query->bind(3, filter.limit);
    std::vector<InboxEntry> entries;
    while (query->executeStep()) {
        entries.push_back(InboxEntry{
            .seq = query->getColumn(0).getInt64(),
            .tenant = query->getColumn(1).getString(),
            .crm = query->getColumn(2).getString(),
            .state = StateFromColumn(query->getColumn(3)),
            .reason = query->getColumn(4).getString(),
            .error = query->getColumn(5).getString(),
            .received_at = FromEpoch(query->getColumn(6).getInt64()),
            .processed_at = OptionalTime(query->getColumn(7)),
            .waiting_since = OptionalTime(query->getColumn(8)),
        });
    }
    return entries;
}

InboxStats GetInboxStats(Db& db) {
    static constexpr const char* kSql = R"sql(
        SELECT COUNT(*), MIN(received_at) FROM inbox WHERE processed_at IS NULL
    )sql";
    Query query(db, kSql);
    query->executeStep();
    return InboxStats{
        .pending = query->getColumn(0).getInt64(),
        .oldest_pending = OptionalTime(query->getColumn(1)),
    };
}

std::vector<std::tuple<std::string, InboxState, std::string, std::int64_t>> UnsettledInboxCounts(
    Db& db) {
    static constexpr const char* kSql = R"sql(
        SELECT tenant, state, COALESCE(reason, ''), COUNT(*) FROM inbox
        WHERE state IN ('waiting', 'failed') GROUP BY tenant, state, reason
    )sql";
    Query query(db, kSql);
    std::vector<std::tuple<std::string, InboxState, std::string, std::int64_t>> counts;
    while (query->executeStep()) {
        counts.emplace_back(query->getColumn(0).getString(), StateFromColumn(query->getColumn(1)),
                            query->getColumn(2).getString(), query->getColumn(3).getInt64());
    }
    return counts;
}

}  // namespace fg::storage
