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
#include <iostream>
#include <string>

#include <httplib.h>

#include "adapters/generic/decoder.hpp"
#include "bench/bench_server.hpp"
#include "src/common/clock.hpp"
#include "src/common/secret.hpp"
#include "src/common/signals.hpp"
#include "src/engine/writer.hpp"
#include "src/storage/store.hpp"

namespace {

constexpr auto kCommitWait = std::chrono::seconds{10};

}  // namespace

int main(int argc, char** argv) {
    using fg::bench::Reply;
    const sigset_t signals = fg::BlockStopSignals();
    if (argc < 3 || argc > 4) {
        std::cerr << "usage: bench_inbox_only_server DB SECRET [host:port]\n";
        return 2;
    }
    const std::string db_path = argv[1];
    const std::string secret = argv[2];
    const auto listen = fg::bench::ParseListen("bench_inbox_only_server", argc > 3 ? argv[3] : "");
    if (!listen) {
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
    fg::bench::ConfigureLikeServe(server);
    server.Post(R"(/hooks/generic/([^/]+))", [&](const httplib::Request& request,
                                                 httplib::Response& response,
                                                 const httplib::ContentReader& reader) {
        const std::string header = request.get_header_value("Authorization");
        const std::string token = header.rfind("Bearer ", 0) == 0 ? header.substr(7) : "";
        if (!fg::SecretEquals(token, secret)) {
            return Reply(response, 401, R"({"error":"missing or wrong bearer token"})");
        }
        auto body = fg::bench::ReadBody(reader);
        if (!body) {
            return Reply(response, 400, R"({"error":"the body could not be read"})");
        }
        if (auto valid = decoder.Validate(*body); !valid) {
            return Reply(response, 400, R"({"error":"invalid body"})");
        }
        fg::storage::InboxItem item;
        item.tenant = request.matches[1];
        item.crm = "generic";
        item.dedupe_key = decoder.DedupeKey(*body);
        item.body = std::move(*body);
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
    const int exit_code = fg::bench::ServeUntilStopped(server, *listen, "inbox-only", signals);
    writer.Stop();
    return exit_code;
}
