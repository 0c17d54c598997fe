#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include <SQLiteCpp/SQLiteCpp.h>

#include "src/common/result.hpp"
#include "src/storage/failure.hpp"

/// The database: a connection (Db), write transactions, opening with migrations. Every storage
/// function takes the connection to use; the caller owns transactions (one unit of work = one
/// transaction). All SQL binds its values. Functions throw SQLite::Exception on database errors;
/// the caller decides.
namespace fg::storage {

/// One connection plus its prepared-statement cache (hot paths must not re-prepare SQL).
/// Not thread-safe: one Db per thread.
class Db {
public:
    explicit Db(std::unique_ptr<SQLite::Database> sql);
    ~Db();
    Db(const Db&) = delete;
    Db& operator=(const Db&) = delete;

    SQLite::Database& sql() { return *sql_; }
    /// The statement for `sql_text` (a string literal), prepared once per connection and reset
    /// (bindings cleared) before it is returned.
    SQLite::Statement& Prepared(const char* sql_text);

    /// Records what a failed call (its SQLite extended result code) says about the disk; calls
    /// that are not the disk's doing are ignored. WriteTransaction notes its own failures.
    void NoteFailure(int extended_code);
    /// The device failure (I/O error, corruption) this connection saw, kNone until then. It is
    /// kept for good: WriteTransaction refuses to begin after one.
    const Failure& Failed() const { return failed_; }
    /// True when a write ran out of space since the last call.
    bool TakeDiskFull();
    /// Write transactions committed that changed rows: one more means the disk took a write.
    std::int64_t WritesCommitted() const { return writes_committed_; }

private:
    friend class WriteTransaction;

    std::unique_ptr<SQLite::Database> sql_;
    std::unordered_map<const char*, std::unique_ptr<SQLite::Statement>> statements_;
    Failure failed_{};
    bool disk_full_ = false;
    std::int64_t writes_committed_ = 0;
};

/// A write transaction on `db`: BEGIN IMMEDIATE now (so a busy database waits busy_timeout
/// instead of failing when a deferred transaction upgrades), COMMIT on Commit(), ROLLBACK when
/// destroyed uncommitted, which leaves the connection usable after a failed COMMIT (e.g. the
/// disk was full). Throws SQLite::Exception from the constructor and Commit(); the constructor
/// throws at once on a connection that saw the device fail (Db::Failed). Failures are noted on
/// the Db (Db::NoteFailure), including those of statements run inside the transaction.
class WriteTransaction {
public:
    explicit WriteTransaction(Db& db);
    ~WriteTransaction();
    WriteTransaction(const WriteTransaction&) = delete;
    WriteTransaction& operator=(const WriteTransaction&) = delete;

    void Commit();

private:
    Db& db_;
    bool open_ = true;
    std::int64_t changes_at_begin_ = 0;
};

/// Opens (creating if needed) the database: WAL, synchronous=FULL, busy_timeout=5000,
/// foreign_keys=ON, then applies the embedded migrations that have not run yet, each in its own
/// transaction (PRAGMA user_version counts them). A read-only connection skips migrations and
/// requires a database at exactly SchemaVersion(). Errors name the path. A database it creates
/// is mode 0600 whatever the umask, and so are its -wal and -shm (SQLite gives them the
/// database's mode); an existing file keeps its mode.
Result<std::unique_ptr<Db>> OpenDatabase(const std::string& path, bool read_only = false);
/// Number of embedded migrations (the schema version after OpenDatabase).
int SchemaVersion();

}  // namespace fg::storage
