#pragma once

/// The embedded migrations (generated from src/storage/migrations/*.sql by CMake). Internal to
/// storage.
namespace fg::storage::detail {

struct Migration {
    const char* name = nullptr;  // "0001_init.sql"
    const char* sql = nullptr;
};

extern const Migration kMigrations[];
extern const int kMigrationCount;

}  // namespace fg::storage::detail
