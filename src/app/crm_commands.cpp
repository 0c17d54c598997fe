// Commands that talk to a tenant's CRM account: connect, disconnect.
#include <iostream>

#include <fmt/format.h>

#include "src/app/commands.hpp"
#include "src/app/wiring.hpp"
#include "src/common/log.hpp"
#include "src/tls/trust.hpp"

namespace fg::app {
namespace {

// The tenant of a command that needs a CRM connector, or an explanation on stderr.
const config::TenantConfig* CrmTenant(const config::AppConfig& config, const std::string& id,
                                      const char* command, Adapters& adapters) {
    const config::TenantConfig* tenant = config.FindTenant(id);
    if (tenant == nullptr) {
        std::cerr << command << ": unknown tenant \"" << id << "\"\n";
        return nullptr;
    }
    if (adapters.ApiUrl(*tenant).empty()) {
        std::cerr << command << ": tenant \"" << id << "\" uses the " << tenant->crm
                  << " adapter, which has no CRM account to talk to\n";
        return nullptr;
    }
    return tenant;
}

// The host of an http(s) URL, lower-cased, without userinfo, port or brackets.
std::string HostOf(std::string_view url) {
    const auto scheme = url.find("://");
    std::string_view authority = scheme == std::string_view::npos ? url : url.substr(scheme + 3);
    authority = authority.substr(0, authority.find_first_of("/?#"));
    if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
        authority = authority.substr(at + 1);
    }
    std::string_view host;
    if (!authority.empty() && authority.front() == '[') {
        host = authority.substr(1, authority.find(']') - 1);
    } else {
        host = authority.substr(0, authority.rfind(':'));
    }
    std::string lower;
    for (const char c : host) {
        lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    while (!lower.empty() && lower.back() == '.') {
        lower.pop_back();
    }
    return lower;
}

bool EndsWith(std::string_view text, std::string_view suffix) {
    return text.size() >= suffix.size() &&
           text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Names reserved for documentation (RFC 2606, RFC 6761): never a real funnelguard.
bool IsPlaceholderHost(std::string_view host) {
    for (const std::string_view domain : {"example.com", "example.net", "example.org"}) {
        if (host == domain || EndsWith(host, fmt::format(".{}", domain))) {
            return true;
        }
    }
    return host == "example" || EndsWith(host, ".example") || host == "invalid" ||
           EndsWith(host, ".invalid");
}

// Why the tenant's CRM could not reach funnelguard at server.public_url, or empty.
std::string PublicUrlProblem(const config::AppConfig& config, const config::TenantConfig& tenant,
                             const std::string& crm_url) {
    const std::string& url = config.server.public_url;
    if (url.empty()) {
        return "server.public_url: required: the address the CRM reaches funnelguard at (the "
               "webhook is registered there)";
    }
    const std::string host = HostOf(url);
    if (IsPlaceholderHost(host)) {
        return fmt::format(
            "server.public_url: \"{}\" is a placeholder (as in the example config): set the "
            "address where the CRM reaches this funnelguard, or its webhooks go nowhere",
            url);
    }
    if (tls::IsLoopbackHost(host) && !crm_url.empty() && !tls::IsLoopbackHost(HostOf(crm_url))) {
        return fmt::format(
            "server.public_url: \"{}\" is a loopback address, which the CRM at {} cannot reach: "
            "set the address where it reaches this funnelguard (loopback suits only a CRM on "
            "this machine, such as `funnelguard sim {}`)",
            url, HostOf(crm_url), tenant.crm);
    }
    return {};
}

}  // namespace

int RunConnect(const TenantCommand& command, bool connect) {
    const char* name = connect ? "connect" : "disconnect";
    auto config = LoadOrReport(command.config);
    if (!config) {
        return 2;
    }
    SystemClock clock;
    Adapters adapters(*config, clock);
    const config::TenantConfig* tenant = CrmTenant(*config, command.tenant, name, adapters);
    if (tenant == nullptr) {
        return 2;
    }
    // Registering an address the CRM cannot reach succeeds, and then every webhook silently
    // goes nowhere: refuse it here instead.
    if (const std::string problem = PublicUrlProblem(*config, *tenant, adapters.ApiUrl(*tenant));
        !problem.empty() && (connect || config->server.public_url.empty())) {
        std::cerr << name << ": " << command.config << ": " << problem << "\n";
        return 2;
    }
    SetupLogging("warn");
    std::unique_ptr<crm::Connector> connector = adapters.MakeConnector(*tenant);
    const std::string url = HookUrl(*config, *tenant);
    // A hook URL may hold the tenant's secret: print where it points, never the secret.
    const std::string shown =
        AdapterOf(*tenant).WebhookCredential() == crm::Credential::kPathSegment
            ? url.substr(0, url.rfind('/') + 1) + "***"
            : url;
    const auto fail = [&](const Error& error) {
        std::cerr << fmt::format("{}: {}: {}\n", name, tenant->id, error.message);
        return 1;
    };
    if (!connect) {
        const Result<void> done = connector->Disconnect(url);
        if (!done) {
            return fail(done.error());
        }
        std::cout << fmt::format("{}: {}: webhook {} removed\n", name, tenant->id, shown);
        return 0;
    }
    const Result<crm::Connection> done = connector->Connect(url);
    if (!done) {
        return fail(done.error());
    }
    if (!done->manual.empty()) {
        std::cout << fmt::format(
            "{}: {}: the CRM cannot register webhooks through this API "
            "access; enter these settings by hand:\n{}\n",
            name, tenant->id, done->manual);
        return 0;
    }
    std::cout << fmt::format("{}: {}: webhook {} {}", name, tenant->id, shown,
                             done->changed ? "registered" : "already registered");
    if (done->earlier_removed > 0) {
        std::cout << fmt::format("; funnelguard's {} earlier webhook(s) at another address removed",
                                 done->earlier_removed);
    }
    std::cout << "\n";
    return 0;
}

}  // namespace fg::app
