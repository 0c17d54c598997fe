#pragma once

#include "src/config/config.hpp"
#include "src/crm/port.hpp"

namespace fg::app {

/// Every CRM adapter of this program, in registration order (the first default one is the crm
/// of a tenant that names none). src/app/adapters.cpp is the only file that names them.
const crm::AdapterList& CrmAdapters();

/// Their config schemas, for config::LoadConfig.
config::CrmSchemas CrmSchemas();

}  // namespace fg::app
