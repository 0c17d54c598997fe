#include "src/storage/database.hpp"

#include <cerrno>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <fmt/format.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/storage/migrations.hpp"

namespace fg::storage {
namespace {

bool IsMemoryPath(const std::string& path) {
    return path.empty() || path == ":memory:" || path.rfind("file::memory:", 0) == 0;
}

// SQLite would create the database 0644 less the umask, and it gives the -wal and -shm files the
// database's mode: created here first, 0600 whatever the umask, the customer data in all three is
// the owner's only. An existing file keeps the mode its operator gave it.
Result<void> CreatePrivately(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST) {
            return Ok{};
        }
        return MakeError(ErrorCode::kUnavailable, "database {}: cannot create it: {}", path,
                         std::strerror(errno));
    }
    // open() applies the umask, which may even take the owner's write bit away.
    const bool private_mode = ::fchmod(fd, 0600) == 0;
    const int error = errno;
    ::close(fd);
    if (!private_mode) {
        ::unlink(path.c_str());
        return MakeError(ErrorCode::kUnavailable, "database {}: cannot make it mode 0600: {}", path,
                         std::strerror(error));
    }
    return Ok{};
}

void ApplyMigrations(Db& db) {
    for (;;) {
        // Re-read under the write lock: another process may have migrated meanwhile.
        WriteTransaction transaction(db);
        const int version = db.sql().execAndGet("PRAGMA user_version").getInt();
        if (version >= detail::kMigrationCount) {
            transaction.Commit();
            return;
        }
        db.sql().exec(detail::kMigrations[version].sql);
        db.sql().exec(fmt::format("PRAGMA user_version = {}", version + 1));
        transaction.Commit();
    }
}

}  // namespace

// ---------------------------------------------------------------- Db

Db::Db(std::unique_ptr<SQLite::Database> sql) : sql_(std::move(sql)) {}

Db::~Db() = default;

void Db::NoteFailure(int extended_code) {
    Failure failure = ClassifyFailure(extended_code, sqlite3_system_errno(sql_->getHandle()));
    if (failure.kind == FailureKind::kDiskFull) {
        disk_full_ = true;
    } else if (failure.kind != FailureKind::kNone && failed_.kind == FailureKind::kNone) {
        failed_ = std::move(failure);  // the first cause is the one to report
    }
}

bool Db::TakeDiskFull() { return std::exchange(disk_full_, false); }

SQLite::Statement& Db::Prepared(const char* sql_text) {
    std::unique_ptr<SQLite::Statement>& statement = statements_[sql_text];
    if (!statement) {
        statement = std::make_unique<SQLite::Statement>(*sql_, sql_text);
    } else {
        statement->tryReset();  // the previous use's error, if any, was reported to it
        statement->clearBindings();
    }
    return *statement;
}

namespace {
constexpr const char* kBegin = "BEGIN IMMEDIATE";
constexpr const char* kCommit = "COMMIT";
}  // namespace

WriteTransaction::WriteTransaction(Db& db) : db_(db) {
    // After an fsync failed, the kernel may have dropped pages it could not write and a later
    // fsync would still succeed: nothing this connection commits from then on can be trusted.
    if (db_.failed_.kind != FailureKind::kNone) {
        throw SQLite::Exception(db_.failed_.reason, SQLITE_IOERR);
    }
    try {
        db_.Prepared(kBegin).exec();
    } catch (const SQLite::Exception& error) {
        db_.NoteFailure(error.getExtendedErrorCode());
        throw;
    }
    changes_at_begin_ = sqlite3_total_changes64(db_.sql().getHandle());
}

WriteTransaction::~WriteTransaction() {
    if (!open_) {
        return;
    }
    sqlite3* handle = db_.sql().getHandle();
    // Unwinding from a failed statement: the connection's last error is still that statement's
    // (its Query has only reset it since, which reports the same code).
    db_.NoteFailure(sqlite3_extended_errcode(handle));
    // SQLite may already have rolled back (e.g. after SQLITE_FULL); then there is nothing to undo.
    // Otherwise the ROLLBACK also takes the pager out of its error state, so that the next
    // transaction (once there is space again) starts clean.
    if (sqlite3_get_autocommit(handle) == 0) {
        db_.sql().tryExec("ROLLBACK");
    }
}

void WriteTransaction::Commit() {
    try {
        db_.Prepared(kCommit).exec();
    } catch (const SQLite::Exception& error) {
        db_.NoteFailure(error.getExtendedErrorCode());
        throw;
    }
    open_ = false;
    if (sqlite3_total_changes64(db_.sql().getHandle()) != changes_at_begin_) {
        ++db_.writes_committed_;
    }
}

int SchemaVersion() { return detail::kMigrationCount; }

Result<std::unique_ptr<Db>> OpenDatabase(const std::string& path, bool read_only) {
    if (!read_only && !IsMemoryPath(path)) {
        if (auto created = CreatePrivately(path); !created) {
            return created.error();
        }
    }
    try {
        const int flags =
            (read_only ? SQLite::OPEN_READONLY : SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE) |
            SQLite::OPEN_NOMUTEX;  // one Db per thread
        auto db = std::make_unique<Db>(std::make_unique<SQLite::Database>(path, flags, 5000));
        SQLite::Database& sql = db->sql();
        if (!read_only) {
            // Deal rows run to about a kilobyte: 8 KiB pages hold them with less slack and fewer
            // overflow pages than the default 4 KiB, and a full sweep reads measurably faster.
            // Takes effect only when the database is created (before WAL mode writes a header).
            sql.exec("PRAGMA page_size = 8192");
            const std::string mode = sql.execAndGet("PRAGMA journal_mode = WAL").getString();
            if (mode != "wal" && !IsMemoryPath(path)) {
                return MakeError(ErrorCode::kUnavailable,
                                 "database {}: cannot use WAL (journal_mode is {})", path, mode);
            }
        }
        sql.exec("PRAGMA synchronous = FULL");
        sql.exec("PRAGMA foreign_keys = ON");
        sql.exec("PRAGMA temp_store = MEMORY");
        sql.exec("PRAGMA cache_size = -32768");  // 32 MiB per connection
        if (!read_only) {
            sql.exec("PRAGMA journal_size_limit = 67108864");  // truncate the WAL back to 64 MiB
            ApplyMigrations(*db);
        }
        const int version = sql.execAndGet("PRAGMA user_version").getInt();
        if (version > SchemaVersion()) {
            return MakeError(ErrorCode::kInternal,
                             "database {} has schema version {}, newer than this build's {}", path,
                             version, SchemaVersion());
        }
        if (version < SchemaVersion()) {
            return MakeError(ErrorCode::kUnavailable,
                             "database {} has schema version {}, expected {}: open it read-write "
                             "(e.g. funnelguard serve) once to migrate",
                             path, version, SchemaVersion());
        }
        return db;
    } catch (const SQLite::Exception& error) {
        return MakeError(ErrorCode::kUnavailable, "database {}: {}", path, error.what());
    }
}

}  // namespace fg::storage
