// Customer data and tokens are the owner's only, whatever the umask.
#include <string>

#include <doctest/doctest.h>
#include <sys/stat.h>

#include "adapters/amocrm/api/oauth.hpp"
#include "src/storage/store.hpp"
#include "tests/support/process.hpp"

namespace {

using fg::testing::TempDir;

// umask(0) for one test: whatever is created gets exactly the mode its creator asked for.
class PermissiveUmask {
public:
    PermissiveUmask() : saved_(::umask(0)) {}
    ~PermissiveUmask() { ::umask(saved_); }
    PermissiveUmask(const PermissiveUmask&) = delete;
    PermissiveUmask& operator=(const PermissiveUmask&) = delete;

private:
    mode_t saved_;
};

unsigned Mode(const std::string& path) {
    struct stat info {};
    REQUIRE_MESSAGE(::stat(path.c_str(), &info) == 0, path);
    return info.st_mode & 07777;
}

TEST_CASE("The database and its -wal and -shm are created 0600 under umask 0") {
    PermissiveUmask umask;
    TempDir dir;
    const std::string path = dir.File("fg.db");
    auto db = fg::storage::OpenDatabase(path);
    REQUIRE(db);
    {
        fg::storage::WriteTransaction transaction(**db);
        fg::storage::SetMeta(**db, "acme", "k", "v");
        transaction.Commit();
    }
    CHECK(Mode(path) == 0600);
    CHECK(Mode(path + "-wal") == 0600);
    CHECK(Mode(path + "-shm") == 0600);
    auto reader = fg::storage::OpenDatabase(path, /*read_only=*/true);
    REQUIRE(reader);
    CHECK(Mode(path) == 0600);
}

TEST_CASE("An existing database keeps the mode its operator gave it") {
    PermissiveUmask umask;
    TempDir dir;
    const std::string path = dir.File("fg.db");
    REQUIRE(fg::storage::OpenDatabase(path));
    REQUIRE(::chmod(path.c_str(), 0640) == 0);
    REQUIRE(fg::storage::OpenDatabase(path));
    CHECK(Mode(path) == 0640);
}

TEST_CASE("Token files are 0600 in a folder created 0700 under umask 0") {
    PermissiveUmask umask;
    TempDir dir;
    const std::string folder = dir.File("funnelguard-tokens");
    fg::adapters::amocrm::FileTokenStore store(folder + "/acme.amocrm.json");
    REQUIRE(store.Save({.access_token = "a", .refresh_token = "r", .expires_at = {}}));
    CHECK(Mode(folder) == 0700);
    CHECK(Mode(store.path()) == 0600);
    REQUIRE(store.Save({.access_token = "a2", .refresh_token = "r2", .expires_at = {}}));
    CHECK(Mode(store.path()) == 0600);
    auto loaded = store.Load();
    REQUIRE(loaded);
    REQUIRE(loaded->has_value());
    CHECK((*loaded)->refresh_token == "r2");
}

}  // namespace
