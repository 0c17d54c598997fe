// A diagnostic for bench/intake.sh (DIAGNOSE=1): funnelguard's durable intake path with the inbox
// processing left out. The HTTP stack and its settings are those of `funnelguard serve`; the route
// does what src/http/server.cpp does for POST /hooks/generic/{tenant} (bearer check, body read
// through a ContentReader, Validate, SHA-256 dedupe key, engine::Writer::AppendInbox and a wait for
// the group commit: WAL, synchronous=FULL), but the Writer runs with no background work, so no
// decode / mirror / rules / second commit competes with the inbox commits on the writer thread.
// The gap between this and `funnelguard serve` is what processing costs the intake.
//
// Usage: bench_inbox_only_server DB SECRET [host:port]   (default 127.0.0.1:0, a free port)
// Prints "inbox-only listening on HOST:PORT" once it accepts connections; stops on SIGINT/SIGTERM.
#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

#include <httplib.h>

#include "adapters/generic/decoder.hpp"
#include "src/app/signals.hpp"
#include "src/common/clock.hpp"
#include "src/common/secret.hpp"
#include "src/engine/writer.hpp"
#include "src/storage/store.hpp"

namespace {

constexpr int kThreads = 64;  // funnelguard's default server.threads; FG_BENCH_THREADS overrides
constexpr std::size_t kMaxBodyBytes = 1048576;
constexpr auto kCommitWait = std::chrono::seconds{10};

void Reply(httplib::Response& response, int status, const std::string& json) {
    response.status = status;
    response.set_content(json, "application/json; charset=utf-8");
}

}  // namespace

int main(int argc, char** argv) {
    const sigset_t signals = fg::app::BlockStopSignals();
    if (argc < 3 || argc > 4) {
        std::cerr << "usage: bench_inbox_only_server DB SECRET [host:port]\n";
        return 2;
    }
    const std::string db_path = argv[1];
    const std::string secret = argv[2];
    const std::string listen = argc > 3 ? argv[3] : "127.0.0.1:0";
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos) {
        std::cerr << "bench_inbox_only_server: listen \"" << listen << "\" is not host:port\n";
        return 2;
    }
    const std::string host = listen.substr(0, colon);
    int port = 0;
    try {
        port = std::stoi(listen.substr(colon + 1));
    } catch (const std::exception&) {
        std::cerr << "bench_inbox_only_server: bad port in \"" << listen << "\"\n";
        return 2;
    }

    auto db = fg::storage::OpenDatabase(db_path);
    if (!db) {
        std::cerr << "bench_inbox_only_server: " << db.error().message << "\n";
        return 1;
    }
    fg::engine::Writer writer(std::move(db).value());
    writer.Start();  // no background work: inbox commits only
    const fg::adapters::generic::GenericDecoder decoder;
    const fg::SystemClock clock;

    httplib::Server server;
    server.set_tcp_nodelay(true);
    server.set_payload_max_length(kMaxBodyBytes);
    server.set_read_timeout(10, 0);
    server.set_write_timeout(10, 0);
    server.set_keep_alive_max_count(1000);
    const char* threads_env = std::getenv("FG_BENCH_THREADS");
    const int threads = threads_env != nullptr ? std::max(1, std::atoi(threads_env)) : kThreads;
    server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };

    server.Post(R"(/hooks/generic/([^/]+))", [&](const httplib::Request& request,
                                                 httplib::Response& response,
                                                 const httplib::ContentReader& reader) {
        const std::string header = request.get_header_value("Authorization");
        const std::string token = header.rfind("Bearer ", 0) == 0 ? header.substr(7) : "";
        if (!fg::SecretEquals(token, secret)) {
            return Reply(response, 401, R"({"error":"missing or wrong bearer token"})");
        }
        std::string body;
        const bool read = reader([&](const char* data, std::size_t length) {
            if (body.size() + length > kMaxBodyBytes) {
                return false;
            }
            body.append(data, length);
            return true;
        });
        if (!read) {
            return Reply(response, 400, R"({"error":"the body could not be read"})");
        }
        if (auto valid = decoder.Validate(body); !valid) {
            return Reply(response, 400, R"({"error":"invalid body"})");
        }
        fg::storage::InboxItem item;
        item.tenant = request.matches[1];
        item.crm = "generic";
        item.dedupe_key = decoder.DedupeKey(body);
        item.body = std::move(body);
        item.received_at = clock.Now();
        auto stored = writer.AppendInbox(std::move(item));
        if (stored.wait_for(kCommitWait) != std::future_status::ready) {
            return Reply(response, 503, R"({"error":"storage is too slow; retry later"})");
        }
        const fg::Result<bool> result = stored.get();
        if (!result) {
            return Reply(response, 503, R"({"error":"could not store"})");
        }
        Reply(response, 200, *result ? R"({"status":"stored"})" : R"({"status":"duplicate"})");
    });

    if (port == 0) {
        port = server.bind_to_any_port(host);
        if (port <= 0) {
            std::cerr << "bench_inbox_only_server: cannot listen on " << listen << "\n";
            return 1;
        }
    } else if (!server.bind_to_port(host, port)) {
        std::cerr << "bench_inbox_only_server: cannot listen on " << listen << " (in use?)\n";
        return 1;
    }
    std::thread serving([&server] { server.listen_after_bind(); });
    std::cout << "inbox-only listening on " << host << ":" << port << std::endl;
    int received = 0;
    sigwait(&signals, &received);
    server.stop();
    serving.join();
    writer.Stop();
    std::cout << "inbox-only stopped" << std::endl;
    return 0;
}
