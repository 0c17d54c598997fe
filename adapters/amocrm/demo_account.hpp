#pragma once

#include <memory>

#include "src/crm/demo_account.hpp"

namespace fg::adapters::amocrm {

/// The amoCRM simulator with its simulated managers, as `funnelguard demo` drives it.
std::unique_ptr<crm::DemoAccount> MakeDemoAccount(const crm::DemoAccountOptions& options);

}  // namespace fg::adapters::amocrm
