#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adapters/bitrix24/sim/delivery.hpp"
#include "adapters/bitrix24/sim/model.hpp"
#include "src/common/clock.hpp"
#include "src/common/result.hpp"
#include "src/common/time.hpp"

namespace fg::adapters::bitrix24::sim {

/// An outbound webhook configured on the portal: every event it lists (empty: all) is posted
/// to `url`, with the portal's application token and no OAuth tokens.
struct OutboundWebhook {
    std::string url{};
    std::vector<std::string> events{};
};

struct SimulatorOptions {
    std::uint64_t seed = 1;
    int deals = 0;                    // generated at Start, with histories, to-dos, tasks, comments
    const Clock* clock = nullptr;     // CRM time, the bucket and token lifetimes; null = system
    std::int64_t webhook_user = 1;    // the inbound webhook's /rest/<user>/<token>/
    std::string webhook_token{};      // empty = generated
    std::string application_token{};  // what events carry in auth[application_token]; "" = gen.
    std::string client_id = "local.5f2b0c0d1e2f30.12345678";
    std::string client_secret{};  // empty = generated
    double rate = 2;              // the leaky bucket drains this many requests per second
    double burst = 50;            // the bucket's size; rate <= 0 turns the limit off
    bool activity = false;        // simulated managers work on a thread of their own from Start

    std::string host = "127.0.0.1";
    int port = 0;                            // 0 = any free port
    std::string domain = "sim.bitrix24.ru";  // auth[domain]; client_endpoint is the real URL
    std::string member_id = "d897063e1ce7c5eb9f04b9751eef5915";
    Duration access_ttl{3600};
    Duration refresh_ttl{180LL * 86400};
    /// Simulated execution seconds per call of a method (default 0); past `operating_limit`
    /// in 10 minutes the method answers 429 OPERATION_TIME_LIMIT.
    std::map<std::string, double> method_seconds{};
    double operating_limit = 480;
    std::vector<OutboundWebhook> outbound{};
    double drop_events = 0;  // share of event POSTs lost on purpose (seeded)
    std::chrono::milliseconds delivery_timeout{2000};
    CommentIdShape comment_id_shape = CommentIdShape::kFields;
    /// Lists walk ID order and the owner indexes where the answer allows (a cost, not a
    /// behaviour); false renders and sorts every row, for tests that compare the two.
    bool fast_lists = true;
    // HTTP worker threads: cpp-httplib holds one per open connection (keep-alive ones too), so
    // a flood of parallel clients is answered at once rather than queued behind idle sockets.
    int threads = 128;
};

struct SimStats {
    std::uint64_t requests = 0;                     // HTTP requests to /rest and /oauth
    std::map<std::string, std::uint64_t> calls{};   // method -> calls (batch sub-calls too)
    std::map<std::string, std::uint64_t> writes{};  // method -> successful writes
    std::uint64_t limit_errors = 0;                 // 503 QUERY_LIMIT_EXCEEDED
    std::uint64_t operation_limit_errors = 0;       // 429 OPERATION_TIME_LIMIT
    std::uint64_t unauthorized = 0;                 // 401 of any kind
    std::uint64_t refreshes = 0;                    // tokens issued by /oauth/token/
    EventStats events{};
};

/// A token pair as /oauth/token/ answers it.
struct SimTokens {
    std::string access_token{};
    std::string refresh_token{};
    Timestamp expires{};
};

/// A Bitrix24 portal behind a real HTTP server on loopback, speaking REST as bitrix24.md
/// documents it: inbound webhook and OAuth addressing, the {result,total,next,time} envelope,
/// string-typed crm.deal fields, 50-row paging with start=-1, batch, the leaky bucket on the
/// injected clock, and form-encoded events posted once to every bound handler.
///
/// Thread-safe: HTTP handlers, managers and callers share one model mutex. Stop() (and the
/// destructor) stops serving and delivering and joins every thread.
class Simulator {
public:
    explicit Simulator(SimulatorOptions options = {});
    ~Simulator();
    Simulator(const Simulator&) = delete;
    Simulator& operator=(const Simulator&) = delete;

    /// Builds the portal, binds and serves. kUnavailable when the address cannot be bound;
    /// kConflict when already started.
    Result<void> Start();
    void Stop();

    std::string Url() const;         // "http://127.0.0.1:<port>"
    std::string WebhookUrl() const;  // Url() + "/rest/<user>/<token>/"
    std::int64_t WebhookUser() const;
    std::string WebhookToken() const;
    std::string ApplicationToken() const;
    std::string ClientId() const;
    std::string ClientSecret() const;
    const Clock& clock() const;

    /// Installs the app: a fresh access/refresh pair (what OnAppInstall hands over).
    SimTokens IssueTokens();
    /// An outbound webhook from now on; returns its handler id.
    std::int64_t AddOutboundWebhook(const OutboundWebhook& webhook);

    // Test hooks.
    SimStats Stats() const;
    void DropEvents(int count);  // the next `count` event POSTs are lost
    bool WaitEventsIdle(std::chrono::milliseconds timeout = std::chrono::seconds{10}) const;

    // Inspection (copies taken under the lock).
    std::optional<SimDeal> GetDeal(std::int64_t id) const;
    std::optional<SimActivity> GetActivity(std::int64_t id) const;
    std::optional<SimTask> GetTask(std::int64_t id) const;
    std::vector<SimActivity> DealActivities(std::int64_t deal_id) const;  // deleted excluded
    std::vector<SimTask> DealTasks(std::int64_t deal_id) const;           // deleted excluded
    std::vector<SimComment> DealComments(std::int64_t deal_id) const;
    std::vector<SimStageHistory> DealHistory(std::int64_t deal_id) const;
    std::vector<SimNotification> Notifications() const;
    std::vector<SimHandler> Handlers() const;
    std::vector<SimCategory> Categories() const;
    std::vector<SimUser> Users() const;
    std::vector<SimUserField> UserFields() const;
    std::size_t DealCount() const;  // not deleted
    /// Ids of a user's open deals, oldest first, at most `limit`.
    std::vector<std::int64_t> OpenDealIds(std::int64_t responsible, std::size_t limit) const;
    /// Every activity and task ever made (deleted included), for overdue accounting.
    std::vector<SimActivity> AllActivities() const;
    std::vector<SimTask> AllTasks() const;

    // Manager operations: validated like the API, recorded, and sent as events. `actor` 0 = the
    // administrator. Errors are kInvalidInput (kNotFound for an unknown id).
    Result<std::int64_t> CreateDeal(const DealDraft& draft, std::int64_t actor = 0);
    Result<void> UpdateDeal(std::int64_t id, const std::map<std::string, std::string>& fields,
                            std::int64_t actor = 0);
    Result<void> MoveDeal(std::int64_t id, const std::string& stage_id, std::int64_t actor = 0);
    /// To another pipeline: no ONCRMDEALUPDATE, only ONCRMDEALMOVETOCATEGORY (to app handlers).
    Result<void> MoveDealToCategory(std::int64_t id, int category_id,
                                    const std::string& stage_id = "", std::int64_t actor = 0);
    Result<void> DeleteDeal(std::int64_t id);
    Result<std::int64_t> AddTodo(std::int64_t deal_id, const std::string& subject,
                                 Timestamp deadline, std::int64_t responsible);
    Result<void> CompleteTodo(std::int64_t id);
    Result<void> RescheduleTodo(std::int64_t id, Timestamp deadline);
    Result<void> DeleteTodo(std::int64_t id);
    Result<std::int64_t> AddTask(std::int64_t deal_id, const std::string& title,
                                 std::optional<Timestamp> deadline, std::int64_t responsible);
    Result<void> CompleteTask(std::int64_t id);
    Result<void> RescheduleTask(std::int64_t id, Timestamp deadline);
    Result<void> DeleteTask(std::int64_t id);
    Result<std::int64_t> AddComment(std::int64_t deal_id, const std::string& text,
                                    std::int64_t author = 0);
    /// An event for an entity the rules do not judge, e.g. "ONCRMLEADADD",
    /// "ONCRMCONTACTUPDATE"; returns the entity id it names.
    std::int64_t RaiseOtherEvent(const std::string& name);

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace fg::adapters::bitrix24::sim
