#pragma once

#include <string>

namespace fg::storage {

/// What a failed SQLite call says about the disk under the database.
enum class FailureKind {
    kNone,      // not the disk's doing: a constraint, a busy lock, memory, a bug
    kDiskFull,  // no space (SQLITE_FULL, or an I/O error with errno ENOSPC/EDQUOT): passes
    kIoError,   // the device failed (SQLITE_IOERR_*, e.g. fsync): what it holds is in doubt
    kCorrupt,   // SQLITE_CORRUPT, SQLITE_NOTADB
};

struct Failure {
    FailureKind kind = FailureKind::kNone;
    /// For /healthz and the log, e.g. "storage I/O error on fsync; restart required".
    std::string reason{};
};

/// Classifies an SQLite extended result code with the OS errno behind it
/// (sqlite3_system_errno). An fsync that failed is an I/O error whatever its errno: the kernel
/// may have dropped the dirty pages it could not write, and a later fsync would not say so.
Failure ClassifyFailure(int extended_code, int system_errno);

}  // namespace fg::storage
