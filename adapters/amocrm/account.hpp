#pragma once

#include <string>

#include "adapters/amocrm/api/client.hpp"
#include "adapters/amocrm/api/oauth.hpp"
#include "adapters/amocrm/config.hpp"

namespace fg::adapters::amocrm {

/// Where a tenant's OAuth tokens live: next to the database, never inside it.
std::string TokenPath(const std::string& database_path, const std::string& tenant);

/// How the API client reaches the tenant's account; `token_store` (used with OAuth) and `clock`
/// must outlive the client.
ClientOptions ClientOptionsFor(const std::string& tenant, const AmoCrmSettings& settings,
                               TokenStore* token_store, const Clock& clock);

}  // namespace fg::adapters::amocrm
