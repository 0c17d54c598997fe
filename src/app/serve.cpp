#include <csignal>
#include <iostream>

#include <fmt/format.h>

#include "src/app/adapters.hpp"
#include "src/app/commands.hpp"
#include "src/app/wiring.hpp"
#include "src/common/log.hpp"
#include "src/common/signals.hpp"
#include "src/engine/directory.hpp"
#include "src/http/server.hpp"

namespace fg::app {
namespace {

spdlog::logger& Log() {
    static const auto logger = ModuleLogger("serve");
    return *logger;
}

}  // namespace

int RunServe(const std::string& config_path) {
    const sigset_t signals = BlockStopSignals();
    auto config = LoadOrReport(config_path);
    if (!config) {
        return 2;
    }
    SetupLogging(config->log.level);
    for (const config::ConfigProblem& warning : config::Warnings(*config)) {
        Log().warn("Config: {}", config::FormatProblem(warning));
    }
    SystemClock clock;
    Adapters adapters(*config, clock);
    engine::Engine engine(adapters.EngineOptionsFor(clock));
    if (auto started = engine.Start(); !started) {
        std::cerr << "serve: " << started.error().message << "\n";
        return 1;
    }
    http::Server server(engine, CrmAdapters());
    const auto port = server.Bind(config->server.listen);
    if (!port) {
        std::cerr << "serve: " << port.error().message << "\n";
        return 1;
    }
    const std::string host = config->server.listen.substr(0, config->server.listen.rfind(':'));
    server.Start();
    // Tests and scripts read the bound port from this line.
    std::cout << fmt::format("funnelguard listening on {}:{}", host, *port) << std::endl;
    Log().info("Serving. listen={}:{} tenants={} database={}", host, *port, config->tenants.size(),
               config->storage.path);
    int received = 0;
    sigwait(&signals, &received);
    Log().info("Stopping. signal={}", received);
    server.Stop();
    engine.Stop();
    std::cout << "funnelguard stopped" << std::endl;
    return 0;
}

int RunReconcile(const ReconcileCommand& command) {
    auto config = LoadOrReport(command.config);
    if (!config) {
        return 2;
    }
    if (!command.tenant.empty() && config->FindTenant(command.tenant) == nullptr) {
        std::cerr << "reconcile: unknown tenant \"" << command.tenant << "\"\n";
        return 2;
    }
    SetupLogging("warn");
    SystemClock clock;
    Adapters adapters(*config, clock);
    engine::EngineOptions options = adapters.EngineOptionsFor(clock);
    options.timers = false;
    options.deliver = false;            // `serve` delivers what the run planned
    options.log_name_problems = false;  // printed below, once the directory is loaded
    engine::Engine engine(std::move(options));
    if (auto started = engine.Start(); !started) {
        std::cerr << "reconcile: " << started.error().message << "\n";
        return 1;
    }
    int failures = 0;
    for (const config::TenantConfig& tenant : config->tenants) {
        if (!command.tenant.empty() && tenant.id != command.tenant) {
            continue;
        }
        if (engine.ConnectorOf(tenant.id) == nullptr) {
            // No CRM API to pull from (generic): the mirror is re-judged as of now, which is
            // what the nightly run does for such tenants.
            std::cerr << "reconcile: " << tenant.id << ": re-evaluating the mirror\n";
            engine::ReconcileReport tally;
            auto judged = engine.JudgeAll(tenant.id, &tally);
            if (!judged) {
                std::cerr << "reconcile: " << tenant.id << ": " << judged.error().message << "\n";
                ++failures;
                continue;
            }
            std::cout << fmt::format(
                "{}: re-evaluated {} deal(s): violations opened {}, resolved {}\n", tenant.id,
                *judged, tally.opened, tally.resolved);
            continue;
        }
        engine::ReconcileOptions run;
        run.full = command.full;
        run.progress = [&tenant](const std::string& line) {
            std::cerr << "reconcile: " << tenant.id << ": " << line << "\n";
        };
        auto report = engine.Reconcile(tenant.id, run);
        // The directory is known now: what the rules name that it lacks judges nothing.
        for (const config::ConfigProblem& problem : engine.NameProblems(tenant.id)) {
            std::cerr << "reconcile: " << tenant.id << ": " << config::FormatProblem(problem)
                      << "\n";
        }
        if (!report) {
            std::cerr << "reconcile: " << tenant.id << ": " << report.error().message
                      << " (run it again to resume where it stopped)\n";
            ++failures;
            continue;
        }
        std::cout << fmt::format(
            "{}: {}{}; {} deal(s) re-evaluated: violations opened {}, resolved {}{}\n", tenant.id,
            report->resumed ? "resumed; " : "", engine::FormatPullCounts(*report), report->judged,
            report->opened, report->resolved,
            report->record_only ? " (first run: recorded, nothing written back)" : "");
    }
    engine.Stop();
    return failures == 0 ? 0 : 1;
}

int RunConfigCheck(const std::string& config_path, bool online) {
    const auto config = LoadOrReport(config_path);
    if (!config) {
        return 2;
    }
    const std::vector<config::ConfigProblem> warnings = config::Warnings(*config);
    for (const config::ConfigProblem& warning : warnings) {
        std::cerr << "warning: " << config::FormatProblem(warning) << "\n";
    }
    if (!online) {
        std::cout << fmt::format(
            "{}: OK ({} tenant(s){})\n", config_path, config->tenants.size(),
            warnings.empty() ? std::string() : fmt::format(", {} warning(s)", warnings.size()));
        return 0;
    }
    // Generic tenants' stages were checked against their pipelines as the config loaded; a CRM
    // tenant's rules are checked against the directory its API gives now.
    SetupLogging("warn");
    SystemClock clock;
    Adapters adapters(*config, clock);
    std::size_t problems = 0;
    int failures = 0;
    for (const config::TenantConfig& tenant : config->tenants) {
        std::unique_ptr<crm::Connector> connector = adapters.MakeConnector(tenant);
        if (connector == nullptr) {
            continue;
        }
        const Result<crm::Directory> directory = connector->FetchDirectory();
        if (!directory) {
            std::cerr << fmt::format("config check: {}: cannot read the CRM directory: {}\n",
                                     tenant.id, directory.error().message);
            ++failures;
            continue;
        }
        for (const config::ConfigProblem& problem : engine::CheckNames(tenant, *directory)) {
            std::cerr << config::FormatProblem(problem) << "\n";
            ++problems;
        }
    }
    if (problems > 0) {
        std::cerr << fmt::format("{}: {} unknown name(s) in the rules\n", config_path, problems);
        return 2;
    }
    if (failures > 0) {
        return 1;
    }
    std::cout << fmt::format("{}: OK ({} tenant(s), names checked against the CRM)\n", config_path,
                             config->tenants.size());
    return 0;
}

}  // namespace fg::app
