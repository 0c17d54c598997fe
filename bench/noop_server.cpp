// The baseline of bench/intake.sh: the same HTTP stack as `funnelguard serve` (cpp-httplib 0.11.4,
// TCP_NODELAY, a pool of 64 threads or FG_BENCH_THREADS, the same timeouts and keep-alive limit),
// answering 200 {"status":"stored"} to POST /hooks/generic/{tenant} once the body has been read
// through a ContentReader, and storing nothing. Durable intake is measured against this.
//
// Usage: bench_noop_server [host:port]   (default 127.0.0.1:0, i.e. a free port)
// Prints "noop listening on HOST:PORT" once it accepts connections; stops on SIGINT / SIGTERM.
#include <iostream>

#include <httplib.h>

#include "bench/bench_server.hpp"
#include "src/common/signals.hpp"

int main(int argc, char** argv) {
    const sigset_t signals = fg::BlockStopSignals();
    if (argc > 2) {
        std::cerr << "usage: bench_noop_server [host:port]\n";
        return 2;
    }
    const auto listen = fg::bench::ParseListen("bench_noop_server", argc > 1 ? argv[1] : "");
    if (!listen) {
        return 2;
    }

    httplib::Server server;
    fg::bench::ConfigureLikeServe(server);
    server.Post(
        R"(/hooks/generic/([^/]+))", [](const httplib::Request&, httplib::Response& response,
                                        const httplib::ContentReader& reader) {
            if (!fg::bench::ReadBody(reader)) {
                return fg::bench::Reply(response, 400, R"({"error":"the body could not be read"})");
            }
            fg::bench::Reply(response, 200, R"({"status":"stored"})");
        });
    return fg::bench::ServeUntilStopped(server, *listen, "noop", signals);
}
