#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "src/crm/connector.hpp"
#include "src/domain/model.hpp"

namespace fg::adapters::bitrix24 {

/// One deal stage as crm.status.list gives it.
struct Stage {
    std::string status_id{};  // "NEW", "C1:DECISION"
    std::string name{};       // as users see it: what config and the mirror name it by
    int sort = 0;
    domain::StageKind kind = domain::StageKind::kOpen;  // SEMANTICS S won, F lost, else open
};

/// One pipeline: a deal category (0 is the default one).
struct Category {
    std::string id{};  // decimal, "0" for the default pipeline: domain::Pipeline::id
    std::string name{};
    std::vector<Stage> stages{};  // in SORT order

    const Stage* ByStatus(const std::string& status_id) const;
    const Stage* ByName(const std::string& name) const;
};

/// What the portal's directory says: pipelines and stages, users, deal user fields.
struct Catalog {
    std::vector<Category> categories{};
    std::map<std::string, std::string> users{};         // id -> "Name Last name"
    std::map<std::string, std::string> field_labels{};  // UF_CRM_... -> label as users see it
    bool loaded = false;

    const Category* Find(const std::string& category_id) const;
    crm::Directory ToDirectory() const;
};

/// The tenant's current catalog, shared by its fetcher, reader and writer. Thread-safe.
class CatalogCache {
public:
    std::shared_ptr<const Catalog> Get() const {
        const std::lock_guard lock(mutex_);
        return catalog_;
    }
    void Set(Catalog catalog) {
        auto fresh = std::make_shared<const Catalog>(std::move(catalog));
        const std::lock_guard lock(mutex_);
        catalog_ = std::move(fresh);
    }

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const Catalog> catalog_ = std::make_shared<const Catalog>();
};

}  // namespace fg::adapters::bitrix24
