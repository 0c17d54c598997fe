#include "src/storage/metadata.hpp"

#include "src/storage/query.hpp"

namespace fg::storage {
namespace {

using detail::BindText;
using detail::Query;

}  // namespace

std::optional<std::string> GetMeta(Db& db, const std::string& tenant, const std::string& key) {
    static constexpr const char* kSql = "SELECT value FROM meta WHERE tenant = ?1 AND key = ?2";
    Query query(db, kSql);
    BindText(*query, 1, tenant);
    BindText(*query, 2, key);
    if (!query->executeStep()) {
        return std::nullopt;
    }
    return query->getColumn(0).getString();
}

void SetMeta(Db& db, const std::string& tenant, const std::string& key, const std::string& value) {
    static constexpr const char* kSql = R"sql(
        INSERT INTO meta (tenant, key, value) VALUES (?1, ?2, ?3)
        ON CONFLICT (tenant, key) DO UPDATE SET value = excluded.value
    )sql";
    Query query(db, kSql);
    BindText(*query, 1, tenant);
    BindText(*query, 2, key);
    BindText(*query, 3, value);
    query->exec();
}

void DeleteMeta(Db& db, const std::string& tenant, const std::string& key) {
    static constexpr const char* kSql = "DELETE FROM meta WHERE tenant = ?1 AND key = ?2";
    Query query(db, kSql);
    BindText(*query, 1, tenant);
    BindText(*query, 2, key);
    query->exec();
}

std::int64_t CountStageChanges(Db& db, const std::string& tenant) {
    static constexpr const char* kSql = "SELECT count(*) FROM stage_history WHERE tenant = ?1";
    Query query(db, kSql);
    BindText(*query, 1, tenant);
    query->executeStep();
    return query->getColumn(0).getInt64();
}

}  // namespace fg::storage
