#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "adapters/bitrix24/sim/simulator.hpp"
#include "src/common/result.hpp"

namespace fg::adapters::bitrix24::sim {

/// What `sim bitrix24` was asked for.
struct SimCommandOptions {
    std::string listen = "127.0.0.1:9200";
    std::uint64_t seed = 1;
    int deals = 200;
    bool activity = false;
    std::vector<std::string> outbound{};  // handler URLs posted every event (outbound webhooks)
    std::string app_tokens{};             // a file for a local app's first tokens ("": none)
};

/// "host:port" (port 0 = any free one), or nullopt.
std::optional<std::pair<std::string, int>> ParseListen(const std::string& listen);

/// The simulator's options for the command, on `clock`.
SimulatorOptions CommandSimulatorOptions(const SimCommandOptions& command, const std::string& host,
                                         int port, const Clock& clock);

/// What the command prints once serving: the address first (scripts read it), then the
/// inbound-webhook URL and the application token (the simulator's own, made up at start).
std::vector<std::string> Banner(const Simulator& simulator, const SimCommandOptions& command);

/// Writes `tokens` to `path` as a local app's install handler would keep them (the token_file of
/// [tenant.bitrix24]: {"access_token", "refresh_token"}), created 0600; an error says why.
Result<void> WriteAppTokens(const std::string& path, const SimTokens& tokens);

/// Adds `sim bitrix24 --listen ADDR [--seed N] [--deals N] [--activity] [--outbound URL]...
/// [--app-tokens FILE]` under `sim`: serves until SIGINT or SIGTERM; the exit code goes to
/// `exit_code` (2 for a bad --listen, 1 when the token file cannot be written).
void AddSimCommand(CLI::App& sim, int& exit_code);

}  // namespace fg::adapters::bitrix24::sim
