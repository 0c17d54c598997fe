#include "adapters/bitrix24/api/catalog.hpp"

namespace fg::adapters::bitrix24 {

const Stage* Category::ByStatus(const std::string& status_id) const {
    for (const Stage& stage : stages) {
        if (stage.status_id == status_id) {
            return &stage;
        }
    }
    return nullptr;
}

const Stage* Category::ByName(const std::string& name) const {
    for (const Stage& stage : stages) {
        if (stage.name == name) {
            return &stage;
        }
    }
    return nullptr;
}

const Category* Catalog::Find(const std::string& category_id) const {
    for (const Category& category : categories) {
        if (category.id == category_id) {
            return &category;
        }
    }
    return nullptr;
}

crm::Directory Catalog::ToDirectory() const {
    crm::Directory directory;
    for (const Category& category : categories) {
        domain::Pipeline pipeline{.id = category.id, .stages = {}};
        // Open stages in SORT order, then the won ones; lost stages stand outside the order.
        for (const domain::StageKind kind :
             {domain::StageKind::kOpen, domain::StageKind::kWon, domain::StageKind::kLost}) {
            for (const Stage& stage : category.stages) {
                if (stage.kind == kind) {
                    pipeline.stages.push_back({.name = stage.name, .kind = stage.kind});
                }
            }
        }
        directory.pipelines.push_back(std::move(pipeline));
    }
    directory.users = users;
    std::vector<std::string> fields;
    for (const auto& [code, label] : field_labels) {
        fields.push_back(label);
    }
    directory.fields = std::move(fields);
    return directory;
}

}  // namespace fg::adapters::bitrix24
