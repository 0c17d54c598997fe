// The CRM side of the engine: directories (pipelines, users) and reconciliation through a
// tenant's crm::Connector.
#include <set>
#include <string>

#include "src/common/log.hpp"
#include "src/engine/directory.hpp"
#include "src/engine/engine.hpp"

namespace fg::engine {
namespace {

spdlog::logger& Log() {
    static const auto logger = ModuleLogger("reconcile");
    return *logger;
}

// Meta keys of a tenant's reconciliation: the CRM time the last complete run started at, and
// where an unfinished run stands.
constexpr const char* kWatermarkKey = "reconcile.watermark";
constexpr const char* kCursorKey = "reconcile.cursor";

}  // namespace

std::string FormatPullCounts(const ReconcileReport& report) {
    return fmt::format(
        "{} page(s), {} event(s) read, {} new on {} deal(s), {} stage change(s) recovered",
        report.pages, report.read, report.events, report.deals, report.transitions);
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

Result<void> Engine::RefreshDirectory(const std::string& tenant) {
    crm::Connector* connector = ConnectorOf(tenant);
    if (connector == nullptr) {
        return MakeError(ErrorCode::kNotFound, "tenant {} has no CRM connector", tenant);
    }
    const Timestamp started = options_.clock->Now();
    Result<crm::Directory> directory = connector->FetchDirectory();
    if (!directory) {
        return directory.error();
    }
    {
        // Any fresh load counts as the wanted refresh: a webhook parked while the start-up load
        // was running is requeued by that load, and must not cost the account a second one.
        // Loaded, and when the load started (the adapter's catalog is fresh already): an item
        // parked before that and still lacking its id once requeued fails instead of waiting
        // for another refresh.
        std::lock_guard lock(directory_mutex_);
        directory_tried_[tenant] = std::chrono::steady_clock::now();
        directory_loaded_[tenant] = started;
    }
    auto stored = writer_
                      ->Transact([&tenant, &directory](storage::Db& db) {
                          StoreDirectory(db, tenant, *directory);
                          // Webhooks parked for a stage the old directory lacked go again.
                          return storage::RequeueWaitingInbox(db, tenant);
                      })
                      .get();
    if (!stored) {
        return stored.error();
    }
    {
        std::lock_guard lock(config_mutex_);
        auto next = std::make_shared<config::AppConfig>(*effective_);
        for (config::TenantConfig& config : next->tenants) {
            if (config.id == tenant) {
                ApplyDirectory(config, *directory);
            }
        }
        effective_ = std::move(next);
    }
    if (const config::TenantConfig* config = options_.config->FindTenant(tenant)) {
        RecordNameProblems(*config, *directory);
    }
    Log().info("CRM directory refreshed. tenant={} pipelines={} users={} requeued={}", tenant,
               directory->pipelines.size(), directory->users.size(), *stored);
    writer_->Kick();
    return Ok{};
}

void Engine::WantDirectory(const std::set<std::string>& tenants) {
    std::lock_guard lock(directory_mutex_);
    directory_wanted_.insert(tenants.begin(), tenants.end());
}

void Engine::RefreshWantedDirectories() {
    // A webhook naming a stage the catalog lacks asks for a refresh; at most one per tenant per
    // kDirectoryRetry, so a stage the API does not show either cannot make funnelguard hammer it.
    constexpr auto kDirectoryRetry = std::chrono::seconds{30};
    std::set<std::string> due;
    {
        std::lock_guard lock(directory_mutex_);
        const auto now = std::chrono::steady_clock::now();
        for (auto it = directory_wanted_.begin(); it != directory_wanted_.end();) {
            auto& last = directory_tried_[*it];
            if (now - last >= kDirectoryRetry) {
                last = now;
                due.insert(*it);
                it = directory_wanted_.erase(it);
            } else {
                ++it;
            }
        }
    }
    for (const std::string& tenant : due) {
        if (ConnectorOf(tenant) == nullptr) {
            continue;
        }
        if (auto refreshed = RefreshDirectory(tenant); !refreshed) {
            Log().warn("CRM directory refresh failed, will retry. tenant={} error={}", tenant,
                       LogSafe(refreshed.error().message));
            WantDirectory({tenant});
        }
    }
}

void Engine::RefreshDirectories() {
    for (const auto& [tenant, connector] : connectors_) {
        if (auto refreshed = RefreshDirectory(tenant); !refreshed) {
            Log().warn("CRM directory refresh failed, will retry. tenant={} error={}", tenant,
                       LogSafe(refreshed.error().message));
        }
    }
}

Result<void> Engine::ApplyPulled(const std::string& tenant, const crm::PullPage& page,
                                 ReconcileReport& report, std::set<std::string>& touched) {
    struct Applied {
        int events = 0;
        std::int64_t transitions = 0;
        std::set<std::string> deals{};
    };
    // Pages only repair the mirror; judging waits for the whole state (a deal pulled before its
    // tasks is not a deal without a task).
    auto applied =
        writer_
            ->Transact([&](storage::Db& db) {
                Applied result;
                const std::int64_t history_before = storage::CountStageChanges(db, tenant);
                for (const domain::Event& event : page.events) {
                    if (!storage::MarkEventSeen(db, tenant, event.id)) {
                        continue;  // the mirror has this version already (webhook or last run)
                    }
                    ++result.events;
                    for (std::string& deal : storage::ApplyEvent(db, tenant, event)) {
                        result.deals.insert(std::move(deal));
                    }
                }
                result.transitions = storage::CountStageChanges(db, tenant) - history_before;
                // Committed with the page: a run killed after this resumes after this page.
                if (page.done) {
                    storage::DeleteMeta(db, tenant, kCursorKey);
                } else {
                    storage::SetMeta(db, tenant, kCursorKey, page.cursor);
                }
                return result;
            })
            .get();
    if (!applied) {
        return applied.error();
    }
    report.events += applied->events;
    report.transitions += static_cast<int>(applied->transitions);
    touched.merge(applied->deals);
    return Ok{};
}

Result<ReconcileReport> Engine::Reconcile(const std::string& tenant,
                                          const ReconcileOptions& options) {
    crm::Connector* connector = ConnectorOf(tenant);
    if (connector == nullptr) {
        return MakeError(ErrorCode::kNotFound, "tenant {} has no CRM connector", tenant);
    }
    const auto progress = [&options](const std::string& line) {
        if (options.progress) {
            options.progress(line);
        }
    };
    ReconcileReport report;
    const Timestamp started = options_.clock->Now();
    auto reader = OpenReader();
    if (!reader) {
        return reader.error();
    }
    const std::optional<std::string> watermark = storage::GetMeta(**reader, tenant, kWatermarkKey);
    std::string cursor =
        options.full ? std::string{} : storage::GetMeta(**reader, tenant, kCursorKey).value_or("");
    reader->reset();
    report.resumed = !cursor.empty();

    progress("directory: pipelines and users");
    if (auto refreshed = RefreshDirectory(tenant); !refreshed) {
        return refreshed.error();
    }
    crm::PullRequest request;
    if (!options.full && watermark) {
        if (const std::optional<Timestamp> last = ParseIso8601(*watermark)) {
            request.since = *last - options.overlap;
        }
    }
    progress(report.resumed  ? "resuming the run that was stopped"
             : request.since ? fmt::format("changes since {}", FormatIso8601(*request.since))
                             : std::string("everything (first or --full run)"));
    request.cursor = cursor;
    std::set<std::string> touched;
    for (;;) {
        Result<crm::PullPage> page = connector->Pull(request);
        if (!page) {
            return page.error();
        }
        ++report.pages;
        report.read += static_cast<int>(page->events.size());
        if (auto applied = ApplyPulled(tenant, *page, report, touched); !applied) {
            return applied.error();
        }
        report.deals = static_cast<int>(touched.size());
        progress(fmt::format("{}{}", page->progress.empty() ? "" : page->progress + ": ",
                             FormatPullCounts(report)));
        if (page->done) {
            break;
        }
        request.cursor = page->cursor;
    }
    report.deals = static_cast<int>(touched.size());
    // The first run finds what happened before funnelguard was connected: it is recorded in the
    // history, but writing notes, tasks and reverts about all of it would flood the managers.
    report.record_only = !watermark.has_value() && !options.full;
    progress(report.record_only ? "re-evaluating every deal (first run: violations are recorded, "
                                  "nothing is written back about the past)"
                                : "re-evaluating every deal");
    auto judged = JudgeAll(tenant, &report, /*act=*/!report.record_only);
    if (!judged) {
        return judged.error();
    }
    report.judged = *judged;
    auto marked = writer_
                      ->Transact([&tenant, started](storage::Db& db) {
                          storage::SetMeta(db, tenant, kWatermarkKey, FormatIso8601(started));
                          return 0;
                      })
                      .get();
    if (!marked) {
        return marked.error();
    }
    return report;
}

}  // namespace fg::engine
