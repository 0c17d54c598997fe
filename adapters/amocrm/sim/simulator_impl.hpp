#pragma once

// Simulator::Impl, internal to fg_amocrm_sim: the state behind a Simulator and the route handlers,
// which live in one file per resource (see the comments below and README.md).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "adapters/amocrm/sim/model.hpp"
#include "adapters/amocrm/sim/simulator.hpp"
#include "adapters/amocrm/sim/webhooks.hpp"
#include "src/common/clock.hpp"
#include "src/common/result.hpp"
#include "src/common/rng.hpp"
#include "src/common/time.hpp"

namespace fg::adapters::amocrm::sim {

struct Simulator::Impl {
    using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;
    using SteadyTime = std::chrono::steady_clock::time_point;

    static constexpr int kMaxPage = 250;
    static constexpr std::size_t kMaxBatch = 250;

    explicit Impl(SimOptions opts)
        : options(std::move(opts)),
          clock(options.clock != nullptr ? options.clock : &system_clock),
          sender(*clock, options.webhook_timeout),
          rate_rng(options.seed ^ 0xa5a5a5a5ULL),
          token_rng(std::random_device{}() ^ (options.seed << 20)) {}

    SimOptions options;
    SystemClock system_clock;
    const Clock* clock;
    std::unique_ptr<httplib::Server> server;  // an SSLServer when TLS is configured
    std::thread listen_thread;
    int port = -1;
    bool started = false;
    std::string token;

    mutable std::mutex mutex;  // guards model, OAuth state
    Model model;
    WebhookSender sender;
    std::map<std::string, Timestamp> codes;           // authorization code -> expiry
    std::map<std::string, Timestamp> access_tokens;   // -> expiry
    std::map<std::string, Timestamp> refresh_tokens;  // -> expiry
    std::int64_t next_webhook_id = 1;

    mutable std::mutex rate_mutex;
    std::deque<SteadyTime> window;
    std::deque<SteadyTime> recent_429;
    bool blocked = false;
    Rng rate_rng;

    mutable std::mutex stats_mutex;
    SimStats stats;

    Rng token_rng;  // under `mutex`

    // ---- plumbing (simulator.cpp) ----

    std::string BaseUrl() const;
    /// Sends the webhooks of a change to every destination subscribed to any of its items.
    void Dispatch(const std::vector<HookItem>& hooks);
    std::int64_t Actor(const std::optional<std::int64_t>& given) const;
    /// Parses a JSON array body of 1..max items; sets the error response otherwise.
    std::optional<nlohmann::json> ReadBatch(const httplib::Request& req, httplib::Response& res,
                                            std::size_t max);
    static std::string RequestIdOr(const std::string& given, std::size_t index);

    /// Runs a manager operation under the model lock and sends the webhooks it produced.
    template <typename Fn>
    Result<void> Mutate(Fn&& fn) {
        std::lock_guard lock(mutex);
        std::vector<HookItem> hooks;
        Result<void> result = fn(hooks);
        Dispatch(hooks);
        return result;
    }

    // ---- every request (gate.cpp) ----

    void Count(const std::string& name);
    /// Block, rate limit and auth, in amoCRM's order. False when the response is already set.
    bool Gate(const httplib::Request& req, httplib::Response& res, bool needs_auth);

    // ---- the route table (routes.cpp) ----

    /// Registers `handler` behind Count and Gate.
    void Route(const std::string& method, const std::string& pattern, const std::string& name,
               bool needs_auth, Handler handler);
    void Register();

    // ---- leads (leads_routes.cpp) ----

    void ListLeads(const httplib::Request& req, httplib::Response& res);
    void GetLeadById(const httplib::Request& req, httplib::Response& res);
    void CreateLeads(const httplib::Request& req, httplib::Response& res);
    void PatchLeads(const httplib::Request& req, httplib::Response& res,
                    std::optional<std::int64_t> path_id);

    // ---- tasks (tasks_routes.cpp) ----

    void ListTasks(const httplib::Request& req, httplib::Response& res);
    void GetTaskById(const httplib::Request& req, httplib::Response& res);
    void CreateTasks(const httplib::Request& req, httplib::Response& res);
    void PatchTasks(const httplib::Request& req, httplib::Response& res,
                    std::optional<std::int64_t> path_id);

    // ---- notes (notes_routes.cpp) ----

    void ListNotes(const httplib::Request& req, httplib::Response& res,
                   std::optional<std::int64_t> lead_id);
    void CreateNotes(const httplib::Request& req, httplib::Response& res,
                     std::optional<std::int64_t> lead_id);

    // ---- events (events_routes.cpp) ----

    void ListEvents(const httplib::Request& req, httplib::Response& res);

    // ---- webhook subscriptions (webhooks_routes.cpp) ----

    void ListWebhooks(const httplib::Request& req, httplib::Response& res);
    void AddWebhook(const httplib::Request& req, httplib::Response& res);
    void DeleteWebhook(const httplib::Request& req, httplib::Response& res);

    // ---- OAuth (oauth.cpp) ----

    std::string RandomHex(std::size_t bytes);
    /// A JWT-shaped token (amoCRM's access tokens are RS256 JWTs; the signature here is random).
    std::string MakeJwt(Timestamp expires);
    void AccessToken(const httplib::Request& req, httplib::Response& res);
};

}  // namespace fg::adapters::amocrm::sim
