#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adapters/amocrm/sim/model.hpp"
#include "adapters/amocrm/sim/webhooks.hpp"
#include "src/common/clock.hpp"
#include "src/common/result.hpp"
#include "src/common/time.hpp"

namespace fg::adapters::amocrm::sim {

/// The OAuth 2.0 integration the simulator knows (POST /oauth2/access_token).
struct OAuthOptions {
    std::string client_id = "sim-client-id";
    std::string client_secret = "sim-client-secret";
    std::string redirect_uri = "https://funnelguard.example/amocrm/oauth";  // empty = not checked
    std::vector<std::string> codes{};  // authorization codes exchangeable once, valid code_ttl
    Duration code_ttl{20 * 60};
    Duration access_ttl{86400};
    Duration refresh_ttl{90 * 86400};
};

struct SimOptions {
    std::string host = "127.0.0.1";
    int port = 0;  // 0 = ephemeral
    /// The long-lived token accepted as "Authorization: Bearer"; empty = generate one (Token()).
    std::string token{};
    std::uint64_t seed = 1;
    int leads = 0;  // leads generated at Start, with their histories, tasks and notes
    /// amoCRM's limit: more requests than this in any one-second window get 429 (<= 0: off).
    double rps = 7;
    /// The window `rps` counts requests in (real time). Tests lengthen it so that "over the
    /// limit" does not depend on how fast they run.
    std::chrono::milliseconds rate_window{1000};
    /// CRM time: created_at/updated_at, events, webhook fields and the retry schedule, OAuth
    /// lifetimes. nullptr = the system clock. Must outlive the simulator.
    const Clock* clock = nullptr;
    std::string subdomain = "sim";
    std::int64_t account_id = 31000001;
    /// Share of 429 answers sent as nginx HTML without Retry-After (seeded); the rest are the
    /// documented JSON problem with `retry_after`.
    double html_429_share = 0.5;
    int retry_after_seconds = 300;  // in JSON 429 bodies
    /// After this many 429s within `block_window` (real time) every request gets an HTML 403
    /// until Unblock(), as amoCRM blocks abusive accounts.
    int block_after_429 = 1000;
    std::chrono::milliseconds block_window{60'000};
    /// The zone of "YYYY-MM-DD HH:MM:SS" strings in task and note webhooks (UTC in the
    /// reference samples).
    Duration webhook_utc_offset{0};
    Duration webhook_timeout{2};
    /// HTTP worker threads kept ready. cpp-httplib holds one thread per open connection
    /// (keep-alive included), so the pool grows to `max_threads` rather than queue a new
    /// connection behind idle ones: an over-limit request gets its 429 at once, as amoCRM's.
    int threads = 8;
    int max_threads = 1024;      // connections beyond this many open at once wait for a thread
    int keep_alive_seconds = 5;  // an idle keep-alive connection is closed after this
    /// PEM files: both set = serve HTTPS (BaseUrl() and _links say https), neither = HTTP.
    std::string tls_cert_file{};
    std::string tls_key_file{};
    OAuthOptions oauth{};
};

struct SimStats {
    std::uint64_t requests = 0;                        // every API and OAuth request
    std::uint64_t rate_limited = 0;                    // answered 429
    std::uint64_t blocked = 0;                         // answered 403 (account blocked)
    std::uint64_t unauthorized = 0;                    // answered 401
    std::map<std::string, std::uint64_t> endpoints{};  // "GET /api/v4/leads" -> requests
    WebhookStats webhooks{};
};

/// A new lead as a manager or a test creates it. Zero ids take the defaults: the main
/// pipeline, its first open stage, the admin user.
struct LeadDraft {
    std::string name{};
    std::int64_t price = 0;
    std::int64_t pipeline_id = 0;
    std::int64_t status_id = 0;
    std::int64_t responsible_user_id = 0;
    std::vector<LeadField> fields{};  // select values may give only enum_id
};

/// An amoCRM account behind a real HTTP server (loopback by default) speaking API v4 as
/// amocrm.md documents it: HAL JSON, 250-per-page paging ending in 204, validation errors,
/// 401/429/403, OAuth code exchange with rotating refresh tokens, and legacy-v2 form webhooks
/// for every change, whoever made it (API, test hooks, simulated managers), delivered with
/// amoCRM's retry schedule on the injected clock.
///
/// Thread-safe: HTTP handlers, the webhook sender and callers of the public methods share one
/// model mutex. Stop() (and the destructor) joins every thread.
class Simulator {
public:
    explicit Simulator(SimOptions options = {});
    ~Simulator();
    Simulator(const Simulator&) = delete;
    Simulator& operator=(const Simulator&) = delete;

    /// Builds the account (and `leads` generated leads), binds and starts serving. kUnavailable
    /// when the address cannot be bound; kInvalidInput when the TLS files cannot be loaded;
    /// kConflict when already started.
    Result<void> Start();
    void Stop();

    int port() const;
    std::string BaseUrl() const;  // "http://127.0.0.1:<port>" ("https://..." with TLS)
    std::string Token() const;    // the long-lived token
    const Clock& clock() const;
    std::string Subdomain() const;
    std::int64_t AccountId() const;

    /// A fresh authorization code for the OAuth client, valid `code_ttl` on the clock.
    std::string IssueAuthorizationCode();

    // Test hooks.
    /// The next `count` outgoing webhook bodies are silently lost.
    void DropWebhooks(int count);
    SimStats Stats() const;
    /// Waits until no webhook first attempt is pending and no retry is due (false on timeout).
    bool WaitWebhooksIdle(std::chrono::milliseconds timeout = std::chrono::milliseconds{
                              10'000}) const;
    void Block();
    void Unblock();  // also forgets the 429 history
    bool Blocked() const;
    /// Requests in the current `rate_window` (real time): 0 once the account has been quiet for
    /// a whole window, so that the next `rps` requests all pass.
    std::size_t RequestsInRateWindow() const;

    // Inspection (copies, taken under the lock).
    std::optional<SimLead> GetLead(std::int64_t id) const;
    std::optional<SimTask> GetTask(std::int64_t id) const;
    std::vector<SimTask> LeadTasks(std::int64_t lead_id) const;  // deleted ones excluded
    std::vector<SimNote> LeadNotes(std::int64_t lead_id) const;
    std::vector<SimEvent> LeadEvents(std::int64_t lead_id) const;
    std::size_t LeadCount() const;
    std::size_t TaskCount() const;
    std::size_t NoteCount() const;
    std::size_t EventCount() const;
    std::vector<SimPipeline> Pipelines() const;
    std::vector<SimUser> Users() const;
    std::vector<SimField> Fields() const;
    std::vector<SimWebhook> Webhooks() const;
    /// Ids of open (not won/lost, not deleted) leads of a user, oldest first, at most `limit`.
    std::vector<std::int64_t> OpenLeadIds(std::int64_t responsible, std::size_t limit) const;

    // Manager operations: validated like the API, recorded in the event log, sent as webhooks.
    // `actor` is the user making the change (0 = robot).
    Result<std::int64_t> CreateLead(const LeadDraft& draft, std::int64_t actor);
    /// Moves to `status_id` (of `pipeline_id`, 0 = the lead's pipeline).
    Result<void> MoveLead(std::int64_t lead_id, std::int64_t status_id, std::int64_t pipeline_id,
                          std::int64_t actor);
    Result<void> UpdateLead(std::int64_t lead_id, const LeadPatch& patch, std::int64_t actor);
    Result<void> DeleteLead(std::int64_t lead_id, std::int64_t actor);
    Result<void> RestoreLead(std::int64_t lead_id, std::int64_t actor);
    Result<std::int64_t> AddTask(std::int64_t lead_id, const std::string& text, Timestamp due,
                                 std::int64_t responsible, std::int64_t actor,
                                 int task_type_id = 1);
    Result<void> CompleteTask(std::int64_t task_id, const std::string& result, std::int64_t actor);
    Result<void> RescheduleTask(std::int64_t task_id, Timestamp due, std::int64_t actor);
    Result<void> DeleteTask(std::int64_t task_id, std::int64_t actor);
    Result<std::int64_t> AddNote(std::int64_t lead_id, const std::string& text, std::int64_t actor);

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace fg::adapters::amocrm::sim
