#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/crm/connector.hpp"
#include "src/domain/model.hpp"

namespace fg::adapters::amocrm {

/// One status of a pipeline (GET /api/v4/leads/pipelines, _embedded.statuses).
struct Status {
    std::int64_t id = 0;
    std::string name{};
    int sort = 0;
    int type = 0;  // 1 = "Неразобранное" (unsorted, the intake), 0 = normal
};

inline constexpr std::int64_t kWonStatus = 142;   // exists in every pipeline
inline constexpr std::int64_t kLostStatus = 143;  // exists in every pipeline

struct PipelineInfo {
    std::int64_t id = 0;
    std::string name{};
    int sort = 0;
    bool is_main = false;
    std::vector<Status> statuses{};
};

struct CustomField {
    std::int64_t id = 0;
    std::string name{};
    std::string type{};  // "text", "numeric", "date", "select", ...
};

struct User {
    std::int64_t id = 0;
    std::string name{};
};

/// An account's pipelines, lead custom fields and users: what turns the ids of webhooks and API
/// answers into the names config and people use. A stage is keyed by (pipeline, status): 142 and
/// 143 exist in every pipeline.
///
/// Mapping to the domain: Deal::pipeline is the pipeline id in decimal; Deal::stage is the
/// status name; Deal::responsible is the user id in decimal; Deal::fields are keyed by custom
/// field name (the id in decimal when the catalog does not know it).
struct Catalog {
    std::vector<PipelineInfo> pipelines{};
    std::vector<CustomField> lead_fields{};
    std::vector<User> users{};

    const PipelineInfo* FindPipeline(std::int64_t pipeline_id) const;
    const Status* FindStatus(std::int64_t pipeline_id, std::int64_t status_id) const;
    /// The status of a pipeline with this name (or this id in decimal).
    std::optional<std::int64_t> StatusIdByName(std::int64_t pipeline_id,
                                               std::string_view name) const;
    /// The field's name; the id in decimal when unknown.
    std::string FieldName(std::int64_t field_id) const;
    std::optional<std::int64_t> FieldIdByName(std::string_view name) const;

    /// Pipelines as the rules see them: type-1 status = intake, 142 = won, 143 = lost, the
    /// others open in `sort` order.
    std::vector<domain::Pipeline> ToDomainPipelines() const;
    crm::Directory ToDirectory() const;
};

/// The latest catalog of an account, shared between the decoder, the API client and the
/// writer. Thread-safe; readers keep the snapshot they got alive.
class CatalogCache {
public:
    std::shared_ptr<const Catalog> Get() const {
        std::lock_guard lock(mutex_);
        return catalog_;
    }
    void Set(Catalog catalog) {
        auto fresh = std::make_shared<const Catalog>(std::move(catalog));
        std::lock_guard lock(mutex_);
        catalog_ = std::move(fresh);
    }

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const Catalog> catalog_ = std::make_shared<const Catalog>();
};

}  // namespace fg::adapters::amocrm
