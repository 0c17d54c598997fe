// `funnelguard sim amocrm`: an amoCRM account on loopback, for trying funnelguard without one.
#include <csignal>
#include <iostream>

#include <fmt/format.h>

#include "adapters/amocrm/sim/activity.hpp"
#include "adapters/amocrm/sim/simulator.hpp"
#include "src/app/commands.hpp"
#include "src/app/signals.hpp"
#include "src/common/log.hpp"

namespace fg::app {

int RunSimAmoCrm(const SimCommand& command) {
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
    adapters::amocrm::sim::SimOptions options;
    options.host = command.listen.substr(0, colon);
    options.port = port;
    options.token = command.token;
    options.seed = command.seed;
    options.leads = command.leads;
    options.rps = command.rps;
    options.clock = &clock;
    options.tls_cert_file = command.tls_cert;
    options.tls_key_file = command.tls_key;
    adapters::amocrm::sim::Simulator simulator(options);
    std::cerr << fmt::format("sim amocrm: generating the account ({} leads)...\n", command.leads);
    if (auto started = simulator.Start(); !started) {
        std::cerr << "sim amocrm: " << started.error().message << "\n";
        return 1;
    }
    std::optional<adapters::amocrm::sim::Activity> activity;
    if (command.activity) {
        activity.emplace(simulator, adapters::amocrm::sim::ActivityOptions{.seed = command.seed});
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

}  // namespace fg::app
