#include "src/storage/failure.hpp"

#include <cerrno>

#include <fmt/format.h>
#include <sqlite3.h>

namespace fg::storage {
namespace {

const char* IoOperation(int extended_code) {
    switch (extended_code) {
        case SQLITE_IOERR_FSYNC:
            return "fsync";
        case SQLITE_IOERR_DIR_FSYNC:
            return "fsync of the database folder";
        case SQLITE_IOERR_READ:
        case SQLITE_IOERR_SHORT_READ:
            return "read";
        case SQLITE_IOERR_WRITE:
            return "write";
        case SQLITE_IOERR_TRUNCATE:
            return "truncate";
        case SQLITE_IOERR_FSTAT:
            return "fstat";
        case SQLITE_IOERR_SHMOPEN:
        case SQLITE_IOERR_SHMSIZE:
        case SQLITE_IOERR_SHMMAP:
        case SQLITE_IOERR_SHMLOCK:
            return "the -shm file";
        case SQLITE_IOERR_LOCK:
        case SQLITE_IOERR_RDLOCK:
        case SQLITE_IOERR_UNLOCK:
        case SQLITE_IOERR_CHECKRESERVEDLOCK:
            return "lock";
        case SQLITE_IOERR_MMAP:
            return "mmap";
        default:
            return "an I/O call";
    }
}

}  // namespace

Failure ClassifyFailure(int extended_code, int system_errno) {
    const int primary = extended_code & 0xff;
    if (primary == SQLITE_FULL) {
        return {FailureKind::kDiskFull, "the disk is full"};
    }
    if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) {
        return {FailureKind::kCorrupt, "the database file is corrupt; restart required"};
    }
    if (primary != SQLITE_IOERR || extended_code == SQLITE_IOERR_NOMEM) {
        return {};
    }
    const bool fsync =
        extended_code == SQLITE_IOERR_FSYNC || extended_code == SQLITE_IOERR_DIR_FSYNC;
    // SQLite reports a write() that hit ENOSPC as SQLITE_FULL itself, but growing the -shm file
    // or truncating comes back as an I/O error with the errno behind it.
    if (!fsync && (system_errno == ENOSPC || system_errno == EDQUOT)) {
        return {FailureKind::kDiskFull, "the disk is full"};
    }
    return {FailureKind::kIoError,
            fmt::format("storage I/O error on {}; restart required", IoOperation(extended_code))};
}

}  // namespace fg::storage
