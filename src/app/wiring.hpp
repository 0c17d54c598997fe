#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "src/common/clock.hpp"
#include "src/config/config.hpp"
#include "src/engine/engine.hpp"

namespace fg::adapters::amocrm {
class CatalogCache;
class TokenStore;
}  // namespace fg::adapters::amocrm

namespace fg::app {

/// The composition root: the only place that names concrete adapters. One per process; each
/// amoCRM account's catalog is shared by its webhook decoder and its connector, so a refresh
/// through the API is what the decoder sees next.
class Adapters {
public:
    /// `config` and `clock` must outlive this.
    Adapters(const config::AppConfig& config, const Clock& clock);
    ~Adapters();
    Adapters(const Adapters&) = delete;
    Adapters& operator=(const Adapters&) = delete;

    engine::Decoders MakeDecoders();
    /// The connector of a tenant whose CRM has an API adapter; null for generic tenants.
    std::unique_ptr<crm::Connector> MakeConnector(const config::TenantConfig& tenant);
    /// The action sink of a generic tenant: its actions_url, or none.
    static std::unique_ptr<outbox::ActionSink> MakeSink(const config::TenantConfig& tenant);

    /// EngineOptions with the decoders, connectors and sinks of this process.
    engine::EngineOptions EngineOptionsFor(const Clock& clock);

    /// Where a tenant's OAuth tokens live: next to the database, never inside it.
    std::string TokenPath(const std::string& tenant) const;
    adapters::amocrm::TokenStore& Tokens(const std::string& tenant);

private:
    std::shared_ptr<adapters::amocrm::CatalogCache> Catalog(const std::string& tenant);

    const config::AppConfig& config_;
    const Clock& clock_;
    std::map<std::string, std::shared_ptr<adapters::amocrm::CatalogCache>> catalogs_;
    std::map<std::string, std::unique_ptr<adapters::amocrm::TokenStore>> token_stores_;
};

/// The URL a tenant's CRM posts webhooks to, from [server] public_url.
std::string HookUrl(const config::AppConfig& config, const config::TenantConfig& tenant);

/// Loads the config or prints every problem to stderr; nullopt means "exit 2".
std::optional<config::AppConfig> LoadOrReport(const std::string& path);

}  // namespace fg::app
