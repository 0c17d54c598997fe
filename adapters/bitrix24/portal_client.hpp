#pragma once

#include <memory>

#include "adapters/bitrix24/api/client.hpp"
#include "src/common/clock.hpp"
#include "src/config/config.hpp"

namespace fg::adapters::bitrix24 {

/// How the tenant's `[tenant.bitrix24]` reaches its portal.
ClientOptions ClientOptionsFor(const config::TenantConfig& tenant);

/// The process's REST client of the tenant's portal on `clock`: the CRM adapter's connector,
/// fetcher and writer and the Bitrix24 notifier share one, so they share its OAuth session (a
/// refresh token is spent by its first use: two sessions on one token_file would lock each
/// other out) and, through SharedPortalLimiter, the portal's leaky bucket with every other
/// tenant of the portal. Kept while anyone holds it. Thread-safe.
std::shared_ptr<Client> PortalClient(const config::TenantConfig& tenant, const Clock& clock);

}  // namespace fg::adapters::bitrix24
