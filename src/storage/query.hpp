#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <SQLiteCpp/SQLiteCpp.h>

#include "src/common/time.hpp"
#include "src/storage/database.hpp"

/// Statement helpers the storage files share (not part of the storage API).
namespace fg::storage::detail {

// A cached statement in use. Resetting it when the use ends matters: a statement stepped to a row
// but not to its end keeps its read transaction, and so an old snapshot, open on the connection.
class Query {
public:
    Query(Db& db, const char* sql) : statement_(db.Prepared(sql)) {}
    ~Query() { statement_.tryReset(); }
    Query(const Query&) = delete;
    Query& operator=(const Query&) = delete;

    SQLite::Statement* operator->() { return &statement_; }
    SQLite::Statement& operator*() { return statement_; }

private:
    SQLite::Statement& statement_;
};

// Binds text without copying it: the caller's string outlives the statement's use. Temporaries
// would not, hence the deleted overload.
inline void BindText(SQLite::Statement& statement, int index, const std::string& text) {
    statement.bindNoCopy(index, text);
}
inline void BindText(SQLite::Statement& statement, int index, const std::string&& text) = delete;

inline void BindTime(SQLite::Statement& statement, int index, Timestamp at) {
    statement.bind(index, static_cast<std::int64_t>(ToEpoch(at)));
}

inline void BindOptionalTime(SQLite::Statement& statement, int index, std::optional<Timestamp> at) {
    if (at) {
        BindTime(statement, index, *at);
    } else {
        statement.bind(index);
    }
}

inline void BindOptionalInt(SQLite::Statement& statement, int index,
                            std::optional<std::int64_t> value) {
    if (value) {
        statement.bind(index, *value);
    } else {
        statement.bind(index);
    }
}

inline std::optional<Timestamp> OptionalTime(const SQLite::Column& column) {
    if (column.isNull()) {
        return std::nullopt;
    }
    return FromEpoch(column.getInt64());
}

inline std::optional<std::int64_t> OptionalInt(const SQLite::Column& column) {
    if (column.isNull()) {
        return std::nullopt;
    }
    return column.getInt64();
}

}  // namespace fg::storage::detail
