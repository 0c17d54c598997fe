// `funnelguard health`: asks a running serve for /healthz or /readyz, for systemd's
// ExecStartPost, a container HEALTHCHECK or a monitoring script (no curl needed).
#include <chrono>
#include <iostream>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>

#include "src/app/commands.hpp"
#include "src/app/wiring.hpp"
#include "src/tls/https_client.hpp"

namespace fg::app {

int RunHealth(const HealthCommand& command) {
    auto config = LoadOrReport(command.config);
    if (!config) {
        return 2;
    }
    const std::string& listen = command.listen.empty() ? config->server.listen : command.listen;
    const auto colon = listen.rfind(':');
    int port = 0;
    try {
        port = colon == std::string::npos ? 0 : std::stoi(listen.substr(colon + 1));
    } catch (const std::exception&) {
        port = 0;
    }
    if (port <= 0) {
        std::cerr << fmt::format(
            "health: \"{}\" names no port to ask (a port 0 config needs --listen)\n", listen);
        return 2;
    }
    std::string host = listen.substr(0, colon);
    if (host.empty() || host == "0.0.0.0") {
        host = "127.0.0.1";
    } else if (host == "::" || host == "[::]") {
        host = "::1";
    }
    const std::string path = command.ready ? "/readyz" : "/healthz";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{command.wait};
    for (;;) {
        httplib::Client client(host, port);
        client.set_connection_timeout(2, 0);
        client.set_read_timeout(5, 0);
        const auto response = client.Get(path);
        if (response && response->status == 200) {
            std::cout << fmt::format("{}:{}{}: {}\n", host, port, path, response->body);
            return 0;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            if (response) {
                std::cerr << fmt::format("health: {}:{}{} answered {}: {}\n", host, port, path,
                                         response->status, response->body);
            } else {
                std::cerr << fmt::format("health: {}:{}{}: {}\n", host, port, path,
                                         tls::FailureReason(response.error(), host, port));
            }
            return 1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds{250});
    }
}

}  // namespace fg::app
