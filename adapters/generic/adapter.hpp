#pragma once

#include "src/crm/port.hpp"

namespace fg::adapters::generic {

/// The generic adapter: JSON events (DESIGN.md §3) from any system, authenticated by a bearer
/// token, with actions posted to the tenant's actions_url. It has no CRM API to read.
const crm::Adapter& Adapter();

}  // namespace fg::adapters::generic
