#include "src/storage/own_writes.hpp"

#include "src/storage/query.hpp"

namespace fg::storage {
namespace {

using detail::BindText;
using detail::BindTime;
using detail::Query;

const char* OwnWriteKindName(OwnWriteKind kind) {
    switch (kind) {
        case OwnWriteKind::kRevert:
            return "revert";
        case OwnWriteKind::kTask:
            return "task";
        case OwnWriteKind::kNote:
            return "note";
    }
    return "revert";
}

constexpr const char* kConsumeOwnWrite = R"sql(
    DELETE FROM own_writes WHERE rowid = (
        SELECT rowid FROM own_writes
        WHERE tenant = ?1 AND deal_id = ?2 AND kind = ?3 AND fingerprint = ?4 AND expires_at >= ?5
        ORDER BY expires_at LIMIT 1)
)sql";

}  // namespace

bool detail::ConsumeOwnWrite(Db& db, const std::string& tenant, const std::string& deal_id,
                             OwnWriteKind kind, const std::string& fingerprint, Timestamp at) {
    Query query(db, kConsumeOwnWrite);
    BindText(*query, 1, tenant);
    BindText(*query, 2, deal_id);
    query->bindNoCopy(3, OwnWriteKindName(kind));
    BindText(*query, 4, fingerprint);
    BindTime(*query, 5, at);
    return query->exec() == 1;
}

void RecordOwnWrite(Db& db, const std::string& tenant, const std::string& deal_id,
                    OwnWriteKind kind, const std::string& fingerprint, Timestamp expires_at) {
    static constexpr const char* kSql = R"sql(
        INSERT INTO own_writes (tenant, deal_id, kind, fingerprint, expires_at)
        VALUES (?1, ?2, ?3, ?4, ?5)
    )sql";
    Query query(db, kSql);
    BindText(*query, 1, tenant);
    BindText(*query, 2, deal_id);
    query->bindNoCopy(3, OwnWriteKindName(kind));
    BindText(*query, 4, fingerprint);
    BindTime(*query, 5, expires_at);
    query->exec();
}

int PruneOwnWrites(Db& db, Timestamp now) {
    static constexpr const char* kSql = "DELETE FROM own_writes WHERE expires_at < ?1";
    Query query(db, kSql);
    BindTime(*query, 1, now);
    return query->exec();
}

bool OwnWritePending(Db& db, const std::string& tenant, const std::string& deal_id,
                     OwnWriteKind kind, Timestamp now) {
    static constexpr const char* kSql = R"sql(
        SELECT EXISTS (SELECT 1 FROM own_writes
                       WHERE tenant = ?1 AND deal_id = ?2 AND kind = ?3 AND expires_at >= ?4)
    )sql";
    Query query(db, kSql);
    BindText(*query, 1, tenant);
    BindText(*query, 2, deal_id);
    query->bindNoCopy(3, OwnWriteKindName(kind));
    BindTime(*query, 4, now);
    return query->executeStep() && query->getColumn(0).getInt() != 0;
}

void ForgetOwnWrite(Db& db, const std::string& tenant, const std::string& deal_id,
                    OwnWriteKind kind, const std::string& fingerprint) {
    static constexpr const char* kSql = R"sql(
        DELETE FROM own_writes WHERE rowid = (
            SELECT rowid FROM own_writes
            WHERE tenant = ?1 AND deal_id = ?2 AND kind = ?3 AND fingerprint = ?4
            ORDER BY expires_at DESC LIMIT 1)
    )sql";
    Query query(db, kSql);
    BindText(*query, 1, tenant);
    BindText(*query, 2, deal_id);
    query->bindNoCopy(3, OwnWriteKindName(kind));
    BindText(*query, 4, fingerprint);
    query->exec();
}

}  // namespace fg::storage
