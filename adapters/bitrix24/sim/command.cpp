#include "adapters/bitrix24/sim/command.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <iostream>
#include <memory>

#include <fcntl.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

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
    for (const std::string& url : command.outbound) {
        options.outbound.push_back({.url = url, .events = {}});
    }
    return options;
}

Result<void> WriteAppTokens(const std::string& path, const SimTokens& tokens) {
    const std::string text = nlohmann::json{{"access_token", tokens.access_token},
                                            {"refresh_token", tokens.refresh_token}}
                                 .dump(2) +
                             "\n";
    // 0600 from the start (O_CREAT's mode), and again for a file that existed with another.
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        return MakeError(ErrorCode::kUnavailable, "cannot write {}: {}", path,
                         std::strerror(errno));
    }
    const bool written = ::fchmod(fd, 0600) == 0 &&
                         ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    const int saved = errno;
    ::close(fd);
    if (!written) {
        return MakeError(ErrorCode::kUnavailable, "cannot write {}: {}", path,
                         std::strerror(saved));
    }
    return Ok{};
}

std::vector<std::string> Banner(const Simulator& simulator, const SimCommandOptions& command) {
    std::vector<std::string> lines{
        fmt::format("Bitrix24 simulator listening on {}", simulator.Url()),
        fmt::format("inbound webhook: {}", simulator.WebhookUrl()),
        fmt::format("application token: {}", simulator.ApplicationToken()),
        fmt::format("{} deals; leaky bucket 2 req/s, burst 50; simulated managers: {}",
                    simulator.DealCount(), command.activity ? "on" : "off"),
        fmt::format("Point a tenant at it: secret = \"<application token>\", [tenant.bitrix24] "
                    "portal_url = \"{}\", webhook_user = {}, webhook_token = \"<from the URL>\"",
                    simulator.Url(), simulator.WebhookUser())};
    for (const std::string& url : command.outbound) {
        lines.push_back(fmt::format(
            "outbound webhook: every event (but ONCRMDEALMOVETOCATEGORY) is posted to {}", url));
    }
    if (!command.app_tokens.empty()) {
        lines.push_back(fmt::format(
            "local app: client_id = \"{}\", client_secret = \"{}\", token_file = \"{}\" (its "
            "first tokens, as its install handler would get them), oauth_url = \"{}\"; "
            "`connect` binds its events",
            simulator.ClientId(), simulator.ClientSecret(), command.app_tokens, simulator.Url()));
    }
    return lines;
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
    if (!command.app_tokens.empty()) {
        if (auto written = WriteAppTokens(command.app_tokens, simulator.IssueTokens()); !written) {
            std::cerr << "sim bitrix24: --app-tokens: " << written.error().message << "\n";
            simulator.Stop();
            return 1;
        }
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
    sub->add_option("--outbound", command->outbound,
                    "An outbound webhook: every event is posted to this handler URL (repeatable)");
    sub->add_option("--app-tokens", command->app_tokens,
                    "Install a local OAuth app: its first tokens go to this file (0600)");
    sub->callback([command, &exit_code] { exit_code = Run(*command); });
}

}  // namespace fg::adapters::bitrix24::sim
