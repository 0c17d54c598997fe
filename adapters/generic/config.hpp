#pragma once

#include <memory>
#include <string>

#include "src/config/config.hpp"
#include "src/config/section.hpp"

namespace fg::adapters::generic {

/// `[tenant.generic]`: where the tenant's actions go, if anywhere.
struct GenericSettings final : config::CrmSettings {
    std::string actions_url{};  // empty: nothing is sent
    double rps = 5;             // outbound calls per second to actions_url
    /// PEM certificates of a private CA trusted besides the system store, for an https://
    /// actions_url; absolute (a relative path is resolved against the config file's folder).
    std::string ca_file{};
    /// How a deal opens in the tenant's CRM, with `{deal}` for its id; empty: no link.
    std::string deal_url{};

    std::string DealUrl() const override { return deal_url; }
};

/// Reads `[tenant.generic]` (optional) through `tenant`, reporting every problem.
std::shared_ptr<const config::CrmSettings> ParseSettings(config::TableReader& tenant,
                                                         const std::string& base_dir);

/// The tenant's settings; the defaults when it has none.
const GenericSettings& SettingsOf(const config::TenantConfig& tenant);

}  // namespace fg::adapters::generic
