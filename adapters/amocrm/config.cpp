#include "adapters/amocrm/config.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "src/tls/trust.hpp"

namespace fg::adapters::amocrm {
namespace {

bool IsValidSubdomain(std::string_view name) {
    return !name.empty() && name.size() <= 63 && name.front() != '-' && name.back() != '-' &&
           std::all_of(name.begin(), name.end(), [](char c) {
               return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
           });
}

// amoCRM's limit is 7 requests per second per integration; going over it repeatedly gets the
// account blocked (reference/amocrm.md §4), so config may not ask for more.
constexpr double kAmoCrmMaxRps = 7;

}  // namespace

std::shared_ptr<const config::CrmSettings> ParseSettings(config::TableReader& tenant,
                                                         const std::string& base_dir) {
    auto settings = std::make_shared<AmoCrmSettings>();
    AmoCrmSettings& config = *settings;
    const toml::table* table = tenant.Table("amocrm");
    if (table == nullptr) {
        tenant.sink().Add(tenant.line(), tenant.Path("amocrm"),
                          "an amocrm tenant needs [tenant.amocrm] with subdomain (or base_url) "
                          "and token (or client_id, client_secret and redirect_uri)");
        return settings;
    }
    config::TableReader reader(*table, tenant.Path("amocrm"), tenant.sink(), tenant.Line("amocrm"));
    if (auto subdomain = reader.String("subdomain")) {
        if (!IsValidSubdomain(*subdomain)) {
            reader.Problem("subdomain",
                           fmt::format("invalid subdomain \"{}\" (the part before .amocrm.ru, "
                                       "e.g. \"acme\" for acme.amocrm.ru)",
                                       *subdomain));
        } else {
            config.subdomain = *subdomain;
        }
    }
    if (auto url = reader.String("base_url")) {
        if (!config::IsHttpUrl(*url)) {
            reader.Problem("base_url", "must be an http:// or https:// URL");
        } else if (!config::PartsOf(*url).https &&
                   !tls::IsLoopbackHost(config::PartsOf(*url).host)) {
            // amoCRM accounts are HTTPS only; plain http elsewhere would carry the token in clear.
            reader.Problem("base_url",
                           "http:// would send the token unencrypted: use https://, or http:// "
                           "to a loopback address only (a simulator, a local proxy)");
        } else {
            config.base_url = *url;
            while (!config.base_url.empty() && config.base_url.back() == '/') {
                config.base_url.pop_back();
            }
        }
    }
    if (table->get("subdomain") == nullptr && table->get("base_url") == nullptr) {
        reader.Problem("subdomain", "required: the account's subdomain (or base_url)");
    }
    const std::pair<const char*, std::string*> credentials[] = {
        {"token", &config.token},
        {"client_id", &config.client_id},
        {"client_secret", &config.client_secret},
        {"redirect_uri", &config.redirect_uri},
    };
    for (const auto& [key, field] : credentials) {
        if (auto value = reader.String(key)) {
            if (value->empty()) {
                reader.Problem(key, "must not be empty");
            }
            *field = *value;
        }
    }
    const bool any_oauth = table->get("client_id") != nullptr ||
                           table->get("client_secret") != nullptr ||
                           table->get("redirect_uri") != nullptr;
    if (table->get("token") != nullptr && any_oauth) {
        reader.Problem("token",
                       "set either token (a long-lived token) or client_id, client_secret and "
                       "redirect_uri (OAuth 2.0), not both");
    } else if (table->get("token") == nullptr) {
        for (const auto* key : {"client_id", "client_secret", "redirect_uri"}) {
            if (table->get(key) == nullptr) {
                reader.Problem(key, any_oauth ? "required for OAuth 2.0 (with client_id, "
                                                "client_secret and redirect_uri)"
                                              : "required: token, or client_id, client_secret "
                                                "and redirect_uri for OAuth 2.0");
                if (!any_oauth) {
                    break;
                }
            }
        }
    }
    if (!config.redirect_uri.empty() && !config::IsHttpUrl(config.redirect_uri)) {
        reader.Problem("redirect_uri", "must be an http:// or https:// URL");
    }
    if (auto ca_file = config::ReadCaFile(reader, base_dir)) {
        if (!config.base_url.empty() && !config::PartsOf(config.base_url).https) {
            reader.Problem("ca_file", "is for an https:// base_url; this one is http://");
        } else {
            config.ca_file = *ca_file;
        }
    }
    if (auto rps = reader.Number("rps")) {
        if (!(*rps > 0) || *rps > kAmoCrmMaxRps) {
            reader.Problem("rps",
                           "must be greater than 0 and at most 7 (amoCRM's limit; going "
                           "over it gets the account blocked)");
        } else {
            config.rps = *rps;
        }
    }
    reader.RejectUnknownKeys();
    return settings;
}

const AmoCrmSettings& SettingsOf(const config::TenantConfig& tenant) {
    static const AmoCrmSettings kNone{};
    const AmoCrmSettings* settings = tenant.CrmSettingsAs<AmoCrmSettings>();
    return settings != nullptr ? *settings : kNone;
}

}  // namespace fg::adapters::amocrm
