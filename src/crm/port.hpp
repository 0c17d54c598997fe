#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/common/clock.hpp"
#include "src/config/config.hpp"
#include "src/crm/adapter.hpp"
#include "src/crm/connector.hpp"
#include "src/crm/demo_account.hpp"
#include "src/crm/fetcher.hpp"
#include "src/outbox/action.hpp"

namespace CLI {
class App;
}

/// The CRM adapter port: everything the core knows of a CRM is reached through a crm::Adapter.
/// src/app lists the adapters (the only place that names them); the loader reads each tenant's
/// `[tenant.<name>]` through its adapter's schema, the HTTP layer authenticates and routes
/// `/hooks/<name>/...` by it, and the engine gets its decoder, fetchers, connectors and sinks
/// from it.
namespace fg::crm {

/// Where a webhook's sender shows that it knows the tenant's secret (the CRMs sign nothing).
enum class Credential {
    kPathSegment,  // the last segment of the hook URL: /hooks/<crm>/<tenant>/<secret>
    kBearer,       // Authorization: Bearer <secret>, to /hooks/<crm>/<tenant>
    kBodyToken,    // a token inside the body (Bitrix24's auth[application_token])
};

/// One process's use of an adapter, made from the loaded config: what the adapter's tenants
/// share lives here (e.g. a CRM's catalog, read by its decoder and refreshed by its connector).
class AdapterInstance {
public:
    virtual ~AdapterInstance() = default;
    /// The decoder of every tenant of the adapter. Called once.
    virtual std::unique_ptr<WebhookDecoder> MakeDecoder() = 0;
    /// The tenant's API (reading, webhooks, write-back through Connector::Sink); null when the
    /// adapter has none.
    virtual std::unique_ptr<Connector> MakeConnector(const config::TenantConfig& tenant) = 0;
    /// What completes the tenant's thin webhook elements (Decoded::fetch) through its API,
    /// sharing the account's rate limiter with the tenant's connector (the instance holds it);
    /// null when the adapter's bodies are complete. Called once per tenant, after MakeConnector.
    virtual std::unique_ptr<Fetcher> MakeFetcher(const config::TenantConfig& tenant) {
        (void)tenant;
        return nullptr;
    }
    /// The address of the tenant's CRM API, for messages (empty: none).
    virtual std::string ApiUrl(const config::TenantConfig& tenant) const {
        (void)tenant;
        return {};
    }
    /// Where the actions of a tenant without a connector go, and at what pace; no sink:
    /// nowhere.
    virtual outbox::PacedSink MakeSink(const config::TenantConfig& tenant) {
        (void)tenant;
        return nullptr;
    }
};

/// What an adapter command may use of the application: loading a config the way every command
/// does (problems printed; nullopt means "exit 2").
struct CommandContext {
    std::function<std::optional<config::AppConfig>(const std::string& path)> load_config{};
};

/// A registered CRM adapter. Stateless: one per program, shared by every config it loads.
class Adapter {
public:
    virtual ~Adapter() = default;
    /// Lower-case CRM name: the `crm` value, the `[tenant.<name>]` section, the URL segment.
    virtual std::string_view Name() const = 0;
    /// How the loader reads the adapter's tenants: its section parser and pipeline source.
    virtual config::CrmSchema Schema() const = 0;

    /// Where its webhooks carry the tenant's secret.
    virtual Credential WebhookCredential() const = 0;
    /// kBodyToken: the token in `body`, empty when there is none.
    virtual std::string BodyToken(std::string_view body) const {
        (void)body;
        return {};
    }
    /// Why `body`, whose credential is right, comes from another account of the CRM than
    /// `tenant`'s (Bitrix24: an event whose auth[domain] or auth[member_id] names another
    /// portal), or empty when it is the tenant's or the adapter cannot tell. Such a body is
    /// refused (403, with the reason) and not stored; the reason repeats no secret.
    virtual std::string ForeignAccount(const config::TenantConfig& tenant,
                                       std::string_view body) const {
        (void)tenant;
        (void)body;
        return {};
    }
    /// `body` as it may be stored and logged: without credentials its CRM puts in webhook bodies
    /// (Bitrix24's OAuth tokens in auth[...]). Called once the sender is authenticated, before
    /// the body is decoded, keyed or stored; decoding the result must say what the original says.
    virtual std::string Scrub(std::string body) const { return body; }
    /// The media type its CRM posts, e.g. "application/x-www-form-urlencoded".
    virtual std::string_view MediaType() const = 0;
    /// Why a webhook of this media type (lower-case, without parameters) cannot come from its
    /// CRM, or empty. Multipart bodies are refused before this is asked.
    virtual std::string RefusedMediaType(std::string_view media_type) const {
        (void)media_type;
        return {};
    }

    /// This process's instance for `config` (both must outlive it).
    virtual std::unique_ptr<AdapterInstance> Bind(const config::AppConfig& config,
                                                  const Clock& clock) const = 0;

    /// The simulated account `funnelguard demo` runs against; null when the adapter has none.
    virtual std::unique_ptr<DemoAccount> MakeDemoAccount(const DemoAccountOptions& options) const {
        (void)options;
        return nullptr;
    }

    /// Adds the adapter's own commands (e.g. `amocrm auth`) under `root`, and its simulator
    /// under `sim` (`sim <name>`). A command's callback runs it and stores the exit code in
    /// `exit_code`.
    virtual void AddCommands(CLI::App& root, CLI::App& sim, const CommandContext& context,
                             int& exit_code) const {
        (void)root;
        (void)sim;
        (void)context;
        (void)exit_code;
    }
};

/// The adapters of this program, in the order they were registered (src/app).
using AdapterList = std::vector<const Adapter*>;

/// The adapter named `name`, or null.
const Adapter* FindAdapter(const AdapterList& adapters, std::string_view name);

/// The URL a tenant's CRM posts webhooks to, under `public_url`.
std::string HookUrl(const Adapter& adapter, std::string public_url,
                    const config::TenantConfig& tenant);

}  // namespace fg::crm
