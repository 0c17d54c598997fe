#include "adapters/generic/config.hpp"

#include "src/tls/trust.hpp"

namespace fg::adapters::generic {

std::shared_ptr<const config::CrmSettings> ParseSettings(config::TableReader& tenant,
                                                         const std::string& base_dir) {
    auto settings = std::make_shared<GenericSettings>();
    const toml::table* table = tenant.Table("generic");
    if (table == nullptr) {
        return settings;
    }
    config::TableReader reader(*table, tenant.Path("generic"), tenant.sink(),
                               tenant.Line("generic"));
    if (auto url = reader.String("actions_url")) {
        if (!url->empty() && !config::IsHttpUrl(*url)) {
            reader.Problem("actions_url", "must be an http:// or https:// URL");
        } else if (!url->empty() && !config::PartsOf(*url).https &&
                   config::PartsOf(*url).has_userinfo &&
                   !tls::IsLoopbackHost(config::PartsOf(*url).host)) {
            // The payload may go over a private network in clear; a password may not.
            reader.Problem("actions_url",
                           "http:// with user:password@ would send the password unencrypted: use "
                           "https://, or http:// to a loopback address");
        } else {
            settings->actions_url = *url;
        }
    }
    if (auto ca_file = config::ReadCaFile(reader, base_dir)) {
        if (settings->actions_url.empty() || !config::PartsOf(settings->actions_url).https) {
            reader.Problem("ca_file", "is for an https:// actions_url");
        } else {
            settings->ca_file = *ca_file;
        }
    }
    if (auto rps = reader.Number("rps")) {
        if (!(*rps > 0)) {
            reader.Problem("rps", "must be greater than 0");
        } else {
            settings->rps = *rps;
        }
    }
    if (auto url = reader.String("deal_url")) {
        // Built from parts: GCC 12 -O2 reports a false -Wstringop-overflow on replace() here.
        const auto at = url->find("{deal}");
        const std::string example =
            at == std::string::npos ? *url : url->substr(0, at) + "1" + url->substr(at + 6);
        if (url->find("{deal}") == std::string::npos) {
            reader.Problem("deal_url",
                           "must contain {deal}, where the deal's id goes (e.g. "
                           "\"https://crm.example.com/deals/{deal}\")");
        } else if (!config::IsHttpUrl(example)) {
            reader.Problem("deal_url", "must be an http:// or https:// URL");
        } else {
            settings->deal_url = *url;
        }
    }
    reader.RejectUnknownKeys();
    return settings;
}

const GenericSettings& SettingsOf(const config::TenantConfig& tenant) {
    static const GenericSettings kDefaults{};
    const GenericSettings* settings = tenant.CrmSettingsAs<GenericSettings>();
    return settings != nullptr ? *settings : kDefaults;
}

}  // namespace fg::adapters::generic
