#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "adapters/amocrm/sim/model.hpp"

namespace fg::adapters::amocrm::sim {

// API v4 JSON shapes of the model's entities (amocrm.md §2). Called under the model lock.

struct LeadWith {
    bool contacts = false;
    bool loss_reason = false;
    bool source_id = false;
};

nlohmann::json LeadJson(const Model& model, const SimLead& lead, const LeadWith& with = {});
/// The with=only_deleted shape: id, updated_at, is_deleted.
nlohmann::json DeletedLeadJson(const Model& model, const SimLead& lead);
nlohmann::json TaskJson(const Model& model, const SimTask& task);
nlohmann::json NoteJson(const Model& model, const SimNote& note);
nlohmann::json EventJson(const Model& model, const SimEvent& event);
nlohmann::json PipelineJson(const Model& model, const SimPipeline& pipeline);
/// One stage of a pipeline; `with_descriptions` adds the with=descriptions array.
nlohmann::json StatusJson(const Model& model, const SimPipeline& pipeline, const SimStatus& status,
                          bool with_descriptions);
nlohmann::json FieldJson(const Model& model, const SimField& field);
nlohmann::json UserJson(const Model& model, const SimUser& user);
nlohmann::json WebhookJson(const Model& model, const SimWebhook& webhook, bool disabled);
nlohmann::json Link(const std::string& href);

}  // namespace fg::adapters::amocrm::sim
