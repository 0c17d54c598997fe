#include "tests/unit/storage/fault_vfs.hpp"

#include <cerrno>
#include <stdexcept>

#include <sqlite3.h>

namespace fg::testing {
namespace {

constexpr int kNoFault = -1;

std::atomic<int> writes_left{kNoFault};  // kNoFault: the disk has space
std::atomic<bool> fsync_fails{false};
std::atomic<int> write_count{0};
std::atomic<int> sync_count{0};

sqlite3_vfs* real_vfs = nullptr;
sqlite3_vfs fault_vfs{};

// The real file follows ours in the memory SQLite allocates (szOsFile covers both).
struct FaultFile {
    sqlite3_file base;
    sqlite3_file* real;
};

sqlite3_file* Real(sqlite3_file* file) { return reinterpret_cast<FaultFile*>(file)->real; }

bool DiskFull() {
    int left = writes_left.load();
    while (left != kNoFault) {
        if (left == 0) {
            return true;
        }
        if (writes_left.compare_exchange_weak(left, left - 1)) {
            return false;
        }
    }
    return false;
}

int Close(sqlite3_file* file) { return Real(file)->pMethods->xClose(Real(file)); }
int Read(sqlite3_file* file, void* buffer, int amount, sqlite3_int64 offset) {
    return Real(file)->pMethods->xRead(Real(file), buffer, amount, offset);
}
int Write(sqlite3_file* file, const void* buffer, int amount, sqlite3_int64 offset) {
    ++write_count;
    if (DiskFull()) {
        errno = ENOSPC;
        return SQLITE_FULL;
    }
    return Real(file)->pMethods->xWrite(Real(file), buffer, amount, offset);
}
int Truncate(sqlite3_file* file, sqlite3_int64 size) {
    return Real(file)->pMethods->xTruncate(Real(file), size);
}
int Sync(sqlite3_file* file, int flags) {
    ++sync_count;
    if (fsync_fails) {
        errno = EIO;
        return SQLITE_IOERR_FSYNC;
    }
    return Real(file)->pMethods->xSync(Real(file), flags);
}
int FileSize(sqlite3_file* file, sqlite3_int64* size) {
    return Real(file)->pMethods->xFileSize(Real(file), size);
}
int Lock(sqlite3_file* file, int level) { return Real(file)->pMethods->xLock(Real(file), level); }
int Unlock(sqlite3_file* file, int level) {
    return Real(file)->pMethods->xUnlock(Real(file), level);
}
int CheckReservedLock(sqlite3_file* file, int* out) {
    return Real(file)->pMethods->xCheckReservedLock(Real(file), out);
}
int FileControl(sqlite3_file* file, int op, void* arg) {
    return Real(file)->pMethods->xFileControl(Real(file), op, arg);
}
int SectorSize(sqlite3_file* file) { return Real(file)->pMethods->xSectorSize(Real(file)); }
int DeviceCharacteristics(sqlite3_file* file) {
    return Real(file)->pMethods->xDeviceCharacteristics(Real(file));
}
int ShmMap(sqlite3_file* file, int page, int page_size, int extend, void volatile** out) {
    return Real(file)->pMethods->xShmMap(Real(file), page, page_size, extend, out);
}
int ShmLock(sqlite3_file* file, int offset, int n, int flags) {
    return Real(file)->pMethods->xShmLock(Real(file), offset, n, flags);
}
void ShmBarrier(sqlite3_file* file) { Real(file)->pMethods->xShmBarrier(Real(file)); }
int ShmUnmap(sqlite3_file* file, int delete_flag) {
    return Real(file)->pMethods->xShmUnmap(Real(file), delete_flag);
}
int Fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
    return Real(file)->pMethods->xFetch(Real(file), offset, amount, out);
}
int Unfetch(sqlite3_file* file, sqlite3_int64 offset, void* page) {
    return Real(file)->pMethods->xUnfetch(Real(file), offset, page);
}

const sqlite3_io_methods kMethods = {
    3,
    Close,
    Read,
    Write,
    Truncate,
    Sync,
    FileSize,
    Lock,
    Unlock,
    CheckReservedLock,
    FileControl,
    SectorSize,
    DeviceCharacteristics,
    ShmMap,
    ShmLock,
    ShmBarrier,
    ShmUnmap,
    Fetch,
    Unfetch,
};

int Open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
    auto* fault = reinterpret_cast<FaultFile*>(file);
    fault->real = reinterpret_cast<sqlite3_file*>(fault + 1);
    const int rc = real_vfs->xOpen(real_vfs, name, fault->real, flags, out_flags);
    // SQLite calls xClose only on files whose pMethods is set.
    fault->base.pMethods =
        rc == SQLITE_OK && fault->real->pMethods != nullptr ? &kMethods : nullptr;
    return rc;
}
int Delete(sqlite3_vfs*, const char* name, int sync_dir) {
    return real_vfs->xDelete(real_vfs, name, sync_dir);
}
int Access(sqlite3_vfs*, const char* name, int flags, int* out) {
    return real_vfs->xAccess(real_vfs, name, flags, out);
}
int FullPathname(sqlite3_vfs*, const char* name, int size, char* out) {
    return real_vfs->xFullPathname(real_vfs, name, size, out);
}
void* DlOpen(sqlite3_vfs*, const char* name) { return real_vfs->xDlOpen(real_vfs, name); }
void DlError(sqlite3_vfs*, int size, char* out) { real_vfs->xDlError(real_vfs, size, out); }
void (*DlSym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
    return real_vfs->xDlSym(real_vfs, handle, symbol);
}
void DlClose(sqlite3_vfs*, void* handle) { real_vfs->xDlClose(real_vfs, handle); }
int Randomness(sqlite3_vfs*, int size, char* out) {
    return real_vfs->xRandomness(real_vfs, size, out);
}
int Sleep(sqlite3_vfs*, int microseconds) { return real_vfs->xSleep(real_vfs, microseconds); }
int CurrentTime(sqlite3_vfs*, double* out) { return real_vfs->xCurrentTime(real_vfs, out); }
int GetLastError(sqlite3_vfs*, int size, char* out) {
    return real_vfs->xGetLastError(real_vfs, size, out);
}
int CurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) {
    return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

}  // namespace

FaultVfs::FaultVfs() {
    real_vfs = sqlite3_vfs_find("unix");
    if (real_vfs == nullptr || fault_vfs.zName != nullptr) {
        throw std::logic_error("FaultVfs: no unix VFS, or a FaultVfs exists already");
    }
    fault_vfs = sqlite3_vfs{};
    fault_vfs.iVersion = 2;
    fault_vfs.szOsFile = static_cast<int>(sizeof(FaultFile)) + real_vfs->szOsFile;
    fault_vfs.mxPathname = real_vfs->mxPathname;
    fault_vfs.zName = "fg-fault";
    fault_vfs.xOpen = Open;
    fault_vfs.xDelete = Delete;
    fault_vfs.xAccess = Access;
    fault_vfs.xFullPathname = FullPathname;
    fault_vfs.xDlOpen = DlOpen;
    fault_vfs.xDlError = DlError;
    fault_vfs.xDlSym = DlSym;
    fault_vfs.xDlClose = DlClose;
    fault_vfs.xRandomness = Randomness;
    fault_vfs.xSleep = Sleep;
    fault_vfs.xCurrentTime = CurrentTime;
    fault_vfs.xGetLastError = GetLastError;
    fault_vfs.xCurrentTimeInt64 = CurrentTimeInt64;
    FreeSpace();
    HealFsync();
    sqlite3_vfs_register(&fault_vfs, /*makeDflt=*/1);
}

FaultVfs::~FaultVfs() {
    sqlite3_vfs_register(real_vfs, /*makeDflt=*/1);
    sqlite3_vfs_unregister(&fault_vfs);
    fault_vfs = sqlite3_vfs{};
}

void FaultVfs::FillDisk(int writes_left_before) { writes_left = writes_left_before; }
void FaultVfs::FreeSpace() { writes_left = kNoFault; }
void FaultVfs::FailFsync() { fsync_fails = true; }
void FaultVfs::HealFsync() { fsync_fails = false; }
int FaultVfs::writes() const { return write_count; }
int FaultVfs::syncs() const { return sync_count; }

}  // namespace fg::testing
