#include "adapters/bitrix24/portal_client.hpp"

#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "adapters/bitrix24/config.hpp"

namespace fg::adapters::bitrix24 {

ClientOptions ClientOptionsFor(const config::TenantConfig& tenant) {
    const Bitrix24Settings& settings = SettingsOf(tenant);
    ClientOptions options;
    options.tenant = tenant.id;
    options.portal_url = settings.portal_url;
    options.webhook_user = settings.webhook_user;
    options.webhook_token = settings.webhook_token;
    options.client_id = settings.client_id;
    options.client_secret = settings.client_secret;
    options.token_file = settings.token_file;
    options.oauth_url = settings.oauth_url;
    options.ca_file = settings.ca_file;
    return options;
}

std::shared_ptr<Client> PortalClient(const config::TenantConfig& tenant, const Clock& clock) {
    // Everything that makes two clients differ; weak, so a new setup (a test, a reload with new
    // credentials) gets a new client.
    using Key = std::tuple<std::string, std::string, std::int64_t, std::string, std::string,
                           std::string, const Clock*>;
    static std::mutex mutex;
    static std::map<Key, std::weak_ptr<Client>> clients;
    const Bitrix24Settings& settings = SettingsOf(tenant);
    const Key key{tenant.id,
                  settings.portal_url,
                  settings.webhook_user,
                  settings.webhook_token,
                  settings.client_id,
                  settings.token_file,
                  &clock};
    const std::lock_guard lock(mutex);
    if (auto client = clients[key].lock()) {
        return client;
    }
    std::erase_if(clients, [](const auto& entry) { return entry.second.expired(); });
    auto client = std::make_shared<Client>(
        ClientOptionsFor(tenant),
        SharedPortalLimiter(settings.portal_url, settings.rate, settings.burst, clock), clock);
    clients[key] = client;
    return client;
}

}  // namespace fg::adapters::bitrix24
