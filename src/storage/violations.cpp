#include "src/storage/violations.hpp"

#include <fmt/format.h>

#include "src/storage/query.hpp"

namespace fg::storage {
namespace {

using detail::BindOptionalTime;
using detail::BindText;
using detail::BindTime;
using detail::OptionalTime;
using detail::Query;

#define FG_VIOLATION_COLUMNS                                                                \
    "v.id, v.tenant, v.deal_id, v.rule, v.key, v.responsible, v.opened_at, v.resolved_at, " \
    "v.resolution, v.details, v.message, v.escalated_at, COALESCE(d.title, '')"
#define FG_VIOLATION_FROM \
    " FROM violations v LEFT JOIN deals d ON d.tenant = v.tenant AND d.id = v.deal_id "

Violation ReadViolation(SQLite::Statement& statement) {
    Violation violation;
    violation.id = statement.getColumn(0).getInt64();
    violation.tenant = statement.getColumn(1).getString();
    violation.deal_id = statement.getColumn(2).getString();
    violation.rule = statement.getColumn(3).getString();
    violation.key = statement.getColumn(4).getString();
    violation.responsible = statement.getColumn(5).getString();
    violation.opened_at = FromEpoch(statement.getColumn(6).getInt64());
    violation.resolved_at = OptionalTime(statement.getColumn(7));
    violation.resolution = statement.getColumn(8).getString();  // NULL reads as ""
    violation.details = nlohmann::json::parse(statement.getColumn(9).getString());
    violation.message = statement.getColumn(10).getString();
    violation.escalated_at = OptionalTime(statement.getColumn(11));
    violation.deal_title = statement.getColumn(12).getString();
    return violation;
}

std::string DumpJson(const nlohmann::json& value) {
    return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::vector<Violation> ViolationsForDeal(Db& db, const std::string& tenant,
                                         const std::string& deal_id) {
    static constexpr const char* kSql = "SELECT " FG_VIOLATION_COLUMNS FG_VIOLATION_FROM
                                        "WHERE v.tenant = ?1 AND v.deal_id = ?2 ORDER BY v.id";
    Query query(db, kSql);
    BindText(*query, 1, tenant);
    BindText(*query, 2, deal_id);
    std::vector<Violation> violations;
    while (query->executeStep()) {
        violations.push_back(ReadViolation(*query));
    }
    return violations;
}

std::int64_t InsertViolation(Db& db, const Violation& violation) {
    static constexpr const char* kSql = R"sql(
        INSERT INTO violations (tenant, deal_id, rule, key, responsible, opened_at, escalated_at,
                                details, message)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
    )sql";
    const std::string details = DumpJson(violation.details);
    Query query(db, kSql);
    BindText(*query, 1, violation.tenant);
    BindText(*query, 2, violation.deal_id);
    BindText(*query, 3, violation.rule);
    BindText(*query, 4, violation.key);
    BindText(*query, 5, violation.responsible);
    BindTime(*query, 6, violation.opened_at);
    BindOptionalTime(*query, 7, violation.escalated_at);
    BindText(*query, 8, details);
    BindText(*query, 9, violation.message);
    query->exec();
    return db.sql().getLastInsertRowid();
}

void UpdateViolation(Db& db, std::int64_t id, const nlohmann::json& details,
                     const std::string& message, const std::string& responsible) {
    static constexpr const char* kSql = R"sql(
        UPDATE violations SET details = ?2, message = ?3, responsible = ?4
        WHERE id = ?1 AND resolved_at IS NULL
    )sql";
    const std::string text = DumpJson(details);
    Query query(db, kSql);
    query->bind(1, id);
    BindText(*query, 2, text);
    BindText(*query, 3, message);
    BindText(*query, 4, responsible);
    query->exec();
}

bool ResolveViolation(Db& db, std::int64_t id, Timestamp at, const std::string& resolution) {
    static constexpr const char* kSql = R"sql(
        UPDATE violations SET resolved_at = ?2, resolution = ?3 WHERE id = ?1 AND resolved_at IS NULL
    )sql";
    Query query(db, kSql);
    query->bind(1, id);
    BindTime(*query, 2, at);
    BindText(*query, 3, resolution);
    return query->exec() == 1;
}

std::optional<Violation> GetViolation(Db& db, std::int64_t id) {
    static constexpr const char* kSql =
        "SELECT " FG_VIOLATION_COLUMNS FG_VIOLATION_FROM "WHERE v.id = ?1";
    Query query(db, kSql);
    query->bind(1, id);
    if (!query->executeStep()) {
        return std::nullopt;
    }
    return ReadViolation(*query);
}

std::vector<Violation> ListViolations(Db& db, const ViolationFilter& filter) {
    // Assembled from fixed fragments (values are bound), so that the planner sees the filters that
    // are really there and uses the partial index of open violations. An API call, not a hot path:
    // prepared per call.
    std::string sql = "SELECT " FG_VIOLATION_COLUMNS FG_VIOLATION_FROM "WHERE 1";
    switch (filter.state) {
        case ViolationFilter::State::kOpen:
            sql += " AND v.resolved_at IS NULL";
            break;
        case ViolationFilter::State::kResolved:
            sql += " AND v.resolved_at IS NOT NULL";
            break;
        case ViolationFilter::State::kAll:
            break;
    }
    if (!filter.tenant.empty()) {
        sql += " AND v.tenant = :tenant";
    }
    if (!filter.rule.empty()) {
        sql += " AND v.rule = :rule";
    }
    if (!filter.deal_id.empty()) {
        sql += " AND v.deal_id = :deal";
    }
    if (filter.opened_since) {
        sql += " AND v.opened_at >= :since";
    }
    sql += " ORDER BY v.id DESC LIMIT :limit";
    SQLite::Statement query(db.sql(), sql);
    if (!filter.tenant.empty()) {
        query.bindNoCopy(":tenant", filter.tenant);
    }
    if (!filter.rule.empty()) {
        query.bindNoCopy(":rule", filter.rule);
    }
    if (!filter.deal_id.empty()) {
        query.bindNoCopy(":deal", filter.deal_id);
    }
    if (filter.opened_since) {
        query.bind(":since", static_cast<std::int64_t>(ToEpoch(*filter.opened_since)));
    }
    query.bind(":limit", filter.limit);
    std::vector<Violation> violations;
    while (query.executeStep()) {
        violations.push_back(ReadViolation(query));
    }
    return violations;
}

std::vector<Violation> OpenNotEscalated(Db& db, const std::string& tenant) {
    static constexpr const char* kSql =
        "SELECT " FG_VIOLATION_COLUMNS FG_VIOLATION_FROM
        "WHERE v.resolved_at IS NULL AND v.escalated_at IS NULL AND (?1 = '' OR v.tenant = ?1) "
        "ORDER BY v.id";
    Query query(db, kSql);
    BindText(*query, 1, tenant);
    std::vector<Violation> violations;
    while (query->executeStep()) {
        violations.push_back(ReadViolation(*query));
    }
    return violations;
}

std::vector<std::string> AcknowledgedKeys(Db& db, const std::string& tenant) {
    static constexpr const char* kSql =
        "SELECT tenant, deal_id, rule, key FROM violations "
        "WHERE resolution = 'acknowledged' AND (?1 = '' OR tenant = ?1)";
    SQLite::Statement& query = db.Prepared(kSql);
    BindText(query, 1, tenant);
    std::vector<std::string> keys;
    while (query.executeStep()) {
        keys.push_back(fmt::format("{}\x1f{}\x1f{}\x1f{}", query.getColumn(0).getString(),
                                   query.getColumn(1).getString(), query.getColumn(2).getString(),
                                   query.getColumn(3).getString()));
    }
    return keys;
}

void MarkEscalated(Db& db, std::int64_t id, Timestamp at) {
    static constexpr const char* kSql =
        "UPDATE violations SET escalated_at = ?2 WHERE id = ?1 AND escalated_at IS NULL";
    Query query(db, kSql);
    query->bind(1, id);
    BindTime(*query, 2, at);
    query->exec();
}

std::vector<std::tuple<std::string, std::string, std::int64_t>> OpenViolationCounts(Db& db) {
    static constexpr const char* kSql = R"sql(
        SELECT tenant, rule, COUNT(*) FROM violations WHERE resolved_at IS NULL
        GROUP BY tenant, rule ORDER BY tenant, rule
    )sql";
    Query query(db, kSql);
    std::vector<std::tuple<std::string, std::string, std::int64_t>> counts;
    while (query->executeStep()) {
        counts.emplace_back(query->getColumn(0).getString(), query->getColumn(1).getString(),
                            query->getColumn(2).getInt64());
    }
    return counts;
}

}  // namespace fg::storage
