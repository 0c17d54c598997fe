#pragma once

#include "src/config/config.hpp"
#include "src/crm/port.hpp"
#include "src/notify/port.hpp"

namespace fg::app {

/// Every CRM adapter of this program, in registration order (the first default one is the crm
/// of a tenant that names none). src/app/adapters.cpp is the only file that names them.
const crm::AdapterList& CrmAdapters();

/// Their config schemas.
config::CrmSchemas CrmSchemas();

/// Every chat notifier of this program, in registration order; listed in the same file.
const notify::NotifierList& Notifiers();

/// The CRM adapters' and the notifiers' schemas, for config::LoadConfig.
config::Schemas ConfigSchemas();

}  // namespace fg::app
