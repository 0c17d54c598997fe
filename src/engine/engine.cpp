// The engine as the owner of its parts: construction, Start/Stop, and what callers ask of it
// directly. The parts live in files of their own: intake.cpp (webhooks into the inbox),
// ingest_loop.cpp (processing the inbox), fetch_worker.hpp (the fetch stage), timers.cpp (the
// minute sweep, the nightly run), directory_refresh.cpp (CRM directories), reconcile.cpp,
// outbox_worker.hpp (delivery).
#include "src/engine/engine.hpp"

#include "src/common/log.hpp"
#include "src/engine/directory.hpp"

namespace fg::engine {
namespace {

spdlog::logger& EngineLog() {
    static const auto logger = ModuleLogger("engine");
    return *logger;
}

// Decoded events kept for processing, at most (tens of MiB); beyond, bodies are decoded again.
constexpr std::size_t kMaxDecodedEvents = 100'000;

}  // namespace

Engine::Engine(EngineOptions options)
    : options_(std::move(options)),
      decoded_(kMaxDecodedEvents),
      chat_(*options_.clock),
      outbox_(options_.clock, metrics_, options_.observer.on_delivery),
      fetch_(options_.clock, metrics_) {}

Engine::~Engine() { Stop(); }

Result<void> Engine::Start() {
    auto db = storage::OpenDatabase(options_.config->storage.path);
    if (!db) {
        return db.error();
    }
    auto effective = std::make_shared<config::AppConfig>(*options_.config);
    try {
        ApplyStoredDirectories(**db, *effective);
    } catch (const std::exception& error) {
        return MakeError(ErrorCode::kUnavailable, "cannot read the stored CRM directories: {}",
                         error.what());
    }
    for (const config::TenantConfig& tenant : options_.config->tenants) {
        if (!tenant.pipelines_from_api) {
            continue;  // its stages were checked against its pipelines as the config loaded
        }
        try {
            if (const std::optional<crm::Directory> stored = LoadDirectory(**db, tenant.id)) {
                RecordNameProblems(tenant, *stored);
                std::lock_guard lock(directory_mutex_);
                user_names_[tenant.id] = stored->users;
            }
        } catch (const std::exception& error) {
            return MakeError(ErrorCode::kUnavailable, "cannot read the stored CRM directories: {}",
                             error.what());
        }
    }
    {
        std::lock_guard lock(config_mutex_);
        effective_ = std::move(effective);
    }
    const std::string crm_channel(domain::kCrmChannel);
    for (const config::TenantConfig& tenant : options_.config->tenants) {
        auto connector = options_.make_connector ? options_.make_connector(tenant) : nullptr;
        if (connector) {
            // The connector paces its own calls with the account's rate limiter.
            outbox_.AddSink(tenant.id, crm_channel, connector->Sink());
            connectors_[tenant.id] = std::move(connector);
        } else if (options_.make_sink) {
            outbox_.AddSink(tenant.id, crm_channel, options_.make_sink(tenant));
        }
        if (options_.make_chat_channels && options_.make_chat_sink) {
            try {
                chat_.AddTenant(
                    tenant, options_.make_chat_channels(tenant), options_.make_chat_sink, **db,
                    [this, &tenant](const std::string& channel, outbox::PacedSink sink) {
                        outbox_.AddSink(tenant.id, channel, std::move(sink));
                    },
                    [this, id = tenant.id](const std::string& crm_user) {
                        return UserName(id, crm_user);
                    });
            } catch (const std::exception& error) {
                return MakeError(ErrorCode::kUnavailable, "cannot read the stored chat links: {}",
                                 error.what());
            }
        }
        if (options_.make_notifier_sinks) {
            for (auto& [channel, paced] : options_.make_notifier_sinks(tenant)) {
                outbox_.AddSink(tenant.id, channel, std::move(paced));
            }
        }
        if (options_.make_fetcher) {
            fetch_.AddFetcher(tenant.id, options_.make_fetcher(tenant));
        }
    }
    writer_ = std::make_unique<Writer>(std::move(db).value());
    if (options_.background) {
        writer_->Start([this](storage::Db& db, const YieldCheck& yield) {
            return IngestOnce(db, yield).items > 0;
        });
    } else {
        writer_->Start();
    }
    outbox_.Bind(*writer_);
    fetch_.Bind(*writer_, options_.decoders, *options_.config,
                {.refresh = [this](const std::string& tenant) { return RefreshDirectory(tenant); },
                 .recently_tried =
                     [this](const std::string& tenant) { return DirectoryTriedRecently(tenant); }});
    if (options_.timers) {
        timer_ = std::thread([this] { TimerLoop(); });
        fetch_.Start(options_.config->storage.path);
    }
    if (options_.deliver) {
        outbox_.Start(options_.config->storage.path);
    }
    chat_.Start(*writer_, *options_.config,
                [this](std::int64_t violation_id) { return Acknowledge(violation_id); });
    return Ok{};
}

void Engine::Stop() {
    {
        std::lock_guard lock(stop_mutex_);
        stopping_ = true;
    }
    stop_cv_.notify_all();
    chat_.Stop();  // its listeners write through the writer
    outbox_.Stop();
    fetch_.Stop();
    if (timer_.joinable()) {
        timer_.join();
    }
    if (writer_) {
        writer_->Stop();
    }
}

Result<int> Engine::Deliver() {
    auto reader = OpenReader();
    if (!reader) {
        return reader.error();
    }
    try {
        const int attempted = outbox_.DeliverDue(**reader);
        if (attempted < 0) {
            return MakeError(ErrorCode::kUnavailable, "the storage refused to count an attempt");
        }
        return attempted;
    } catch (const std::exception& error) {
        return MakeError(ErrorCode::kUnavailable, "outbox pass failed: {}", error.what());
    }
}

Result<int> Engine::Fetch() {
    auto reader = OpenReader();
    if (!reader) {
        return reader.error();
    }
    try {
        const int moved = fetch_.FetchDue(**reader);
        if (moved < 0) {
            return MakeError(ErrorCode::kUnavailable,
                             "the storage refused to record the fetch stage's outcomes");
        }
        return moved;
    } catch (const std::exception& error) {
        return MakeError(ErrorCode::kUnavailable, "fetch pass failed: {}", error.what());
    }
}

void Engine::Report(const std::string& tenant, const JudgeOutcome& outcome) {
    for (const ViolationChange& change : outcome.changes) {
        EngineLog().info("Violation {}. tenant={} deal={} rule={} id={} resolution={}",
                         change.opened ? "opened" : "resolved", tenant, change.violation.deal_id,
                         change.violation.rule, change.violation.id, change.violation.resolution);
        if (options_.observer.on_violation) {
            options_.observer.on_violation(tenant, change);
        }
    }
}

Result<bool> Engine::Acknowledge(std::int64_t violation_id) {
    const Timestamp now = options_.clock->Now();
    // The acknowledgement and the cancellation of the violation's undelivered actions commit
    // together: after it, the outbox worker sends none of them (again).
    auto result = writer_
                      ->Transact([violation_id, now](storage::Db& db) -> std::pair<int, int> {
                          const auto violation = storage::GetViolation(db, violation_id);
                          if (!violation) {
                              return {404, 0};
                          }
                          if (!storage::ResolveViolation(db, violation_id, now, "acknowledged")) {
                              return {409, 0};
                          }
                          const auto cancelled = CancelActions(
                              db, violation_id, now, "cancelled: the violation was acknowledged");
                          return {200, static_cast<int>(cancelled.size())};
                      })
                      .get();
    if (!result) {
        return result.error();
    }
    if (result->first == 404) {
        return MakeError(ErrorCode::kNotFound, "violation {} does not exist", violation_id);
    }
    if (result->first == 409) {
        return MakeError(ErrorCode::kConflict, "violation {} is already resolved", violation_id);
    }
    EngineLog().info("Violation acknowledged. id={} cancelled_actions={}", violation_id,
                     result->second);
    return true;
}

Engine::Readiness Engine::Ready() const {
    Readiness readiness;
    // A full disk is not a reason to restart (liveness stays up) but it does refuse webhooks.
    if (const StorageStatus storage = Storage(); storage.state != StorageStatus::State::kOk) {
        readiness.storage =
            storage.reason.empty() ? "storage is not accepting writes" : storage.reason;
    }
    {
        std::lock_guard lock(directory_mutex_);
        for (const auto& [tenant, connector] : connectors_) {
            if (directory_loaded_.count(tenant) == 0) {
                readiness.missing.push_back(tenant);
            }
        }
    }
    readiness.ready = readiness.storage.empty() && readiness.missing.empty();
    for (const auto& [tenant, count] : NameProblemCounts()) {
        readiness.config_problems += count;
    }
    for (const auto& [key, problem] : chat_.report().ChannelProblems()) {
        readiness.chat_channels[key.first + "/" + key.second] = problem;
    }
    readiness.chat_addresses = chat_.BrokenAddresses();
    return readiness;
}

Result<std::unique_ptr<storage::Db>> Engine::OpenReader() const {
    return storage::OpenDatabase(options_.config->storage.path, /*read_only=*/true);
}

std::shared_ptr<const config::AppConfig> Engine::Config() const {
    std::lock_guard lock(config_mutex_);
    if (effective_) {
        return effective_;
    }
    // Before Start: the config as given, not owned (the caller keeps it alive).
    return {std::shared_ptr<const config::AppConfig>{}, options_.config};
}

crm::Connector* Engine::ConnectorOf(const std::string& tenant) const {
    const auto found = connectors_.find(tenant);
    return found == connectors_.end() ? nullptr : found->second.get();
}

std::map<std::string, std::string> Engine::BlockedAccounts() const {
    std::map<std::string, std::string> blocked;
    for (const auto& [tenant, connector] : connectors_) {
        if (std::string reason = connector->Blocked(); !reason.empty()) {
            blocked.emplace(tenant, std::move(reason));
        }
    }
    return blocked;
}

}  // namespace fg::engine
