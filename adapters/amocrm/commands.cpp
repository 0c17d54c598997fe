// The amoCRM adapter's own commands: `amocrm auth` and `sim amocrm`.
#include "adapters/amocrm/commands.hpp"

#include <csignal>
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "adapters/amocrm/account.hpp"
#include "adapters/amocrm/sim/activity.hpp"
#include "adapters/amocrm/sim/simulator.hpp"
#include "src/common/log.hpp"
#include "src/common/signals.hpp"

namespace fg::adapters::amocrm {
namespace {

struct AuthCommand {
    std::string config{};
    std::string tenant{};
    std::string code{};
};

int RunAuth(const AuthCommand& command, const crm::CommandContext& context) {
    auto config = context.load_config(command.config);
    if (!config) {
        return 2;
    }
    const config::TenantConfig* tenant = config->FindTenant(command.tenant);
    if (tenant == nullptr) {
        std::cerr << "amocrm auth: unknown tenant \"" << command.tenant << "\"\n";
        return 2;
    }
    const AmoCrmSettings* settings = tenant->CrmSettingsAs<AmoCrmSettings>();
    if (settings == nullptr || !settings->UsesOAuth()) {
        std::cerr << "amocrm auth: tenant \"" << tenant->id
                  << "\" is not an amoCRM tenant with client_id, client_secret and redirect_uri\n";
        return 2;
    }
    SetupLogging("warn");
    SystemClock clock;
    const std::string token_path = TokenPath(config->storage.path, tenant->id);
    FileTokenStore tokens(token_path);
    ClientOptions options = ClientOptionsFor(tenant->id, *settings, &tokens, clock);
    if (auto done = AuthorizeWithCode(options, command.code); !done) {
        std::cerr << "amocrm auth: " << tenant->id << ": " << done.error().message << "\n";
        return 1;
    }
    std::cout << fmt::format("amocrm auth: {}: tokens saved to {}\n", tenant->id, token_path);
    return 0;
}

struct SimCommand {
    std::string listen = "127.0.0.1:9100";
    std::string token{};  // empty: the simulator makes one up and prints it
    std::uint64_t seed = 1;
    int leads = 200;
    double rps = 7;
    bool activity = false;
    std::string tls_cert{};  // PEM certificate (chain) and key: serve HTTPS; both or neither
    std::string tls_key{};
};

int RunSim(const SimCommand& command) {
    const auto colon = command.listen.rfind(':');
    int port = -1;
    if (colon != std::string::npos) {
        try {
            port = std::stoi(command.listen.substr(colon + 1));
        } catch (const std::exception&) {
            port = -1;
        }
    }
    if (port < 0 || port > 65535) {
        std::cerr << "sim amocrm: --listen \"" << command.listen << "\" is not host:port\n";
        return 2;
    }
    const sigset_t signals = BlockStopSignals();  // before any thread starts

    SetupLogging("info");
    SystemClock clock;
    sim::SimOptions options;
    options.host = command.listen.substr(0, colon);
    options.port = port;
    options.token = command.token;
    options.seed = command.seed;
    options.leads = command.leads;
    options.rps = command.rps;
    options.clock = &clock;
    options.tls_cert_file = command.tls_cert;
    options.tls_key_file = command.tls_key;
    sim::Simulator simulator(options);
    std::cerr << fmt::format("sim amocrm: generating the account ({} leads)...\n", command.leads);
    if (auto started = simulator.Start(); !started) {
        std::cerr << "sim amocrm: " << started.error().message << "\n";
        return 1;
    }
    std::optional<sim::Activity> activity;
    if (command.activity) {
        activity.emplace(simulator, sim::ActivityOptions{.seed = command.seed});
        activity->Start();
    }
    // Scripts read the address from the first line; the token is printed only when the
    // simulator made it up (a token given on the command line is the caller's own).
    std::cout << fmt::format("amoCRM simulator listening on {}", simulator.BaseUrl()) << std::endl;
    if (command.token.empty()) {
        std::cout << fmt::format("token: {}", simulator.Token()) << std::endl;
    }
    std::cout << fmt::format(
                     "{} leads, {} tasks, {} notes; {} req/s; simulated managers: {}\n"
                     "Point a tenant at it: [tenant.amocrm] base_url = \"{}\", token = ...{}",
                     simulator.LeadCount(), simulator.TaskCount(), simulator.NoteCount(),
                     command.rps, command.activity ? "on" : "off", simulator.BaseUrl(),
                     command.tls_cert.empty() ? "" : ", ca_file = <the CA that signed --tls-cert>")
              << std::endl;
    int received = 0;
    sigwait(&signals, &received);
    if (activity) {
        activity->Stop();
    }
    simulator.Stop();
    const auto stats = simulator.Stats();
    std::cout << fmt::format(
                     "sim amocrm: stopped after {} request(s), {} answered 429, {} "
                     "webhook(s) sent",
                     stats.requests, stats.rate_limited, stats.webhooks.delivered)
              << std::endl;
    return 0;
}

}  // namespace

void AddAmoCommands(CLI::App& root, CLI::App& sim, const crm::CommandContext& context,
                    int& exit_code) {
    auto auth = std::make_shared<AuthCommand>();
    auto* amocrm_cmd = root.add_subcommand("amocrm", "amoCRM tools");
    auto* auth_cmd = amocrm_cmd->add_subcommand(
        "auth", "Exchange an OAuth 2.0 authorization code for tokens and save them");
    auth_cmd->add_option("--config", auth->config, "Config file")->required();
    auth_cmd->add_option("--tenant", auth->tenant, "Tenant id")->required();
    auth_cmd->add_option("--code", auth->code, "The authorization code (valid 20 min)")->required();
    auth_cmd->callback([auth, context, &exit_code] { exit_code = RunAuth(*auth, context); });
    amocrm_cmd->require_subcommand(1);

    auto command = std::make_shared<SimCommand>();
    auto* sim_cmd = sim.add_subcommand(
        "amocrm", "An amoCRM account on this machine: API v4, rate limit, webhooks");
    sim_cmd->add_option("--listen", command->listen, "host:port to listen on")
        ->capture_default_str();
    sim_cmd->add_option("--token", command->token,
                        "The long-lived token it accepts (default: "
                        "make one up and print it)");
    sim_cmd->add_option("--seed", command->seed, "Seed of the generated account")
        ->capture_default_str();
    sim_cmd->add_option("--leads", command->leads, "Leads generated at start, with tasks and notes")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    sim_cmd->add_option("--rps", command->rps, "Requests per second before it answers 429")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    sim_cmd->add_flag("--activity", command->activity,
                      "Simulated managers work the account (and sometimes break the rules)");
    auto* tls_cert = sim_cmd
                         ->add_option("--tls-cert", command->tls_cert,
                                      "PEM certificate (chain) to serve HTTPS with")
                         ->check(CLI::ExistingFile);
    auto* tls_key =
        sim_cmd->add_option("--tls-key", command->tls_key, "PEM private key of --tls-cert")
            ->check(CLI::ExistingFile);
    tls_cert->needs(tls_key);
    tls_key->needs(tls_cert);
    sim_cmd->callback([command, &exit_code] { exit_code = RunSim(*command); });
}

}  // namespace fg::adapters::amocrm
