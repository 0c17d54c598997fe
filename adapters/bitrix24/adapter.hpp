#pragma once

#include "src/crm/port.hpp"

namespace fg::adapters::bitrix24 {

/// The Bitrix24 adapter: `crm = "bitrix24"`, `[tenant.bitrix24]`, /hooks/bitrix24/<tenant> with
/// the tenant's secret in auth[application_token].
const crm::Adapter& Adapter();

}  // namespace fg::adapters::bitrix24
