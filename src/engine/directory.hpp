#pragma once

#include <optional>
#include <string>
#include <vector>

#include "src/config/config.hpp"
#include "src/crm/connector.hpp"
#include "src/storage/store.hpp"

namespace fg::engine {

/// A CRM tenant's directory (pipelines from the CRM's API, user names) survives restarts in the
/// meta table, so rules can judge before the first API call succeeds and `check` works offline.
void StoreDirectory(storage::Db& db, const std::string& tenant, const crm::Directory& directory);
std::optional<crm::Directory> LoadDirectory(storage::Db& db, const std::string& tenant);

/// Gives a tenant whose pipelines come from its CRM's API the pipelines of its directory.
void ApplyDirectory(config::TenantConfig& tenant, const crm::Directory& directory);
/// The stages and fields a tenant's rules name that its CRM's directory lacks (config::CheckNames
/// against the directory's pipelines and field names).
std::vector<config::ConfigProblem> CheckNames(const config::TenantConfig& tenant,
                                              const crm::Directory& directory);
/// Applies every stored directory to the CRM tenants of `config`.
void ApplyStoredDirectories(storage::Db& db, config::AppConfig& config);

}  // namespace fg::engine
