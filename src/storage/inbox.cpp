#include "src/storage/inbox.hpp"

#include <array>
#include <utility>

#include <fmt/format.h>

#include "src/storage/database.hpp"
#include "src/storage/query.hpp"

namespace fg::storage {
namespace {

using detail::BindOptionalTime;
using detail::BindText;
using detail::BindTime;
using detail::OptionalTime;
using detail::Query;

constexpr std::array<std::pair<InboxState, std::string_view>, 6> kStateNames = {{
    {InboxState::kStored, "stored"},
    {InboxState::kWaiting, "waiting"},
    {InboxState::kFetched, "fetched"},
    {InboxState::kApplied, "applied"},
    {InboxState::kIgnored, "ignored"},
    {InboxState::kFailed, "failed"},
}};

std::string StateText(InboxState state) { return std::string(InboxStateName(state)); }

InboxState StateFromColumn(const SQLite::Column& column) {
    return ParseInboxState(column.getString()).value_or(InboxState::kFailed);
}

// Rows of (tenant, state, reason, count).
void AppendCounts(
    Db& db, const char* sql,
    std::vector<std::tuple<std::string, InboxState, std::string, std::int64_t>>& out) {
    Query query(db, sql);
    while (query->executeStep()) {
        out.emplace_back(query->getColumn(0).getString(), StateFromColumn(query->getColumn(1)),
                         query->getColumn(2).getString(), query->getColumn(3).getInt64());
    }
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
        SELECT seq, tenant, crm, dedupe_key, received_at, waiting_since, state, reason FROM inbox
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
            .state = StateFromColumn(query->getColumn(6)),
            .reason = query->getColumn(7).getString(),
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

std::optional<std::string> InboxFetched(Db& db, std::int64_t seq) {
    static constexpr const char* kSql = "SELECT fetched FROM inbox WHERE seq = ?1";
    Query query(db, kSql);
    query->bind(1, seq);
    if (!query->executeStep() || query->getColumn(0).isNull()) {
        return std::nullopt;
    }
    return query->getColumn(0).getString();
}

namespace {

// SettleInbox's statement; ?6 = 1 settles the item only while it waits (the fetch stage's use:
// the writer or `inbox retry` may have moved it on since the stage read it). On the right-hand
// sides `reason` is the item's reason before the update.
bool Settle(Db& db, std::int64_t seq, Timestamp at, const InboxOutcome& outcome,
            bool only_waiting) {
    static constexpr const char* kSql = R"sql(
        UPDATE inbox SET processed_at = ?2, state = ?3, reason = NULLIF(?4, ''),
                         error = NULLIF(?5, ''),
                         waiting_since = CASE WHEN ?3 = 'waiting' THEN COALESCE(waiting_since, ?2)
                                              ELSE NULL END,
                         next_attempt_at = CASE WHEN ?3 <> 'waiting' THEN NULL
                                                WHEN reason IS NULLIF(?4, '')
                                                    THEN COALESCE(next_attempt_at, ?2)
                                                ELSE ?2 END,
                         attempts = CASE WHEN ?3 = 'waiting' AND reason IS NOT NULLIF(?4, '')
                                             THEN 0
                                         ELSE attempts END,
                         fetch_error = CASE WHEN ?3 = 'waiting' AND reason IS NULLIF(?4, '')
                                                THEN fetch_error
                                            ELSE NULL END,
                         fetched = NULL
        WHERE seq = ?1 AND (?6 = 0 OR state = 'waiting')
    )sql";
    const std::string state = StateText(outcome.state);
    Query query(db, kSql);
    query->bind(1, seq);
    BindTime(*query, 2, at);
    BindText(*query, 3, state);
    BindText(*query, 4, outcome.reason);
    BindText(*query, 5, outcome.error);
    query->bind(6, only_waiting ? 1 : 0);
    return query->exec() == 1;
}

}  // namespace

void SettleInbox(Db& db, std::int64_t seq, Timestamp at, const InboxOutcome& outcome) {
    Settle(db, seq, at, outcome, /*only_waiting=*/false);
}

bool SettleWaitingInbox(Db& db, std::int64_t seq, Timestamp at, const InboxOutcome& outcome) {
    return Settle(db, seq, at, outcome, /*only_waiting=*/true);
}

int RequeueWaitingInbox(Db& db, const std::string& tenant, std::optional<Timestamp> retry_at) {
    static constexpr const char* kSql = R"sql(
        UPDATE inbox SET processed_at = NULL, state = 'fetched', fetched = NULL,
                         next_attempt_at = ?2
        WHERE state = 'waiting' AND reason = 'directory' AND tenant = ?1
    )sql";
    Query query(db, kSql);
    BindText(*query, 1, tenant);
    BindOptionalTime(*query, 2, retry_at);
    return query->exec();
}

int FailWaitingSince(Db& db, Timestamp before, Timestamp now, const std::string& error) {
    return FailWaitingSince(db, inbox_reason::kDirectory, inbox_reason::kDirectoryTimeout, before,
                            now, error);
}

int FailWaitingSince(Db& db, std::string_view waiting_reason, std::string_view failed_reason,
                     Timestamp before, Timestamp now, const std::string& error) {
    static constexpr const char* kSql = R"sql(
        UPDATE inbox SET state = 'failed', reason = ?5, processed_at = ?2,
                         error = ?3 || COALESCE(error, '') ||
                                 COALESCE(' (last try: ' || fetch_error || ')', ''),
                         next_attempt_at = NULL
        WHERE state = 'waiting' AND reason = ?4 AND waiting_since < ?1
    )sql";
    const std::string waiting(waiting_reason);
    const std::string failed(failed_reason);
    Query query(db, kSql);
    BindTime(*query, 1, before);
    BindTime(*query, 2, now);
    BindText(*query, 3, error);
    BindText(*query, 4, waiting);
    BindText(*query, 5, failed);
    return query->exec();
}

int RetryInbox(Db& db, const std::string& tenant) {
    static constexpr const char* kSql = R"sql(
        UPDATE inbox SET processed_at = NULL, state = 'stored', reason = NULL, error = NULL,
                         waiting_since = NULL, attempts = 0, next_attempt_at = NULL,
                         fetch_error = NULL, fetched_at = NULL, fetched = NULL
        WHERE state IN ('waiting', 'failed') AND (?1 = '' OR tenant = ?1)
    )sql";
    Query query(db, kSql);
    BindText(*query, 1, tenant);
    return query->exec();
}

std::vector<WaitingItem> DueWaitingInbox(Db& db, Timestamp now, int limit) {
    // The literal state list lets SQLite use the partial index inbox_unsettled.
    static constexpr const char* kSql = R"sql(
        SELECT seq, tenant, crm, COALESCE(reason, ''), received_at,
               COALESCE(waiting_since, processed_at, received_at), attempts
        FROM inbox
        WHERE state IN ('waiting', 'fetched', 'failed') AND state = 'waiting'
          AND COALESCE(next_attempt_at, 0) <= ?1
        ORDER BY COALESCE(next_attempt_at, 0), seq LIMIT ?2
    )sql";
    Query query(db, kSql);
    BindTime(*query, 1, now);
    query->bind(2, limit);
    std::vector<WaitingItem> items;
    while (query->executeStep()) {
        items.push_back(WaitingItem{
            .seq = query->getColumn(0).getInt64(),
            .tenant = query->getColumn(1).getString(),
            .crm = query->getColumn(2).getString(),
            .reason = query->getColumn(3).getString(),
            .received_at = FromEpoch(query->getColumn(4).getInt64()),
            .waiting_since = FromEpoch(query->getColumn(5).getInt64()),
            .attempts = query->getColumn(6).getInt(),
        });
    }
    return items;
}

std::optional<Timestamp> NextWaitingAttempt(Db& db) {
    static constexpr const char* kSql = R"sql(
        SELECT MIN(COALESCE(next_attempt_at, 0)) FROM inbox
        WHERE state IN ('waiting', 'fetched', 'failed') AND state = 'waiting'
    )sql";
    Query query(db, kSql);
    query->executeStep();
    return OptionalTime(query->getColumn(0));
}

// The suffix an item's dedupe key takes when the item gives it up: unique to the item, so any
// later copy of the same bytes is stored.
constexpr const char* kReleasedKey = R"sql(
    CASE WHEN substr(dedupe_key, -length('#fetched:' || seq)) = '#fetched:' || seq
         THEN dedupe_key ELSE dedupe_key || '#fetched:' || seq END
)sql";

bool ReleaseInboxDedupe(Db& db, std::int64_t seq) {
    // Bitrix24 sends byte-identical bodies for two changes of a deal within one second, and
    // never redelivers: a copy arriving while the fetch reads the CRM may be a change the read
    // missed. Given up before the read, the key lets that copy in; one before it is still a
    // duplicate (the read to come sees the later state too).
    static const std::string kSql = fmt::format(R"sql(
        UPDATE inbox SET dedupe_key = {}
        WHERE seq = ?1 AND state = 'waiting'
          AND substr(dedupe_key, -length('#fetched:' || seq)) <> '#fetched:' || seq
    )sql",
                                                kReleasedKey);
    Query query(db, kSql.c_str());
    query->bind(1, seq);
    return query->exec() == 1;
}

bool MarkInboxFetched(Db& db, std::int64_t seq, Timestamp at, std::string_view reason,
                      const std::optional<std::string>& fetched) {
    // The key is given up here too, for a fetch stage that did not release it first.
    static const std::string kSql = fmt::format(R"sql(
        UPDATE inbox SET state = 'fetched', reason = ?3, processed_at = NULL, fetched_at = ?2,
                         fetched = ?4, fetch_error = NULL, next_attempt_at = NULL,
                         attempts = attempts + 1, dedupe_key = {}
        WHERE seq = ?1 AND state = 'waiting'
    )sql",
                                                kReleasedKey);
    const std::string reason_text(reason);
    Query query(db, kSql.c_str());
    query->bind(1, seq);
    BindTime(*query, 2, at);
    BindText(*query, 3, reason_text);
    if (fetched) {
        BindText(*query, 4, *fetched);
    } else {
        query->bind(4);
    }
    return query->exec() == 1;
}

bool DeferWaitingInbox(Db& db, std::int64_t seq, Timestamp next, const std::string& error,
                       bool counted) {
    static constexpr const char* kSql = R"sql(
        UPDATE inbox SET next_attempt_at = ?2,
                         fetch_error = CASE WHEN ?4 = 1 THEN NULLIF(?3, '')
                                            ELSE COALESCE(NULLIF(?3, ''), fetch_error) END,
                         attempts = attempts + ?4
        WHERE seq = ?1 AND state = 'waiting'
    )sql";
    Query query(db, kSql);
    query->bind(1, seq);
    BindTime(*query, 2, next);
    BindText(*query, 3, error);
    query->bind(4, counted ? 1 : 0);
    return query->exec() == 1;
}

std::vector<InboxEntry> ListInbox(Db& db, const InboxFilter& filter) {
    // One statement per index: SQLite uses a partial index only for a query whose WHERE holds
    // the index's own condition, literally.
    static constexpr const char* kPending = R"sql(
        SELECT seq, tenant, crm, state, reason, error, received_at, processed_at, waiting_since,
               attempts, next_attempt_at, fetch_error, fetched_at
        FROM inbox
        WHERE processed_at IS NULL AND state = ?1 AND (?2 = '' OR tenant = ?2)
        ORDER BY seq DESC LIMIT ?3
    )sql";
    static constexpr const char* kUnsettled = R"sql(
        SELECT seq, tenant, crm, state, reason, error, received_at, processed_at, waiting_since,
               attempts, next_attempt_at, fetch_error, fetched_at
        FROM inbox
        WHERE state IN ('waiting', 'fetched', 'failed') AND state = ?1
          AND (?2 = '' OR tenant = ?2)
        ORDER BY seq DESC LIMIT ?3
    )sql";
    static constexpr const char* kSettled = R"sql(
        SELECT seq, tenant, crm, state, reason, error, received_at, processed_at, waiting_since,
               attempts, next_attempt_at, fetch_error, fetched_at
        FROM inbox
        WHERE state = ?1 AND (?2 = '' OR tenant = ?2)
        ORDER BY seq DESC LIMIT ?3
    )sql";
    const char* sql = kSettled;
    if (filter.state == InboxState::kStored) {
        sql = kPending;
    } else if (filter.state == InboxState::kWaiting || filter.state == InboxState::kFetched ||
               filter.state == InboxState::kFailed) {
        sql = kUnsettled;
    }
    const std::string state = StateText(filter.state);
    Query query(db, sql);
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
            .attempts = query->getColumn(9).getInt(),
            .next_attempt_at = OptionalTime(query->getColumn(10)),
            .fetch_error = query->getColumn(11).getString(),
            .fetched_at = OptionalTime(query->getColumn(12)),
        });
    }
    return entries;
}

std::map<InboxState, std::int64_t> InboxStateCounts(Db& db, const std::string& tenant) {
    static constexpr const char* kPending = R"sql(
        SELECT state, COUNT(*) FROM inbox
        WHERE processed_at IS NULL AND (?1 = '' OR tenant = ?1) GROUP BY state
    )sql";
    static constexpr const char* kUnsettled = R"sql(
        SELECT state, COUNT(*) FROM inbox
        WHERE state IN ('waiting', 'fetched', 'failed') AND state <> 'fetched'
          AND (?1 = '' OR tenant = ?1)
        GROUP BY state
    )sql";
    static constexpr const char* kSettled = R"sql(
        SELECT state, SUM(items) FROM inbox_settled WHERE ?1 = '' OR tenant = ?1 GROUP BY state
    )sql";
    std::map<InboxState, std::int64_t> counts;
    for (const InboxState state : kInboxStates) {
        counts[state] = 0;
    }
    for (const char* sql : {kPending, kUnsettled, kSettled}) {
        Query query(db, sql);
        BindText(*query, 1, tenant);
        while (query->executeStep()) {
            counts[StateFromColumn(query->getColumn(0))] += query->getColumn(1).getInt64();
        }
    }
    return counts;
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
        WHERE state IN ('waiting', 'fetched', 'failed') GROUP BY tenant, state, reason
    )sql";
    std::vector<std::tuple<std::string, InboxState, std::string, std::int64_t>> counts;
    AppendCounts(db, kSql, counts);
    return counts;
}

std::vector<std::tuple<std::string, InboxState, std::string, std::int64_t>> InboxCountsByReason(
    Db& db) {
    static constexpr const char* kStored = R"sql(
        SELECT tenant, state, '', COUNT(*) FROM inbox
        WHERE processed_at IS NULL AND state = 'stored' GROUP BY tenant
    )sql";
    static constexpr const char* kSettled = R"sql(
        SELECT tenant, state, reason, items FROM inbox_settled WHERE items > 0
    )sql";
    std::vector<std::tuple<std::string, InboxState, std::string, std::int64_t>> counts;
    AppendCounts(db, kStored, counts);
    for (auto& count : UnsettledInboxCounts(db)) {
        counts.push_back(std::move(count));
    }
    AppendCounts(db, kSettled, counts);
    return counts;
}

}  // namespace fg::storage
