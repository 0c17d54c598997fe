#include <csignal>
#include <iostream>

#include <fmt/format.h>

#include "src/app/commands.hpp"
#include "src/app/wiring.hpp"
#include "src/common/log.hpp"
#include "src/http/server.hpp"

namespace fg::app {
namespace {

spdlog::logger& Log() {
    static const auto logger = ModuleLogger("serve");
    return *logger;
}

sigset_t BlockStopSignals() {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    // Blocked before any thread starts, so every thread inherits the mask and sigwait gets them.
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    return signals;
}

}  // namespace

int RunServe(const std::string& config_path) {
    const sigset_t signals = BlockStopSignals();
    auto config = LoadOrReport(config_path);
    if (!config) {
        return 2;
    }
    SetupLogging(config->log.level);
    SystemClock clock;
    engine::EngineOptions options;
    options.config = &*config;
    options.clock = &clock;
    options.decoders = AllDecoders();
    options.make_sink = MakeSink;
    engine::Engine engine(std::move(options));
    if (auto started = engine.Start(); !started) {
        std::cerr << "serve: " << started.error().message << "\n";
        return 1;
    }
    http::Server server(engine);
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

int RunReconcile(const std::string& config_path, const std::string& tenant) {
    auto config = LoadOrReport(config_path);
    if (!config) {
        return 2;
    }
    if (!tenant.empty() && config->FindTenant(tenant) == nullptr) {
        std::cerr << "reconcile: unknown tenant \"" << tenant << "\"\n";
        return 2;
    }
    SetupLogging("warn");
    SystemClock clock;
    int opened = 0;
    int resolved = 0;
    engine::EngineOptions options;
    options.config = &*config;
    options.clock = &clock;
    options.decoders = AllDecoders();
    options.make_sink = MakeSink;
    options.timers = false;
    options.deliver = false;
    options.observer.on_violation = [&](const std::string&, const engine::ViolationChange& c) {
        (c.opened ? opened : resolved) += 1;
    };
    engine::Engine engine(std::move(options));
    if (auto started = engine.Start(); !started) {
        std::cerr << "reconcile: " << started.error().message << "\n";
        return 1;
    }
    // Generic tenants have no CRM API to pull from: the mirror is re-judged as of now, which is
    // what the nightly run does for them.
    std::cerr << "reconcile: re-evaluating the mirror\n";
    auto judged = engine.JudgeAll(tenant);
    engine.Stop();
    if (!judged) {
        std::cerr << "reconcile: " << judged.error().message << "\n";
        return 1;
    }
    std::cout << fmt::format("reconciled {} deal(s): violations opened {}, resolved {}\n", *judged,
                             opened, resolved);
    return 0;
}

int RunConfigCheck(const std::string& config_path) {
    const auto config = LoadOrReport(config_path);
    if (!config) {
        return 2;
    }
    std::cout << fmt::format("{}: OK ({} tenant(s))\n", config_path, config->tenants.size());
    return 0;
}

}  // namespace fg::app
