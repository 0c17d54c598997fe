#include "adapters/amocrm/wire/catalog.hpp"

#include <algorithm>
#include <charconv>

namespace fg::adapters::amocrm {
namespace {

std::optional<std::int64_t> ParseId(std::string_view text) {
    std::int64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc{} || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

domain::StageKind KindOf(const Status& status) {
    if (status.id == kWonStatus) {
        return domain::StageKind::kWon;
    }
    if (status.id == kLostStatus) {
        return domain::StageKind::kLost;
    }
    return status.type == 1 ? domain::StageKind::kIntake : domain::StageKind::kOpen;
}

}  // namespace

const PipelineInfo* Catalog::FindPipeline(std::int64_t pipeline_id) const {
    for (const PipelineInfo& pipeline : pipelines) {
        if (pipeline.id == pipeline_id) {
            return &pipeline;
        }
    }
    return nullptr;
}

const Status* Catalog::FindStatus(std::int64_t pipeline_id, std::int64_t status_id) const {
    const PipelineInfo* pipeline = FindPipeline(pipeline_id);
    if (pipeline == nullptr) {
        return nullptr;
    }
    for (const Status& status : pipeline->statuses) {
        if (status.id == status_id) {
            return &status;
        }
    }
    return nullptr;
}

std::optional<std::int64_t> Catalog::StatusIdByName(std::int64_t pipeline_id,
                                                    std::string_view name) const {
    const PipelineInfo* pipeline = FindPipeline(pipeline_id);
    if (pipeline == nullptr) {
        return std::nullopt;
    }
    for (const Status& status : pipeline->statuses) {
        if (status.name == name) {
            return status.id;
        }
    }
    if (const std::optional<std::int64_t> id = ParseId(name)) {
        if (FindStatus(pipeline_id, *id) != nullptr) {
            return id;
        }
    }
    return std::nullopt;
}

std::string Catalog::FieldName(std::int64_t field_id) const {
    for (const CustomField& field : lead_fields) {
        if (field.id == field_id) {
            return field.name;
        }
    }
    return std::to_string(field_id);
}

std::optional<std::int64_t> Catalog::FieldIdByName(std::string_view name) const {
    for (const CustomField& field : lead_fields) {
        if (field.name == name) {
            return field.id;
        }
    }
    return ParseId(name);
}

std::vector<domain::Pipeline> Catalog::ToDomainPipelines() const {
    std::vector<domain::Pipeline> result;
    result.reserve(pipelines.size());
    for (const PipelineInfo& info : pipelines) {
        std::vector<Status> statuses = info.statuses;
        std::stable_sort(statuses.begin(), statuses.end(),
                         [](const Status& a, const Status& b) { return a.sort < b.sort; });
        domain::Pipeline pipeline;
        pipeline.id = std::to_string(info.id);
        // Open stages in funnel order, then won ones; intake and lost stand outside the order.
        for (const domain::StageKind kind :
             {domain::StageKind::kOpen, domain::StageKind::kWon, domain::StageKind::kIntake,
              domain::StageKind::kLost}) {
            for (const Status& status : statuses) {
                if (KindOf(status) == kind) {
                    pipeline.stages.push_back({.name = status.name, .kind = kind});
                }
            }
        }
        result.push_back(std::move(pipeline));
    }
    return result;
}

crm::Directory Catalog::ToDirectory() const {
    crm::Directory directory;
    directory.pipelines = ToDomainPipelines();
    for (const User& user : users) {
        directory.users[std::to_string(user.id)] = user.name;
    }
    std::vector<std::string> fields;
    for (const CustomField& field : lead_fields) {
        fields.push_back(field.name);
    }
    directory.fields = std::move(fields);
    return directory;
}

}  // namespace fg::adapters::amocrm
