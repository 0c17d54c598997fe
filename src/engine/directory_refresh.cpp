// The engine's side of the CRM directories (pipelines, users): loading them through the
// connectors, on start, every kDirectoryEvery and when the fetch stage needs one for webhooks
// that name what the directory lacks, and the rule names they lack. directory.hpp stores,
// applies and checks them.
#include "src/common/log.hpp"
#include "src/engine/directory.hpp"
#include "src/engine/engine.hpp"

namespace fg::engine {
namespace {

// The lines of each part keep the logger they were written with.
spdlog::logger& DirectoryRefreshLog() {
    static const auto logger = ModuleLogger("reconcile");
    return *logger;
}

spdlog::logger& RefreshEngineLog() {
    static const auto logger = ModuleLogger("engine");
    return *logger;
}

}  // namespace

Result<void> Engine::RefreshDirectory(const std::string& tenant) {
    crm::Connector* connector = ConnectorOf(tenant);
    if (connector == nullptr) {
        return MakeError(ErrorCode::kNotFound, "tenant {} has no CRM connector", tenant);
    }
    const Timestamp started = options_.clock->Now();
    {
        // Any load counts for the fetch stage: a webhook parked while the start-up load runs is
        // handed back by that load, and must not cost the account a second one.
        std::lock_guard lock(directory_mutex_);
        directory_tried_[tenant] = std::chrono::steady_clock::now();
    }
    Result<crm::Directory> directory = connector->FetchDirectory();
    if (!directory) {
        return directory.error();
    }
    {
        // Loaded, and when the load started (the adapter's catalog is fresh already): an item
        // parked before that and still lacking its id once handed back fails instead of waiting
        // for another load.
        std::lock_guard lock(directory_mutex_);
        directory_loaded_[tenant] = started;
        user_names_[tenant] = directory->users;
    }
    // One that waits again is tried no sooner than the fetch stage would load it again.
    const Timestamp retry_at = started + FetchWorker::kDirectoryRetry;
    auto stored = writer_
                      ->Transact([&tenant, &directory, retry_at](storage::Db& db) {
                          StoreDirectory(db, tenant, *directory);
                          // Webhooks parked for a stage the old directory lacked go again.
                          return storage::RequeueWaitingInbox(db, tenant, retry_at);
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
    DirectoryRefreshLog().info(
        "CRM directory refreshed. tenant={} pipelines={} users={} requeued={}", tenant,
        directory->pipelines.size(), directory->users.size(), *stored);
    writer_->Kick();
    return Ok{};
}

std::string Engine::UserName(const std::string& tenant, const std::string& crm_user) const {
    std::lock_guard lock(directory_mutex_);
    const auto users = user_names_.find(tenant);
    if (users == user_names_.end()) {
        return {};
    }
    const auto name = users->second.find(crm_user);
    return name == users->second.end() ? std::string() : name->second;
}

bool Engine::DirectoryTriedRecently(const std::string& tenant) const {
    std::lock_guard lock(directory_mutex_);
    const auto found = directory_tried_.find(tenant);
    return found != directory_tried_.end() &&
           std::chrono::steady_clock::now() - found->second < FetchWorker::kDirectoryRetry;
}

void Engine::RefreshDirectories() {
    for (const auto& [tenant, connector] : connectors_) {
        if (DirectoryTriedRecently(tenant)) {
            // The fetch stage has just loaded it (at start, for webhooks that waited across the
            // restart), or keeps trying it with its own backoff.
            continue;
        }
        if (auto refreshed = RefreshDirectory(tenant); !refreshed) {
            DirectoryRefreshLog().warn(
                "CRM directory refresh failed, will retry. tenant={} error={}", tenant,
                LogSafe(refreshed.error().message));
        }
    }
}

void Engine::RecordNameProblems(const config::TenantConfig& tenant,
                                const crm::Directory& directory) {
    std::vector<config::ConfigProblem> problems = CheckNames(tenant, directory);
    std::vector<std::string> lines;
    for (const config::ConfigProblem& problem : problems) {
        lines.push_back(config::FormatProblem(problem));
    }
    {
        std::lock_guard lock(directory_mutex_);
        const auto known = name_problems_.find(tenant.id);
        if (known != name_problems_.end()) {
            std::vector<std::string> before;
            for (const config::ConfigProblem& problem : known->second) {
                before.push_back(config::FormatProblem(problem));
            }
            if (before == lines) {
                return;  // logged when they appeared
            }
        }
        name_problems_[tenant.id] = std::move(problems);
    }
    // Config lines never hold secrets; names are the account's own.
    for (const std::string& line :
         options_.log_name_problems ? lines : std::vector<std::string>{}) {
        RefreshEngineLog().warn(
            "The rules name what the CRM does not have; that part judges nothing. "
            "tenant={} problem={}",
            tenant.id, line);
    }
}

std::vector<config::ConfigProblem> Engine::NameProblems(const std::string& tenant) const {
    std::lock_guard lock(directory_mutex_);
    const auto found = name_problems_.find(tenant);
    return found == name_problems_.end() ? std::vector<config::ConfigProblem>{} : found->second;
}

std::map<std::string, std::size_t> Engine::NameProblemCounts() const {
    std::lock_guard lock(directory_mutex_);
    std::map<std::string, std::size_t> counts;
    for (const auto& [tenant, problems] : name_problems_) {
        counts[tenant] = problems.size();
    }
    return counts;
}

std::optional<Timestamp> Engine::DirectoryLoadedAt(const std::string& tenant) const {
    std::lock_guard lock(directory_mutex_);
    const auto found = directory_loaded_.find(tenant);
    if (found == directory_loaded_.end()) {
        return std::nullopt;
    }
    return found->second;
}

}  // namespace fg::engine
