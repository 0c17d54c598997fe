#include "src/app/wiring.hpp"

#include <filesystem>
#include <iostream>

#include "adapters/amocrm/api/connector.hpp"
#include "adapters/amocrm/api/oauth.hpp"
#include "adapters/amocrm/wire/catalog.hpp"
#include "adapters/amocrm/wire/decoder.hpp"
#include "adapters/generic/action_sender.hpp"
#include "adapters/generic/decoder.hpp"

namespace fg::app {

Adapters::Adapters(const config::AppConfig& config, const Clock& clock)
    : config_(config), clock_(clock) {}

Adapters::~Adapters() = default;

std::shared_ptr<adapters::amocrm::CatalogCache> Adapters::Catalog(const std::string& tenant) {
    auto& catalog = catalogs_[tenant];
    if (!catalog) {
        catalog = std::make_shared<adapters::amocrm::CatalogCache>();
    }
    return catalog;
}

engine::Decoders Adapters::MakeDecoders() {
    engine::Decoders decoders;
    auto generic = std::make_unique<adapters::generic::GenericDecoder>();
    decoders.emplace(std::string(generic->Name()), std::move(generic));

    // Every amoCRM tenant's cache exists before the decoder runs, so lookups never insert.
    std::map<std::string, std::shared_ptr<adapters::amocrm::CatalogCache>> caches;
    std::map<std::string, std::string> zones;
    for (const config::TenantConfig& tenant : config_.tenants) {
        if (tenant.crm == "amocrm") {
            caches[tenant.id] = Catalog(tenant.id);
            zones[tenant.id] = tenant.timezone;
        }
    }
    auto amocrm = std::make_unique<adapters::amocrm::AmoDecoder>(
        [caches](const std::string& tenant) -> std::shared_ptr<const adapters::amocrm::Catalog> {
            const auto found = caches.find(tenant);
            return found == caches.end() ? nullptr : found->second->Get();
        },
        [zones](const std::string& tenant) {
            const auto found = zones.find(tenant);
            return found == zones.end() ? std::string{} : found->second;
        });
    decoders.emplace(std::string(amocrm->Name()), std::move(amocrm));
    return decoders;
}

std::string Adapters::TokenPath(const std::string& tenant) const {
    const std::filesystem::path database(config_.storage.path);
    return (database.parent_path() / "funnelguard-tokens" / (tenant + ".amocrm.json")).string();
}

adapters::amocrm::TokenStore& Adapters::Tokens(const std::string& tenant) {
    auto& store = token_stores_[tenant];
    if (!store) {
        store = std::make_unique<adapters::amocrm::FileTokenStore>(TokenPath(tenant));
    }
    return *store;
}

std::unique_ptr<crm::Connector> Adapters::MakeConnector(const config::TenantConfig& tenant) {
    if (tenant.crm != "amocrm") {
        return nullptr;
    }
    adapters::amocrm::ClientOptions options;
    options.tenant = tenant.id;
    options.base_url = tenant.amocrm.base_url;
    options.subdomain = tenant.amocrm.subdomain;
    options.ca_file = tenant.amocrm.ca_file;
    options.token = tenant.amocrm.token;
    if (tenant.amocrm.UsesOAuth()) {
        options.oauth = adapters::amocrm::OAuthApp{.client_id = tenant.amocrm.client_id,
                                                   .client_secret = tenant.amocrm.client_secret,
                                                   .redirect_uri = tenant.amocrm.redirect_uri};
        options.token_store = &Tokens(tenant.id);
    }
    options.clock = &clock_;
    options.rps = tenant.amocrm.rps;
    return std::make_unique<adapters::amocrm::AmoConnector>(std::move(options), Catalog(tenant.id));
}

std::unique_ptr<outbox::ActionSink> Adapters::MakeSink(const config::TenantConfig& tenant) {
    if (tenant.generic.actions_url.empty()) {
        return nullptr;
    }
    return std::make_unique<adapters::generic::ActionSender>(
        tenant.generic.actions_url,
        adapters::generic::SenderOptions{.ca_file = tenant.generic.ca_file});
}

engine::EngineOptions Adapters::EngineOptionsFor(const Clock& clock) {
    engine::EngineOptions options;
    options.config = &config_;
    options.clock = &clock;
    options.decoders = MakeDecoders();
    options.make_sink = MakeSink;
    options.make_connector = [this](const config::TenantConfig& tenant) {
        return MakeConnector(tenant);
    };
    return options;
}

std::string HookUrl(const config::AppConfig& config, const config::TenantConfig& tenant) {
    std::string base = config.server.public_url;
    while (!base.empty() && base.back() == '/') {
        base.pop_back();
    }
    if (tenant.crm == "amocrm") {
        return base + "/hooks/amocrm/" + tenant.id + "/" + tenant.secret;
    }
    return base + "/hooks/" + tenant.crm + "/" + tenant.id;
}

std::optional<config::AppConfig> LoadOrReport(const std::string& path) {
    config::LoadResult loaded = config::LoadConfig(path);
    if (!loaded.ok()) {
        for (const config::ConfigProblem& problem : loaded.problems) {
            std::cerr << config::FormatProblem(problem) << "\n";
        }
        std::cerr << loaded.problems.size() << " problem(s) in the config\n";
        return std::nullopt;
    }
    return std::move(loaded.config);
}

}  // namespace fg::app
