#pragma once

// What the end-to-end tests share around `funnelguard serve` run as a child process: waiting for
// a condition with a bound, reading /metrics, the admin API of one tenant, and `connect`.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tests/support/process.hpp"

namespace fg::testing {

/// Polls `done` every 50 ms until it holds, for at most `bound`; returns its last answer. A bound
/// caps a failure, it is no timing assertion: generous for the sanitized build on a loaded
/// 2-core machine (a 429 storm, a kill -9 and a restart took over 30 s to settle there).
bool Eventually(const std::function<bool()>& done,
                std::chrono::milliseconds bound = std::chrono::seconds{120});

/// The value of the sample `name` (with its labels, as written) in a /metrics page; -1 when
/// absent.
double Metric(const std::string& page, const std::string& name);

/// How to run and address one `funnelguard serve`.
struct ServeOptions {
    std::string binary{};       // the funnelguard executable (FG_BINARY)
    std::string tenant{};       // whose deals, violations and webhooks the helpers address
    std::string admin_token{};  // [server] admin_token
    /// Wait for GET /readyz to answer 200 (e.g. a CRM directory loaded) before returning.
    bool wait_ready = false;
};

/// `funnelguard serve --config <config_path>` listening on 127.0.0.1:<port>: started by the
/// constructor, which waits for its "listening" line (and, if asked, for /readyz), and stopped
/// by Stop or the destructor. Every request has a 30 s read timeout.
class Service {
public:
    Service(const std::string& config_path, int port, ServeOptions options);
    ~Service();
    Service(const Service&) = delete;
    Service& operator=(const Service&) = delete;

    /// Sends `signal` and waits for the exit; returns the exit status.
    int Stop(int signal);

    /// GET `path` without credentials.
    httplib::Result Get(const std::string& path);
    /// GET /api/v1/deals/<tenant>/<id>; nullopt unless 200.
    std::optional<nlohmann::json> Deal(std::int64_t id);
    /// GET /api/v1/violations?tenant=<tenant>&<query>: its "violations" (REQUIREs a 200).
    nlohmann::json Violations(const std::string& query);
    /// GET /api/v1/inbox?state=<state> (REQUIREs a 200).
    nlohmann::json Inbox(const std::string& state);
    /// POST /api/v1/violations/<id>/ack: the status, -1 without an answer.
    int Ack(std::int64_t violation);
    /// The /metrics page; empty when serve does not answer it.
    std::string Metrics();
    /// What serve still has to do: "" once its whole inbox is processed (fetched and applied)
    /// and every action it planned is delivered; else what is pending, for a failure's message.
    std::string Busy();
    /// POST /hooks/<crm>/<tenant> with `body`.
    httplib::Result PostHook(const std::string& crm, const std::string& body,
                             const std::string& content_type);

private:
    httplib::Headers Admin() const;

    ServeOptions options_;
    std::unique_ptr<ChildProcess> process_;
    std::unique_ptr<httplib::Client> client_;
};

/// `funnelguard connect --config <config> --tenant <tenant>` with stderr merged: its output;
/// REQUIREs exit status 0.
std::string Connect(const std::string& binary, const std::string& config,
                    const std::string& tenant);

}  // namespace fg::testing
