#include "adapters/amocrm/account.hpp"

#include <filesystem>

namespace fg::adapters::amocrm {

std::string TokenPath(const std::string& database_path, const std::string& tenant) {
    const std::filesystem::path database(database_path);
    return (database.parent_path() / "funnelguard-tokens" / (tenant + ".amocrm.json")).string();
}

ClientOptions ClientOptionsFor(const std::string& tenant, const AmoCrmSettings& settings,
                               TokenStore* token_store, const Clock& clock) {
    ClientOptions options;
    options.tenant = tenant;
    options.base_url = settings.base_url;
    options.subdomain = settings.subdomain;
    options.ca_file = settings.ca_file;
    options.token = settings.token;
    if (settings.UsesOAuth()) {
        options.oauth = OAuthApp{.client_id = settings.client_id,
                                 .client_secret = settings.client_secret,
                                 .redirect_uri = settings.redirect_uri};
        options.token_store = token_store;
    }
    options.clock = &clock;
    options.rps = settings.rps;
    return options;
}

}  // namespace fg::adapters::amocrm
