#pragma once

// Simulator::Impl, internal to fg_bitrix24_sim: the portal's state, the method table and the
// HTTP plumbing. Methods live in one file per area: deal_methods.cpp (deals, pipelines, stages,
// fields, stage history, users), work_methods.cpp (activities, to-dos, tasks, comments,
// notifications), event_methods.cpp (event.*, batch); server.cpp is HTTP, auth and OAuth.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "adapters/bitrix24/sim/delivery.hpp"
#include "adapters/bitrix24/sim/limits.hpp"
#include "adapters/bitrix24/sim/model.hpp"
#include "adapters/bitrix24/sim/simulator.hpp"
#include "src/common/clock.hpp"
#include "src/common/rng.hpp"

namespace fg::adapters::bitrix24::sim {

class Activity;

/// A method's answer: the result (with total and next for lists) or an error.
struct Reply {
    int status = 200;
    nlohmann::json result{};
    std::optional<long> total{};
    std::optional<long> next{};
    std::string error{};
    std::string description{};

    bool ok() const { return status == 200; }
    static Reply Fail(int status, std::string error, std::string description) {
        Reply reply;
        reply.status = status;
        reply.error = std::move(error);
        reply.description = std::move(description);
        return reply;
    }
    /// crm.*'s "Not found": HTTP 400 with an empty code (bitrix24.md §2.2).
    static Reply NotFound() { return Fail(400, "", "Not found"); }
    static Reply Invalid(std::string description) { return Fail(400, "", std::move(description)); }
};

/// Who calls: the inbound webhook's user or the OAuth app.
struct Caller {
    bool app = false;
    std::int64_t user = 1;
};

struct Simulator::Impl {
    using Method = std::function<Reply(Impl&, const nlohmann::json& params, const Caller&)>;

    explicit Impl(SimulatorOptions opts);
    ~Impl();

    SimulatorOptions options;
    SystemClock system_clock;
    const Clock* clock;
    std::unique_ptr<httplib::Server> server;
    std::thread listen_thread;
    int port = -1;
    bool started = false;
    std::string webhook_token;
    std::string application_token;
    std::string client_secret;

    mutable std::mutex mutex;  // guards everything below but stats
    Model model;
    LeakyBucket bucket;
    OperatingBudget budget;
    std::map<std::string, Timestamp> access_tokens;   // -> expiry
    std::map<std::string, Timestamp> refresh_tokens;  // -> expiry
    Rng token_rng;
    std::map<std::string, Method> methods;
    EventSender sender;
    std::unique_ptr<Activity> activity;

    mutable std::mutex stats_mutex;
    SimStats stats;

    std::string Url() const;
    std::string RandomHex(std::size_t bytes);  // under `mutex`
    SimTokens IssueTokensLocked();

    /// Runs one method (a batch sub-call too): the operating budget, the call and write
    /// counters. Under `mutex`.
    Reply Call(const std::string& method, const nlohmann::json& params, const Caller& caller);
    /// Posts the events the model recorded to their handlers. Under `mutex`.
    void Flush();
    std::string EventBody(const SimEvent& event, const SimHandler& handler);
    /// The envelope's "time" block.
    nlohmann::json TimeBlock(const std::string& method, Timestamp start);

    /// A manager operation under the lock, its events sent.
    template <typename Fn>
    auto Mutate(Fn&& fn) {
        std::lock_guard lock(mutex);
        auto result = fn(model, clock->Now());
        Flush();
        return result;
    }

    void RegisterDealMethods();
    void RegisterWorkMethods();
    void RegisterEventMethods();
    void RegisterRoutes();
    void ServeRest(const httplib::Request& req, httplib::Response& res, std::string method,
                   std::optional<std::pair<std::string, std::string>> webhook);
    void ServeOAuth(const httplib::Request& req, httplib::Response& res);
};

/// Writes `reply` in the envelope (or the error body) with its HTTP status.
void WriteReply(httplib::Response& res, const Reply& reply, const nlohmann::json& time);
/// The request's parameters: the query, then a form or JSON body on top.
std::optional<nlohmann::json> RequestParams(const httplib::Request& req);

}  // namespace fg::adapters::bitrix24::sim
