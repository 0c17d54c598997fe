// The baseline of bench/intake.sh: the same HTTP stack as `funnelguard serve` (cpp-httplib 0.11.4,
// TCP_NODELAY, a pool of 64 threads or FG_BENCH_THREADS, the same timeouts and keep-alive limit),
// answering 200 {"status":"stored"} to POST /hooks/generic/{tenant} once the body has been read
// through a ContentReader, and storing nothing. Durable intake is measured against this.
//
// Usage: bench_noop_server [host:port]   (default 127.0.0.1:0, i.e. a free port)
// Prints "noop listening on HOST:PORT" once it accepts connections; stops on SIGINT / SIGTERM.
#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

#include <httplib.h>

#include "src/app/signals.hpp"

namespace {

// funnelguard's defaults (src/config/config.hpp ServerConfig, src/http/server.cpp); the pool size
// follows FG_BENCH_THREADS when set, so that intake.sh compares equal pools.
constexpr int kThreads = 64;
constexpr std::size_t kMaxBodyBytes = 1048576;

}  // namespace

int main(int argc, char** argv) {
    const sigset_t signals = fg::app::BlockStopSignals();
    const std::string listen = argc > 1 ? argv[1] : "127.0.0.1:0";
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos || argc > 2) {
        std::cerr << "usage: bench_noop_server [host:port]\n";
        return 2;
    }
    const std::string host = listen.substr(0, colon);
    int port = 0;
    try {
        port = std::stoi(listen.substr(colon + 1));
    } catch (const std::exception&) {
        std::cerr << "bench_noop_server: bad port in \"" << listen << "\"\n";
        return 2;
    }

    httplib::Server server;
    server.set_tcp_nodelay(true);
    server.set_payload_max_length(kMaxBodyBytes);
    server.set_read_timeout(10, 0);
    server.set_write_timeout(10, 0);
    server.set_keep_alive_max_count(1000);
    const char* threads_env = std::getenv("FG_BENCH_THREADS");
    const int threads = threads_env != nullptr ? std::max(1, std::atoi(threads_env)) : kThreads;
    server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };

    server.Post(
        R"(/hooks/generic/([^/]+))", [](const httplib::Request&, httplib::Response& response,
                                        const httplib::ContentReader& reader) {
            std::string body;
            const bool read = reader([&](const char* data, std::size_t length) {
                if (body.size() + length > kMaxBodyBytes) {
                    return false;
                }
                body.append(data, length);
                return true;
            });
            if (!read) {
                response.status = 400;
                response.set_content(R"({"error":"the body could not be read"})",
                                     "application/json; charset=utf-8");
                return;
            }
            response.status = 200;
            response.set_content(R"({"status":"stored"})", "application/json; charset=utf-8");
        });

    if (port == 0) {
        port = server.bind_to_any_port(host);
        if (port <= 0) {
            std::cerr << "bench_noop_server: cannot listen on " << listen << "\n";
            return 1;
        }
    } else if (!server.bind_to_port(host, port)) {
        std::cerr << "bench_noop_server: cannot listen on " << listen << " (in use?)\n";
        return 1;
    }
    std::thread serving([&server] { server.listen_after_bind(); });
    // bench/intake.sh reads the bound port from this line.
    std::cout << "noop listening on " << host << ":" << port << std::endl;
    int received = 0;
    sigwait(&signals, &received);
    server.stop();
    serving.join();
    std::cout << "noop stopped" << std::endl;
    return 0;
}
