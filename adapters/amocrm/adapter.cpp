#include "adapters/amocrm/adapter.hpp"

#include <map>

#include "adapters/amocrm/account.hpp"
#include "adapters/amocrm/api/connector.hpp"
#include "adapters/amocrm/commands.hpp"
#include "adapters/amocrm/config.hpp"
#include "adapters/amocrm/demo_account.hpp"
#include "adapters/amocrm/wire/catalog.hpp"
#include "adapters/amocrm/wire/decoder.hpp"

namespace fg::adapters::amocrm {
namespace {

// One process's amoCRM accounts: each tenant's catalog is shared by the webhook decoder and its
// connector, so a refresh through the API is what the decoder sees next.
class AmoInstance final : public crm::AdapterInstance {
public:
    AmoInstance(const config::AppConfig& config, const Clock& clock)
        : config_(config), clock_(clock) {
        for (const config::TenantConfig& tenant : config_.tenants) {
            if (tenant.CrmSettingsAs<AmoCrmSettings>() != nullptr) {
                catalogs_[tenant.id] = std::make_shared<CatalogCache>();
                zones_[tenant.id] = tenant.timezone;
            }
        }
    }

    std::unique_ptr<crm::WebhookDecoder> MakeDecoder() override {
        // Every tenant's cache exists before the decoder runs, so lookups never insert.
        return std::make_unique<AmoDecoder>(
            [caches = catalogs_](const std::string& tenant) -> std::shared_ptr<const Catalog> {
                const auto found = caches.find(tenant);
                return found == caches.end() ? nullptr : found->second->Get();
            },
            [zones = zones_](const std::string& tenant) {
                const auto found = zones.find(tenant);
                return found == zones.end() ? std::string{} : found->second;
            });
    }

    std::unique_ptr<crm::Connector> MakeConnector(const config::TenantConfig& tenant) override {
        const auto catalog = catalogs_.find(tenant.id);
        if (catalog == catalogs_.end()) {
            return nullptr;
        }
        const AmoCrmSettings& settings = SettingsOf(tenant);
        ClientOptions options =
            ClientOptionsFor(tenant.id, settings, TokenStoreOf(tenant.id), clock_);
        return std::make_unique<AmoConnector>(std::move(options), catalog->second);
    }

    std::string ApiUrl(const config::TenantConfig& tenant) const override {
        return SettingsOf(tenant).BaseUrl();
    }

private:
    TokenStore* TokenStoreOf(const std::string& tenant) {
        auto& store = token_stores_[tenant];
        if (!store) {
            store = std::make_unique<FileTokenStore>(TokenPath(config_.storage.path, tenant));
        }
        return store.get();
    }

    const config::AppConfig& config_;
    const Clock& clock_;
    std::map<std::string, std::shared_ptr<CatalogCache>> catalogs_;
    std::map<std::string, std::string> zones_;
    std::map<std::string, std::unique_ptr<TokenStore>> token_stores_;
};

class AmoAdapter final : public crm::Adapter {
public:
    std::string_view Name() const override { return "amocrm"; }
    config::CrmSchema Schema() const override {
        return {.name = "amocrm",
                .is_default = false,
                .pipelines_from_api = true,
                .title = "amoCRM",
                .parse = ParseSettings};
    }
    // amoCRM signs nothing, so the tenant's secret is the last segment of the hook URL.
    crm::Credential WebhookCredential() const override { return crm::Credential::kPathSegment; }
    std::string_view MediaType() const override { return "application/x-www-form-urlencoded"; }
    std::string RefusedMediaType(std::string_view type) const override {
        if (type == "application/json" || type.ends_with("+json")) {
            return std::string(type) +
                   ": amoCRM webhooks are application/x-www-form-urlencoded (generic JSON "
                   "events go to /hooks/generic/<tenant>)";
        }
        return {};
    }
    std::unique_ptr<crm::AdapterInstance> Bind(const config::AppConfig& config,
                                               const Clock& clock) const override {
        return std::make_unique<AmoInstance>(config, clock);
    }
    std::unique_ptr<crm::DemoAccount> MakeDemoAccount(
        const crm::DemoAccountOptions& options) const override {
        return amocrm::MakeDemoAccount(options);
    }
    void AddCommands(CLI::App& root, CLI::App& sim, const crm::CommandContext& context,
                     int& exit_code) const override {
        AddAmoCommands(root, sim, context, exit_code);
    }
};

}  // namespace

const crm::Adapter& Adapter() {
    static const AmoAdapter adapter;
    return adapter;
}

}  // namespace fg::adapters::amocrm
