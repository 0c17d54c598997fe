#include "src/storage/wake.hpp"

#include "src/storage/query.hpp"

namespace fg::storage {
namespace {

using detail::BindOptionalTime;
using detail::BindText;
using detail::BindTime;
using detail::Query;

}  // namespace

void SetWakeAt(Db& db, const std::string& tenant, const std::string& deal_id,
               std::optional<Timestamp> wake_at) {
    static constexpr const char* kSql = R"sql(
        UPDATE deals SET wake_at = ?3 WHERE tenant = ?1 AND id = ?2
    )sql";
    Query query(db, kSql);
    BindText(*query, 1, tenant);
    BindText(*query, 2, deal_id);
    BindOptionalTime(*query, 3, wake_at);
    query->exec();
}

std::vector<DealRef> DealsToWake(Db& db, Timestamp now, int limit) {
    static constexpr const char* kSql = R"sql(
        SELECT tenant, id FROM deals WHERE wake_at IS NOT NULL AND wake_at <= ?1
        ORDER BY wake_at LIMIT ?2
    )sql";
    Query query(db, kSql);
    BindTime(*query, 1, now);
    query->bind(2, limit);
    std::vector<DealRef> deals;
    while (query->executeStep()) {
        deals.push_back(DealRef{query->getColumn(0).getString(), query->getColumn(1).getString()});
    }
    return deals;
}

std::vector<DealRef> AllDeals(Db& db, const std::string& tenant) {
    static constexpr const char* kAll =
        "SELECT tenant, id FROM deals WHERE deleted = 0 AND updated_at IS NOT NULL "
        "ORDER BY tenant, id";
    static constexpr const char* kTenant =
        "SELECT tenant, id FROM deals WHERE tenant = ?1 AND deleted = 0 AND updated_at IS NOT NULL "
        "ORDER BY tenant, id";
    Query query(db, tenant.empty() ? kAll : kTenant);
    if (!tenant.empty()) {
        BindText(*query, 1, tenant);
    }
    std::vector<DealRef> deals;
    while (query->executeStep()) {
        deals.push_back(DealRef{query->getColumn(0).getString(), query->getColumn(1).getString()});
    }
    return deals;
}

}  // namespace fg::storage
