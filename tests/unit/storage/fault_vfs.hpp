#pragma once

#include <atomic>

namespace fg::testing {

/// A SQLite VFS over "unix" that fails on command, as a disk does: writes with SQLITE_FULL
/// (errno ENOSPC; SQLite's own answer to a write() that hits ENOSPC) and fsyncs with
/// SQLITE_IOERR_FSYNC (errno EIO). While it lives it is the default VFS, so every connection the
/// code under test opens goes through it, with no test hook in that code. One per process at a
/// time; close every connection before it goes.
class FaultVfs {
public:
    FaultVfs();
    ~FaultVfs();
    FaultVfs(const FaultVfs&) = delete;
    FaultVfs& operator=(const FaultVfs&) = delete;

    /// The disk fills up: after `writes_left` more writes succeed, every write fails.
    void FillDisk(int writes_left = 0);
    /// Space is back.
    void FreeSpace();
    /// Every fsync fails from now on, until HealFsync.
    void FailFsync();
    void HealFsync();

    /// Writes and fsyncs that reached the VFS (failed ones included).
    int writes() const;
    int syncs() const;
};

}  // namespace fg::testing
