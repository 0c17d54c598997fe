// `sim bitrix24` on its own, for the npm interop test until the integrator wires
// AddSimCommand into funnelguard: the same command object, parsed the same way.
#include <CLI/CLI.hpp>

#include "adapters/bitrix24/sim/command.hpp"

int main(int argc, char** argv) {
    CLI::App app{"The Bitrix24 simulator"};
    auto* sim = app.add_subcommand("sim", "Simulated CRMs");
    int exit_code = 0;
    fg::adapters::bitrix24::sim::AddSimCommand(*sim, exit_code);
    sim->require_subcommand(1);
    app.require_subcommand(1);
    CLI11_PARSE(app, argc, argv);
    return exit_code;
}
