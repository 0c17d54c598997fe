#include "adapters/bitrix24/sim/command.hpp"

#include <csignal>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "src/common/signals.hpp"

namespace fg::adapters::bitrix24::sim {

std::optional<std::pair<std::string, int>> ParseListen(const std::string& listen) {
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) {
        return std::nullopt;
    }
    const std::string digits = listen.substr(colon + 1);
    if (digits.size() > 5 || digits.find_first_not_of("0123456789") != std::string::npos) {
        return std::nullopt;
    }
    const int port = std::stoi(digits);
    if (port > 65535) {
        return std::nullopt;
    }
    return std::make_pair(listen.substr(0, colon), port);
}

SimulatorOptions CommandSimulatorOptions(const SimCommandOptions& command, const std::string& host,
                                         int port, const Clock& clock) {
    SimulatorOptions options;
    options.seed = command.seed;
    options.deals = command.deals;
    options.clock = &clock;
    options.activity = command.activity;
    options.host = host;
    options.port = port;
    return options;
}

std::vector<std::string> Banner(const Simulator& simulator, const SimCommandOptions& command) {
    return {
        fmt::format("Bitrix24 simulator listening on {}", simulator.Url()),
        fmt::format("inbound webhook: {}", simulator.WebhookUrl()),
        fmt::format("application token: {}", simulator.ApplicationToken()),
        fmt::format("{} deals; leaky bucket 2 req/s, burst 50; simulated managers: {}",
                    simulator.DealCount(), command.activity ? "on" : "off"),
        fmt::format("Point a tenant at it: secret = \"<application token>\", [tenant.bitrix24] "
                    "portal_url = \"{}\", webhook_user = {}, webhook_token = \"<from the URL>\"",
                    simulator.Url(), simulator.WebhookUser())};
}

namespace {

int Run(const SimCommandOptions& command) {
    const auto address = ParseListen(command.listen);
    if (!address) {
        std::cerr << "sim bitrix24: --listen \"" << command.listen << "\" is not host:port\n";
        return 2;
    }
    const sigset_t signals = BlockStopSignals();  // before any thread starts
    SystemClock clock;
    Simulator simulator(CommandSimulatorOptions(command, address->first, address->second, clock));
    if (auto started = simulator.Start(); !started) {
        std::cerr << "sim bitrix24: " << started.error().message << "\n";
        return 1;
    }
    for (const std::string& line : Banner(simulator, command)) {
        std::cout << line << std::endl;
    }
    int received = 0;
    sigwait(&signals, &received);
    simulator.Stop();
    const SimStats stats = simulator.Stats();
    std::cout << fmt::format(
                     "sim bitrix24: stopped after {} request(s), {} answered 503 "
                     "QUERY_LIMIT_EXCEEDED, {} event(s) delivered, {} lost",
                     stats.requests, stats.limit_errors, stats.events.delivered,
                     stats.events.failed + stats.events.dropped)
              << std::endl;
    return 0;
}

}  // namespace

void AddSimCommand(CLI::App& sim, int& exit_code) {
    auto command = std::make_shared<SimCommandOptions>();
    auto* sub = sim.add_subcommand(
        "bitrix24", "A Bitrix24 portal on this machine: REST, leaky bucket, batch, events");
    sub->add_option("--listen", command->listen, "host:port to listen on (port 0: any free one)")
        ->capture_default_str();
    sub->add_option("--seed", command->seed, "Seed of the generated portal")->capture_default_str();
    sub->add_option("--deals", command->deals, "Deals generated at start, with to-dos and tasks")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    sub->add_flag("--activity", command->activity, "Simulated managers at work (real time)");
    sub->callback([command, &exit_code] { exit_code = Run(*command); });
}

}  // namespace fg::adapters::bitrix24::sim
