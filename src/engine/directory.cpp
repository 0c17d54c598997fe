#include "src/engine/directory.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "src/common/log.hpp"

namespace fg::engine {
namespace {

constexpr const char* kDirectoryKey = "crm.directory";

spdlog::logger& DirectoryLog() {
    static const auto logger = ModuleLogger("directory");
    return *logger;
}

std::string_view KindName(domain::StageKind kind) {
    switch (kind) {
        case domain::StageKind::kIntake:
            return "intake";
        case domain::StageKind::kOpen:
            return "open";
        case domain::StageKind::kWon:
            return "won";
        case domain::StageKind::kLost:
            return "lost";
    }
    return "open";
}

domain::StageKind KindFromName(std::string_view name) {
    if (name == "intake") {
        return domain::StageKind::kIntake;
    }
    if (name == "won") {
        return domain::StageKind::kWon;
    }
    if (name == "lost") {
        return domain::StageKind::kLost;
    }
    return domain::StageKind::kOpen;
}

}  // namespace

void StoreDirectory(storage::Db& db, const std::string& tenant, const crm::Directory& directory) {
    nlohmann::json pipelines = nlohmann::json::array();
    for (const domain::Pipeline& pipeline : directory.pipelines) {
        nlohmann::json stages = nlohmann::json::array();
        for (const domain::Stage& stage : pipeline.stages) {
            stages.push_back({{"name", stage.name}, {"kind", KindName(stage.kind)}});
        }
        pipelines.push_back({{"id", pipeline.id}, {"stages", std::move(stages)}});
    }
    nlohmann::json document = {{"pipelines", std::move(pipelines)}, {"users", directory.users}};
    if (directory.fields) {
        document["fields"] = *directory.fields;
    }
    storage::SetMeta(db, tenant, kDirectoryKey, document.dump());
}

std::optional<crm::Directory> LoadDirectory(storage::Db& db, const std::string& tenant) {
    const std::optional<std::string> stored = storage::GetMeta(db, tenant, kDirectoryKey);
    if (!stored) {
        return std::nullopt;
    }
    try {
        const nlohmann::json document = nlohmann::json::parse(*stored);
        crm::Directory directory;
        for (const nlohmann::json& item : document.at("pipelines")) {
            domain::Pipeline pipeline;
            pipeline.id = item.at("id").get<std::string>();
            for (const nlohmann::json& stage : item.at("stages")) {
                pipeline.stages.push_back(
                    {.name = stage.at("name").get<std::string>(),
                     .kind = KindFromName(stage.at("kind").get<std::string>())});
            }
            directory.pipelines.push_back(std::move(pipeline));
        }
        directory.users = document.at("users").get<std::map<std::string, std::string>>();
        // Directories stored before field names were kept have none: fields are not checked.
        if (const auto fields = document.find("fields"); fields != document.end()) {
            directory.fields = fields->get<std::vector<std::string>>();
        }
        return directory;
    } catch (const nlohmann::json::exception& error) {
        DirectoryLog().warn(
            "Stored CRM directory is unreadable; it will be fetched again. tenant={} "
            "error={}",
            tenant, error.what());
        return std::nullopt;
    }
}

void ApplyDirectory(config::TenantConfig& tenant, const crm::Directory& directory) {
    if (tenant.pipelines_from_api) {
        tenant.pipelines = directory.pipelines;
    }
}

std::vector<config::ConfigProblem> CheckNames(const config::TenantConfig& tenant,
                                              const crm::Directory& directory) {
    config::KnownNames known;
    for (const domain::Pipeline& pipeline : directory.pipelines) {
        for (const domain::Stage& stage : pipeline.stages) {
            if (std::find(known.stages.begin(), known.stages.end(), stage.name) ==
                known.stages.end()) {
                known.stages.push_back(stage.name);
            }
        }
    }
    known.fields = directory.fields;
    return config::CheckNames(tenant, known);
}

void ApplyStoredDirectories(storage::Db& db, config::AppConfig& config) {
    for (config::TenantConfig& tenant : config.tenants) {
        if (!tenant.pipelines_from_api) {
            continue;
        }
        if (const std::optional<crm::Directory> directory = LoadDirectory(db, tenant.id)) {
            ApplyDirectory(tenant, *directory);
        }
    }
}

}  // namespace fg::engine
