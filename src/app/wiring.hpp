#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "src/common/clock.hpp"
#include "src/config/config.hpp"
#include "src/crm/port.hpp"
#include "src/engine/engine.hpp"

namespace fg::app {

/// The composition root: every registered adapter (src/app/adapters.cpp) bound to one loaded
/// config, giving the engine its decoders, connectors, fetchers and sinks.
class Adapters {
public:
    /// `config` and `clock` must outlive this.
    Adapters(const config::AppConfig& config, const Clock& clock);
    ~Adapters();
    Adapters(const Adapters&) = delete;
    Adapters& operator=(const Adapters&) = delete;

    engine::Decoders MakeDecoders();
    /// The connector of a tenant whose CRM has an API; null for one without (generic).
    std::unique_ptr<crm::Connector> MakeConnector(const config::TenantConfig& tenant);
    /// The fetcher of a tenant whose webhooks carry only ids; null for the others.
    std::unique_ptr<crm::Fetcher> MakeFetcher(const config::TenantConfig& tenant);
    /// The action sink of a tenant without a connector, or none.
    outbox::PacedSink MakeSink(const config::TenantConfig& tenant);
    /// The address of the tenant's CRM API, for messages; empty when it has none.
    std::string ApiUrl(const config::TenantConfig& tenant) const;

    /// EngineOptions with the decoders, connectors, fetchers and sinks of this process.
    engine::EngineOptions EngineOptionsFor(const Clock& clock);

private:
    crm::AdapterInstance* InstanceOf(const config::TenantConfig& tenant) const;

    const config::AppConfig& config_;
    std::map<std::string, std::unique_ptr<crm::AdapterInstance>, std::less<>> instances_;
};

/// The adapter of a tenant's crm (the loader accepts only registered names).
const crm::Adapter& AdapterOf(const config::TenantConfig& tenant);

/// The URL a tenant's CRM posts webhooks to, from [server] public_url.
std::string HookUrl(const config::AppConfig& config, const config::TenantConfig& tenant);

/// Loads the config or prints every problem to stderr; nullopt means "exit 2".
std::optional<config::AppConfig> LoadOrReport(const std::string& path);

}  // namespace fg::app
