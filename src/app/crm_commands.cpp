// Commands that talk to a tenant's CRM account: connect, disconnect, amocrm auth.
#include <iostream>

#include <fmt/format.h>

#include "adapters/amocrm/api/client.hpp"
#include "adapters/amocrm/api/oauth.hpp"
#include "src/app/commands.hpp"
#include "src/app/wiring.hpp"
#include "src/common/log.hpp"

namespace fg::app {
namespace {

// The tenant of a command that needs a CRM connector, or an explanation on stderr.
const config::TenantConfig* CrmTenant(const config::AppConfig& config, const std::string& id,
                                      const char* command) {
    const config::TenantConfig* tenant = config.FindTenant(id);
    if (tenant == nullptr) {
        std::cerr << command << ": unknown tenant \"" << id << "\"\n";
        return nullptr;
    }
    if (tenant->crm == "generic") {
        std::cerr << command << ": tenant \"" << id
                  << "\" uses the generic adapter, which has no CRM account to talk to\n";
        return nullptr;
    }
    return tenant;
}

}  // namespace

int RunConnect(const TenantCommand& command, bool connect) {
    const char* name = connect ? "connect" : "disconnect";
    auto config = LoadOrReport(command.config);
    if (!config) {
        return 2;
    }
    const config::TenantConfig* tenant = CrmTenant(*config, command.tenant, name);
    if (tenant == nullptr) {
        return 2;
    }
    if (config->server.public_url.empty()) {
        std::cerr << name << ": " << command.config
                  << ": server.public_url: required: the address the CRM reaches funnelguard at\n";
        return 2;
    }
    SetupLogging("warn");
    SystemClock clock;
    Adapters adapters(*config, clock);
    std::unique_ptr<crm::Connector> connector = adapters.MakeConnector(*tenant);
    const std::string url = HookUrl(*config, *tenant);
    const Result<void> done = connect ? connector->Connect(url) : connector->Disconnect(url);
    // The hook URL holds the tenant's secret: print where it points, never the secret.
    const std::string shown = url.substr(0, url.rfind('/') + 1) + "***";
    if (!done) {
        std::cerr << fmt::format("{}: {}: {}\n", name, tenant->id, done.error().message);
        return 1;
    }
    std::cout << fmt::format("{}: {}: webhook {} {}\n", name, tenant->id, shown,
                             connect ? "registered" : "removed");
    return 0;
}

int RunAmoAuth(const AmoAuthCommand& command) {
    auto config = LoadOrReport(command.config);
    if (!config) {
        return 2;
    }
    const config::TenantConfig* tenant = CrmTenant(*config, command.tenant, "amocrm auth");
    if (tenant == nullptr) {
        return 2;
    }
    if (tenant->crm != "amocrm" || !tenant->amocrm.UsesOAuth()) {
        std::cerr << "amocrm auth: tenant \"" << tenant->id
                  << "\" is not an amoCRM tenant with client_id, client_secret and redirect_uri\n";
        return 2;
    }
    SetupLogging("warn");
    SystemClock clock;
    Adapters adapters(*config, clock);
    adapters::amocrm::ClientOptions options;
    options.tenant = tenant->id;
    options.base_url = tenant->amocrm.base_url;
    options.subdomain = tenant->amocrm.subdomain;
    options.ca_file = tenant->amocrm.ca_file;
    options.oauth = adapters::amocrm::OAuthApp{.client_id = tenant->amocrm.client_id,
                                               .client_secret = tenant->amocrm.client_secret,
                                               .redirect_uri = tenant->amocrm.redirect_uri};
    options.token_store = &adapters.Tokens(tenant->id);
    options.clock = &clock;
    if (auto done = adapters::amocrm::AuthorizeWithCode(options, command.code); !done) {
        std::cerr << "amocrm auth: " << tenant->id << ": " << done.error().message << "\n";
        return 1;
    }
    std::cout << fmt::format("amocrm auth: {}: tokens saved to {}\n", tenant->id,
                             adapters.TokenPath(tenant->id));
    return 0;
}

}  // namespace fg::app
