#pragma once

#include <memory>
#include <string>

#include "src/crm/demo_account.hpp"

namespace fg::adapters::bitrix24 {

/// The Bitrix24 simulator with its simulated managers, as `funnelguard demo --crm bitrix24`
/// drives it.
class SimDemoAccount : public crm::DemoAccount {
public:
    /// The token the portal's events carry in auth[application_token]: the demo tenant's
    /// `secret`.
    virtual std::string ApplicationToken() const = 0;
};

std::unique_ptr<SimDemoAccount> MakeDemoAccount(const crm::DemoAccountOptions& options);

}  // namespace fg::adapters::bitrix24
