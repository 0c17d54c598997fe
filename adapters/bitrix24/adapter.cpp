#include "adapters/bitrix24/adapter.hpp"

#include <map>

#include "adapters/bitrix24/api/catalog.hpp"
#include "adapters/bitrix24/api/client.hpp"
#include "adapters/bitrix24/api/connector.hpp"
#include "adapters/bitrix24/api/fetcher.hpp"
#include "adapters/bitrix24/api/limiter.hpp"
#include "adapters/bitrix24/config.hpp"
#include "adapters/bitrix24/demo_account.hpp"
#include "adapters/bitrix24/portal_client.hpp"
#include "adapters/bitrix24/sim/command.hpp"
#include "adapters/bitrix24/wire/decoder.hpp"

namespace fg::adapters::bitrix24 {
namespace {

// One process's Bitrix24 portals: each tenant's client (its limiter and OAuth session) and
// catalog are shared by its connector and its fetcher. The client is the process's
// (PortalClient), so the Bitrix24 notifier and two tenants of one portal share its bucket.
class Bitrix24Instance final : public crm::AdapterInstance {
public:
    Bitrix24Instance(const config::AppConfig& config, const Clock& clock) : clock_(clock) {
        for (const config::TenantConfig& tenant : config.tenants) {
            const Bitrix24Settings* settings = tenant.CrmSettingsAs<Bitrix24Settings>();
            if (settings == nullptr) {
                continue;
            }
            Portal& portal = portals_[tenant.id];
            portal.client = PortalClient(tenant, clock_);
            portal.catalog = std::make_shared<CatalogCache>();
            portal.context = MapContext{.tenant = tenant.id,
                                        .time_zone = tenant.timezone,
                                        .catalog = nullptr,
                                        .deal_tasks = settings->deal_tasks};
            portal.tasks_as = settings->write_tasks_as;
        }
    }

    std::unique_ptr<crm::WebhookDecoder> MakeDecoder() override {
        return std::make_unique<Bitrix24Decoder>();
    }

    std::unique_ptr<crm::Connector> MakeConnector(const config::TenantConfig& tenant) override {
        const auto found = portals_.find(tenant.id);
        if (found == portals_.end()) {
            return nullptr;
        }
        Portal& portal = found->second;
        return std::make_unique<Bitrix24Connector>(portal.client, portal.catalog, portal.context,
                                                   portal.tasks_as);
    }

    std::unique_ptr<crm::Fetcher> MakeFetcher(const config::TenantConfig& tenant) override {
        const auto found = portals_.find(tenant.id);
        if (found == portals_.end()) {
            return nullptr;
        }
        Portal& portal = found->second;
        // The directory refresh of an unknown stage goes through a connector of its own: same
        // client, same catalog, so the tenant's other users see the refreshed catalog.
        auto refresher = std::make_shared<Bitrix24Connector>(portal.client, portal.catalog,
                                                             portal.context, portal.tasks_as);
        return std::make_unique<Bitrix24Fetcher>(
            portal.client, portal.catalog, portal.context,
            [refresher] { return refresher->RefreshCatalog(); });
    }

    std::string ApiUrl(const config::TenantConfig& tenant) const override {
        return SettingsOf(tenant).portal_url;
    }

private:
    struct Portal {
        std::shared_ptr<Client> client{};
        std::shared_ptr<CatalogCache> catalog{};
        MapContext context{};
        WriteTasksAs tasks_as = WriteTasksAs::kTodo;
    };

    const Clock& clock_;
    std::map<std::string, Portal> portals_;
};

class Bitrix24Adapter final : public crm::Adapter {
public:
    std::string_view Name() const override { return "bitrix24"; }
    config::CrmSchema Schema() const override { return bitrix24::Schema(); }
    // Bitrix24 signs nothing: its events carry the handler's application token in the body.
    crm::Credential WebhookCredential() const override { return crm::Credential::kBodyToken; }
    std::string BodyToken(std::string_view body) const override { return ApplicationToken(body); }
    std::string ForeignAccount(const config::TenantConfig& tenant,
                               std::string_view body) const override {
        const Bitrix24Settings& settings = SettingsOf(tenant);
        return ForeignPortal(body, settings.domain, settings.member_id);
    }
    std::string Scrub(std::string body) const override { return ScrubTokens(body); }
    std::string_view MediaType() const override { return "application/x-www-form-urlencoded"; }
    std::string RefusedMediaType(std::string_view type) const override {
        if (type == "application/json" || type.ends_with("+json")) {
            return std::string(type) +
                   ": Bitrix24 events are application/x-www-form-urlencoded (generic JSON "
                   "events go to /hooks/generic/<tenant>)";
        }
        return {};
    }
    std::unique_ptr<crm::AdapterInstance> Bind(const config::AppConfig& config,
                                               const Clock& clock) const override {
        return std::make_unique<Bitrix24Instance>(config, clock);
    }
    std::unique_ptr<crm::DemoAccount> MakeDemoAccount(
        const crm::DemoAccountOptions& options) const override {
        return bitrix24::MakeDemoAccount(options);
    }
    void AddCommands(CLI::App& root, CLI::App& sim, const crm::CommandContext& context,
                     int& exit_code) const override {
        (void)root;
        (void)context;
        sim::AddSimCommand(sim, exit_code);
    }
};

}  // namespace

const crm::Adapter& Adapter() {
    static const Bitrix24Adapter adapter;
    return adapter;
}

}  // namespace fg::adapters::bitrix24
