#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "src/common/clock.hpp"
#include "src/config/config.hpp"
#include "src/crm/connector.hpp"
#include "src/engine/chat.hpp"
#include "src/engine/fetch_worker.hpp"
#include "src/engine/ingest.hpp"
#include "src/engine/metrics.hpp"
#include "src/engine/outbox_worker.hpp"
#include "src/engine/writer.hpp"
#include "src/outbox/action.hpp"

namespace fg::engine {

/// A tenant's sink and its pace (no sink: nowhere to send actions).
using SinkFactory = std::function<outbox::PacedSink(const config::TenantConfig& tenant)>;
/// A tenant's chat notifiers' sinks, by channel, each with its pace.
using ChannelSinkFactory =
    std::function<std::map<std::string, outbox::PacedSink>(const config::TenantConfig& tenant)>;

/// The API side of a CRM tenant's adapter (null for a tenant whose CRM has no API).
using ConnectorFactory =
    std::function<std::unique_ptr<crm::Connector>(const config::TenantConfig& tenant)>;

/// What completes a CRM tenant's thin webhook elements (null when its bodies are complete).
using FetcherFactory =
    std::function<std::unique_ptr<crm::Fetcher>(const config::TenantConfig& tenant)>;

/// Hooks for what happens, called on the thread that did it, after the commit.
struct Observer {
    std::function<void(const std::string& tenant, const ViolationChange&)> on_violation{};
    std::function<void(const outbox::Action&, const outbox::DeliveryResult&)> on_delivery{};
};

struct EngineOptions {
    const config::AppConfig* config = nullptr;
    const Clock* clock = nullptr;
    Decoders decoders{};
    SinkFactory make_sink{};            // returns null for a tenant with nowhere to send actions
    ConnectorFactory make_connector{};  // a tenant with a connector writes back through it
    ChannelSinkFactory make_notifier_sinks{};  // the tenant's chat channels (none: no messages)
    FetcherFactory make_fetcher{};             // asked after make_connector, for every tenant
    // The tenant's chat channels (the program: each notifier's MakeChannel), and the sink the
    // chat core makes of each (notify::MakeChatSink): both set, the engine keeps the channels,
    // gives each sink the tenant's address book, checks the channels at start and runs their
    // listeners. Beside make_notifier_sinks, which gives ready sinks (tests).
    ChatChannelFactory make_chat_channels{};
    ChatSinkMaker make_chat_sink{};
    Observer observer{};
    // The threads that act on time: the minute sweep and the nightly run, and the fetch worker
    // (items that wait for the CRM's API, tried again with backoff). false: the caller runs them
    // (Sweep, Fetch, Reconcile).
    bool timers = true;
    bool deliver = true;  // run the outbox worker
    // Log a warning per stage or field the rules name that a CRM directory lacks (false: the
    // caller reports NameProblems itself, as reconcile does).
    bool log_name_problems = true;
    // Process the inbox as webhooks come; false: only Drain() does (the demo steps a manual clock
    // and processes each step's webhooks together, so that a seed gives the same run every time).
    bool background = true;
    // Inbox items per processing transaction at most. Large, because a transaction's cost is
    // mostly the pages it rewrites: webhooks touch deals at random, so small transactions write
    // the same B-tree pages again and again (bench/README.md §1). A slice still stops early
    // when webhooks wait for their group commit (Writer::kSliceWhileWaiting).
    int ingest_batch = 1024;
};

struct ReconcileOptions {
    bool full = false;  // everything, not just what changed since the last run
    Duration overlap = std::chrono::hours{1};  // re-read before the watermark (clock skew)
    std::function<void(const std::string& line)> progress{};
};

struct ReconcileReport {
    bool resumed = false;      // continued a run that was stopped half-way
    bool record_only = false;  // first run: violations recorded, no actions about the past
    int pages = 0;             // pages pulled from the CRM
    int read = 0;              // events the pages held (new or already mirrored)
    int events = 0;            // new events applied (the rest the mirror had already)
    int deals = 0;             // deals the new events touched
    int transitions = 0;       // stage changes added to the history
    int judged = 0;            // deals re-judged afterwards
    int opened = 0;            // violations opened
    int resolved = 0;          // violations resolved
};

/// "P page(s), R event(s) read, E new on D deal(s), T stage change(s) recovered": what the pages
/// pulled so far gave. Both reconcile's progress lines and its summary say it, from one report.
std::string FormatPullCounts(const ReconcileReport& report);

/// The running core: the single writer with inbox processing, the fetch worker, the minute
/// timer, the nightly schedule and the outbox worker.
class Engine {
public:
    explicit Engine(EngineOptions options);
    ~Engine();

    /// Opens the database (applying migrations) and starts the threads.
    Result<void> Start();
    void Stop();

    /// Stores a webhook body in the inbox (the 200 waits for this). true = new, false = duplicate.
    /// `received_at`: when it came (the decoder's time for what carries none; the same value
    /// must reach ValidateAndDecode). `decoded`: the body as the CRM's decoder returned it
    /// (ValidateAndDecode), kept in memory for its processing so that it is not decoded twice.
    std::future<Result<bool>> Intake(const std::string& tenant, const std::string& crm,
                                     std::string body, Timestamp received_at,
                                     std::optional<crm::Decoded> decoded = {});
    /// Processes everything pending in the inbox now (stored and fetched items; waiting ones are
    /// the fetch stage's); returns the number of events applied.
    Result<int> Drain();
    /// Runs one pass of the fetch stage on the calling thread, as its worker does (for a caller
    /// without it: timers = false): the waiting items due now are fetched, put off or failed.
    /// Returns how many moved on; Drain applies what was fetched.
    Result<int> Fetch();
    /// Delivers the outbox items due now on the calling thread, as the outbox worker does, and
    /// returns how many were attempted (for a caller that runs without it: deliver = false).
    Result<int> Deliver();
    /// Runs the minute timer's work now (grace periods, overdue tasks, escalations).
    Result<int> Sweep();
    /// Re-judges every deal of a tenant (all when empty): the nightly run.
    /// Also counts the violations it opens and resolves into `tally`, when given; `act` = false
    /// records violations without planning their actions.
    Result<int> JudgeAll(const std::string& tenant, ReconcileReport* tally = nullptr,
                         bool act = true);
    /// Acknowledges an open violation; kNotFound / kConflict when it is missing / not open.
    Result<bool> Acknowledge(std::int64_t violation_id);

    /// Pulls the CRM's state through the tenant's connector, repairs the mirror (recovered stage
    /// transitions go into the history at their CRM time), then re-judges every deal. Each
    /// applied page commits with the cursor of the next one, so a killed run resumes there.
    Result<ReconcileReport> Reconcile(const std::string& tenant, const ReconcileOptions& options);
    /// Fetches the tenant's pipelines and users from its CRM and starts judging against them.
    Result<void> RefreshDirectory(const std::string& tenant);
    /// The tenant's connector, or null.
    crm::Connector* ConnectorOf(const std::string& tenant) const;
    /// Tenants whose CRM account refuses calls (e.g. blocked with 403), with the reason.
    std::map<std::string, std::string> BlockedAccounts() const;
    /// The config with each CRM tenant's pipelines from its directory; replaced, never changed.
    std::shared_ptr<const config::AppConfig> Config() const;

    /// Ready to serve (GET /readyz): storage accepts writes (not failed, disk not full), and every
    /// tenant with a CRM connector has loaded its directory since start (before that its webhooks
    /// are stored and wait). `missing` names those tenants; `storage` says what is wrong with the
    /// storage.
    struct Readiness {
        bool ready = false;
        std::string storage{};
        std::vector<std::string> missing{};
        /// Stages and fields the rules name that the CRM directories lack (never makes it not
        /// ready: the rest of the rules judge).
        std::size_t config_problems = 0;
        /// Chat channels that do not work (never makes it not ready: the messages wait), by
        /// "tenant/channel".
        std::map<std::string, std::string> chat_channels{};
        /// Chat addresses found unusable, by tenant (never makes it not ready either).
        std::map<std::string, std::vector<StoredAddressBook::BrokenShown>> chat_addresses{};
    };
    Readiness Ready() const;
    /// The stages and fields the tenant's rules name that its CRM directory lacks, as of the
    /// directory last loaded (stored or fetched); empty before one is known.
    std::vector<config::ConfigProblem> NameProblems(const std::string& tenant) const;
    /// The number of those per tenant whose directory is known (for /metrics).
    std::map<std::string, std::size_t> NameProblemCounts() const;
    /// When the tenant's directory last loaded (the time the load started), or nullopt.
    std::optional<Timestamp> DirectoryLoadedAt(const std::string& tenant) const;
    /// Items that wait for the fetch stage longer than this fail (reason directory_timeout, or
    /// fetch_timeout for elements to fetch).
    static constexpr Duration kWaitingLimit = std::chrono::hours{1};

    /// A new read-only connection (API handlers, check).
    Result<std::unique_ptr<storage::Db>> OpenReader() const;
    Metrics& metrics() { return metrics_; }
    /// The tenants' chat channels, address books and what the chat core reported.
    ChatHub& chat() { return chat_; }
    const ChatHub& chat() const { return chat_; }
    bool Healthy() const { return writer_ && writer_->Healthy(); }
    /// The writer's view of the disk (disk full, failed device); kFailed before Start.
    StorageStatus Storage() const {
        return writer_ ? writer_->Storage()
                       : StorageStatus{.state = StorageStatus::State::kFailed,
                                       .reason = "storage is not open",
                                       .disk_full_refusals = 0};
    }
    const config::AppConfig& config() const { return *options_.config; }
    const Clock& clock() const { return *options_.clock; }
    /// The channels the tenant's actions can go to (the CRM's, its notifiers'); empty: nowhere.
    std::vector<std::string> Channels(const std::string& tenant) const {
        return outbox_.Channels(tenant);
    }
    /// The decoder for a CRM name; throws std::out_of_range for one not built in.
    const crm::WebhookDecoder& Decoder(const std::string& crm) const {
        return *options_.decoders.at(crm);
    }

private:
    IngestOutcome IngestOnce(storage::Db& db, const YieldCheck& yield);
    void Report(const std::string& tenant, const JudgeOutcome& outcome);
    void TimerLoop();
    void Checkpoint();
    Result<void> ApplyPulled(const std::string& tenant, const crm::PullPage& page,
                             ReconcileReport& report, std::set<std::string>& touched);
    void RefreshDirectories();
    // Checks the tenant's rule names against its directory; logs each problem when they change.
    void RecordNameProblems(const config::TenantConfig& tenant, const crm::Directory& directory);
    // Whether a load of the tenant's directory started less than FetchWorker::kDirectoryRetry
    // ago (real time).
    bool DirectoryTriedRecently(const std::string& tenant) const;
    // The name the tenant's CRM shows for `crm_user` (its directory), or empty.
    std::string UserName(const std::string& tenant, const std::string& crm_user) const;

    EngineOptions options_;
    Metrics metrics_;
    std::unique_ptr<Writer> writer_;
    // Events decoded by Intake's callers, for processing; used on the writer thread only.
    DecodedEvents decoded_;
    mutable std::mutex config_mutex_;
    mutable std::mutex directory_mutex_;
    std::map<std::string, Timestamp> directory_loaded_;
    std::map<std::string, std::chrono::steady_clock::time_point> directory_tried_;
    std::map<std::string, std::vector<config::ConfigProblem>> name_problems_;
    // The names each CRM tenant's users go by (its directory: stored, then refreshed), for the
    // chat sinks, which find a [[tenant.person]] named as the CRM shows them.
    std::map<std::string, std::map<std::string, std::string>> user_names_;
    std::shared_ptr<const config::AppConfig> effective_;
    std::map<std::string, std::unique_ptr<crm::Connector>> connectors_;
    // Before outbox_: the chat sinks use its address books and channels.
    ChatHub chat_;
    // After connectors_: they deliver through their sinks and load their directories.
    OutboxWorker outbox_;
    FetchWorker fetch_;
    std::mutex stop_mutex_;
    std::condition_variable stop_cv_;
    std::atomic<bool> stopping_{false};
    std::thread timer_;
};

}  // namespace fg::engine
