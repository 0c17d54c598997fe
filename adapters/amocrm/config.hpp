#pragma once

#include <memory>
#include <string>

#include "src/config/config.hpp"
#include "src/config/section.hpp"

namespace fg::adapters::amocrm {

/// `[tenant.amocrm]`: the account, its credentials and the pace of calls to it.
struct AmoCrmSettings final : config::CrmSettings {
    std::string subdomain{};  // https://{subdomain}.amocrm.ru
    std::string base_url{};   // wins over subdomain: a simulator, a Kommo domain, a proxy
    std::string token{};      // a long-lived token, or else OAuth 2.0:
    std::string client_id{};
    std::string client_secret{};
    std::string redirect_uri{};
    double rps = 6;  // calls per second to the account, shared by every caller (amoCRM allows 7)
    /// PEM certificates of a private CA trusted besides the system store (an on-premise proxy);
    /// absolute (a relative path is resolved against the config file's folder).
    std::string ca_file{};

    /// The API's address: base_url, or the subdomain's.
    std::string BaseUrl() const {
        return base_url.empty() ? "https://" + subdomain + ".amocrm.ru" : base_url;
    }
    bool UsesOAuth() const { return token.empty(); }
    /// A deal (a "lead") as people open it in the account.
    std::string DealUrl() const override { return BaseUrl() + "/leads/detail/{deal}"; }
};

/// Reads `[tenant.amocrm]` (required) through `tenant`, reporting every problem.
std::shared_ptr<const config::CrmSettings> ParseSettings(config::TableReader& tenant,
                                                         const std::string& base_dir);

/// The tenant's settings (empty ones when the tenant is not an amoCRM tenant).
const AmoCrmSettings& SettingsOf(const config::TenantConfig& tenant);

}  // namespace fg::adapters::amocrm
