#pragma once

#include "src/crm/port.hpp"

namespace fg::adapters::amocrm {

/// The amoCRM (Kommo) adapter: form-encoded webhooks to a secret URL, API v4 for the
/// directory, reconciliation and write-back, OAuth 2.0 or a long-lived token, and the
/// simulator (`sim amocrm`).
const crm::Adapter& Adapter();

}  // namespace fg::adapters::amocrm
