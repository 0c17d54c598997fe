#pragma once
// What bench/intake.sh's comparison servers share with each other and with `funnelguard serve`:
// the HTTP settings (so that they differ only in what a webhook costs), the listen argument, the
// body read, and the "NAME listening on HOST:PORT" line that intake.sh reads the port from.
#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include <httplib.h>

namespace fg::bench {

// funnelguard's defaults (src/config/config.hpp ServerConfig, src/http/server.cpp).
constexpr int kThreads = 64;
constexpr std::size_t kMaxBodyBytes = 1048576;

struct ListenAddress {
    std::string host;
    int port = 0;  // 0: any free port
};

/// "host:port" (an empty text means 127.0.0.1:0); nullopt after saying why on stderr.
inline std::optional<ListenAddress> ParseListen(std::string_view program, std::string_view text) {
    const std::string listen = text.empty() ? "127.0.0.1:0" : std::string(text);
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos) {
        std::cerr << program << ": listen \"" << listen << "\" is not host:port\n";
        return std::nullopt;
    }
    try {
        return ListenAddress{listen.substr(0, colon), std::stoi(listen.substr(colon + 1))};
    } catch (const std::exception&) {
        std::cerr << program << ": bad port in \"" << listen << "\"\n";
        return std::nullopt;
    }
}

/// `funnelguard serve`'s HTTP settings; the pool follows FG_BENCH_THREADS when set, so that
/// intake.sh compares equal pools (SERVER_THREADS).
inline void ConfigureLikeServe(httplib::Server& server) {
    server.set_tcp_nodelay(true);
    server.set_payload_max_length(kMaxBodyBytes);
    server.set_read_timeout(10, 0);
    server.set_write_timeout(10, 0);
    server.set_keep_alive_max_count(1000);
    const char* threads_env = std::getenv("FG_BENCH_THREADS");
    const int threads = threads_env != nullptr ? std::max(1, std::atoi(threads_env)) : kThreads;
    server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
}

/// The body read through a ContentReader, as funnelguard reads webhooks; nullopt when it could
/// not be read or runs over kMaxBodyBytes.
inline std::optional<std::string> ReadBody(const httplib::ContentReader& reader) {
    std::string body;
    const bool read = reader([&body](const char* data, std::size_t length) {
        if (body.size() + length > kMaxBodyBytes) {
            return false;
        }
        body.append(data, length);
        return true;
    });
    return read ? std::optional<std::string>{std::move(body)} : std::nullopt;
}

inline void Reply(httplib::Response& response, int status, std::string_view json) {
    response.status = status;
    response.set_content(std::string(json), "application/json; charset=utf-8");
}

/// Binds, prints "NAME listening on HOST:PORT" and serves until SIGINT or SIGTERM arrives in
/// `signals` (blocked before any thread started); the process's exit code.
inline int ServeUntilStopped(httplib::Server& server, const ListenAddress& listen,
                             std::string_view name, const sigset_t& signals) {
    int port = listen.port;
    if (port == 0) {
        port = server.bind_to_any_port(listen.host);
    } else if (!server.bind_to_port(listen.host, port)) {
        port = -1;
    }
    if (port <= 0) {
        std::cerr << name << ": cannot listen on " << listen.host << ":" << listen.port
                  << " (in use?)\n";
        return 1;
    }
    std::thread serving([&server] { server.listen_after_bind(); });
    std::cout << name << " listening on " << listen.host << ":" << port << std::endl;
    int received = 0;
    sigwait(&signals, &received);
    server.stop();
    serving.join();
    std::cout << name << " stopped" << std::endl;
    return 0;
}

}  // namespace fg::bench
