#include "src/storage/snapshot.hpp"

#include <memory>
#include <string_view>

#include <sqlite3.h>

#include "src/storage/deal_codec.hpp"
#include "src/storage/query.hpp"

namespace fg::storage {
namespace {

using detail::BindText;
using detail::DecodeDoc;
using detail::DecodeFields;
using detail::Query;

// Row access shared by LoadSnapshot (a cached SQLite::Statement) and ForEachSnapshot (a raw
// statement: SQLiteCpp copies a shared_ptr per column read, which shows on a million rows). Both
// read the same SELECT list through the same code, so their snapshots cannot drift apart.
struct RawRow {
    sqlite3_stmt* statement = nullptr;

    std::string_view Blob(int index) const {
        const void* data = sqlite3_column_blob(statement, index);
        const int size = sqlite3_column_bytes(statement, index);  // after the data, as SQLite asks
        if (data == nullptr) {
            return {};
        }
        return {static_cast<const char*>(data), static_cast<std::size_t>(size)};
    }
    std::int64_t Int(int index) const { return sqlite3_column_int64(statement, index); }
    std::string_view Text(int index) const {
        const unsigned char* text = sqlite3_column_text(statement, index);
        const int size = sqlite3_column_bytes(statement, index);  // after the text, as SQLite asks
        if (text == nullptr) {
            return {};
        }
        return {reinterpret_cast<const char*>(text), static_cast<std::size_t>(size)};
    }
};

struct StatementRow {
    SQLite::Statement* statement = nullptr;

    std::string_view Blob(int index) const {
        const SQLite::Column column = statement->getColumn(index);
        const void* data = column.getBlob();
        if (data == nullptr) {
            return {};
        }
        return {static_cast<const char*>(data), static_cast<std::size_t>(column.getBytes())};
    }
    std::int64_t Int(int index) const { return statement->getColumn(index).getInt64(); }
    std::string_view Text(int index) const {
        const SQLite::Column column = statement->getColumn(index);
        const char* text = column.getText(nullptr);
        if (text == nullptr) {
            return {};
        }
        return {text, static_cast<std::size_t>(column.getBytes())};
    }
};

// Columns of a whole deal, as LoadSnapshot and ForEachSnapshot select them.
#define FG_DEAL_COLUMNS                                                               \
    "tenant, id, deleted, COALESCE(created_at, updated_at, deleted_at), "             \
    "COALESCE(updated_at, deleted_at), pipeline, stage, responsible, title, fields, " \
    "doc"

template <typename Row>
void ReadSnapshot(const Row& row, domain::DealSnapshot& snapshot) {
    domain::Deal& deal = snapshot.deal;
    deal.tenant.assign(row.Text(0));
    deal.id.assign(row.Text(1));
    deal.deleted = row.Int(2) != 0;
    deal.created_at = FromEpoch(row.Int(3));
    deal.updated_at = FromEpoch(row.Int(4));
    deal.pipeline.assign(row.Text(5));
    deal.stage.assign(row.Text(6));
    deal.responsible.assign(row.Text(7));
    deal.title.assign(row.Text(8));
    DecodeFields(row.Text(9), deal.fields);
    DecodeDoc(row.Blob(10), deal.tenant, deal.id, snapshot.history, snapshot.tasks, snapshot.notes);
}

struct FinalizeStatement {
    void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
};

// The ordered pass of ForEachSnapshot and ForEachDealRows: one row per deal, prepared per call (a
// sweep, not a hot path) and read through the raw API.
std::unique_ptr<sqlite3_stmt, FinalizeStatement> PrepareSweep(Db& db, const std::string& tenant) {
    static constexpr const char* kAll =
        "SELECT " FG_DEAL_COLUMNS
        " FROM deals WHERE deleted = 0 AND updated_at IS NOT NULL ORDER BY tenant, id";
    static constexpr const char* kTenant =
        "SELECT " FG_DEAL_COLUMNS
        " FROM deals WHERE tenant = ?1 AND deleted = 0 AND updated_at IS NOT NULL "
        "ORDER BY tenant, id";
    sqlite3* handle = db.sql().getHandle();
    sqlite3_stmt* raw = nullptr;
    const int prepared =
        sqlite3_prepare_v3(handle, tenant.empty() ? kAll : kTenant, -1, 0, &raw, nullptr);
    std::unique_ptr<sqlite3_stmt, FinalizeStatement> statement(raw);
    if (prepared != SQLITE_OK) {
        throw SQLite::Exception(handle, prepared);
    }
    if (!tenant.empty()) {
        const int bound = sqlite3_bind_text(statement.get(), 1, tenant.data(),
                                            static_cast<int>(tenant.size()), SQLITE_STATIC);
        if (bound != SQLITE_OK) {
            throw SQLite::Exception(handle, bound);
        }
    }
    return statement;
}

// Steps the sweep: true with a row, false at the end.
bool StepSweep(Db& db, sqlite3_stmt* statement) {
    const int stepped = sqlite3_step(statement);
    if (stepped == SQLITE_DONE) {
        return false;
    }
    if (stepped != SQLITE_ROW) {
        throw SQLite::Exception(db.sql().getHandle(), stepped);
    }
    return true;
}

// Where DealRows keeps each column of FG_DEAL_COLUMNS: a text slot, or (negative) -1 - number slot.
constexpr int kStoredColumn[11] = {0, 1, -1, -2, -3, 2, 3, 4, 5, 6, 7};

}  // namespace

std::optional<domain::DealSnapshot> LoadSnapshot(Db& db, const std::string& tenant,
                                                 const std::string& deal_id) {
    // A row with neither card nor deletion only holds tasks or notes that came before the deal.
    static constexpr const char* kSql = "SELECT " FG_DEAL_COLUMNS
                                        " FROM deals WHERE tenant = ?1 AND id = ?2 AND "
                                        "(updated_at IS NOT NULL OR deleted_at IS NOT NULL)";
    Query query(db, kSql);
    BindText(*query, 1, tenant);
    BindText(*query, 2, deal_id);
    if (!query->executeStep()) {
        return std::nullopt;
    }
    domain::DealSnapshot snapshot;
    ReadSnapshot(StatementRow{&*query}, snapshot);
    return snapshot;
}

void ForEachSnapshot(Db& db, const std::string& tenant,
                     const std::function<void(const domain::DealSnapshot&)>& visit) {
    const auto statement = PrepareSweep(db, tenant);
    domain::DealSnapshot snapshot;  // reused: its strings and vectors keep their capacity
    while (StepSweep(db, statement.get())) {
        ReadSnapshot(RawRow{statement.get()}, snapshot);
        visit(snapshot);
    }
}

void DealRows::clear() {
    bytes_.clear();
    rows_.clear();
}

void DealRows::Decode(std::size_t index, domain::DealSnapshot& snapshot) const {
    // The same ReadSnapshot as ForEachSnapshot's, over the copied columns.
    struct StoredRow {
        const std::string& bytes;
        const Row& row;

        std::string_view Text(int index) const {
            const std::size_t* text = row.texts[kStoredColumn[index]];
            return std::string_view(bytes).substr(text[0], text[1]);
        }
        std::string_view Blob(int index) const { return Text(index); }
        std::int64_t Int(int index) const { return row.numbers[-1 - kStoredColumn[index]]; }
    };
    ReadSnapshot(StoredRow{bytes_, rows_.at(index)}, snapshot);
}

void ForEachDealRows(Db& db, const std::string& tenant, std::size_t batch_size,
                     const std::function<void(DealRows&)>& take) {
    const auto statement = PrepareSweep(db, tenant);
    const RawRow raw{statement.get()};
    DealRows rows;
    while (StepSweep(db, statement.get())) {
        DealRows::Row& row = rows.rows_.emplace_back();
        for (int column = 0; column < 11; ++column) {
            const int slot = kStoredColumn[column];
            if (slot < 0) {
                row.numbers[-1 - slot] = raw.Int(column);
                continue;
            }
            const std::string_view text = column == 10 ? raw.Blob(column) : raw.Text(column);
            row.texts[slot][0] = rows.bytes_.size();
            row.texts[slot][1] = text.size();
            rows.bytes_.append(text);
        }
        if (rows.size() >= batch_size) {
            take(rows);
            rows.clear();
        }
    }
    if (!rows.empty()) {
        take(rows);
    }
}

}  // namespace fg::storage
