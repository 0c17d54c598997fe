#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "src/storage/database.hpp"

/// Small per-tenant state (sync cursors, schedule bookkeeping; tenant "" is global) and counts.
/// Throws SQLite::Exception on database errors.
namespace fg::storage {

std::optional<std::string> GetMeta(Db& db, const std::string& tenant, const std::string& key);
void SetMeta(Db& db, const std::string& tenant, const std::string& key, const std::string& value);
void DeleteMeta(Db& db, const std::string& tenant, const std::string& key);

/// Rows of the stage_history table of a tenant (reconciliation reports what it recovered).
std::int64_t CountStageChanges(Db& db, const std::string& tenant);

}  // namespace fg::storage
