#include "adapters/amocrm/sim/render.hpp"

#include <fmt/format.h>

namespace fg::adapters::amocrm::sim {
namespace {

using nlohmann::json;

json TimeOrNull(const std::optional<Timestamp>& t) { return t ? json(ToEpoch(*t)) : json(nullptr); }

json StatusValue(std::int64_t status, std::int64_t pipeline) {
    return json::array({{{"lead_status", {{"id", status}, {"pipeline_id", pipeline}}}}});
}

json FieldValuesJson(const Model& model, const SimLead& lead) {
    if (lead.fields.empty()) {
        return nullptr;  // amoCRM sends null, not [], for a lead without custom field values
    }
    json out = json::array();
    for (const LeadField& value : lead.fields) {
        const SimField* field = model.Field(value.field_id);
        if (field == nullptr || value.values.empty()) {
            continue;
        }
        json values = json::array();
        for (const FieldValue& item : value.values) {
            if (field->type == "date") {
                values.push_back({{"value", std::stoll(item.value)}});
            } else if (field->type == "select") {
                values.push_back(
                    {{"value", item.value}, {"enum_id", item.enum_id}, {"enum_code", nullptr}});
            } else {
                values.push_back({{"value", item.value}});
            }
        }
        out.push_back({{"field_id", field->id},
                       {"field_name", field->name},
                       {"field_code", nullptr},
                       {"field_type", field->type},
                       {"values", std::move(values)}});
    }
    return out.empty() ? json(nullptr) : out;
}

}  // namespace

json Link(const std::string& href) { return {{"self", {{"href", href}}}}; }

json LeadJson(const Model& model, const SimLead& lead, const LeadWith& with) {
    json embedded = {{"tags", json::array()}, {"companies", json::array()}};
    if (with.contacts) {
        embedded["contacts"] = json::array();
    }
    if (with.loss_reason) {
        embedded["loss_reason"] = json::array();
    }
    json out = {
        {"id", lead.id},
        {"name", lead.name},
        {"price", lead.price},
        {"responsible_user_id", lead.responsible_user_id},
        {"group_id", 0},
        {"status_id", lead.status_id},
        {"pipeline_id", lead.pipeline_id},
        {"loss_reason_id", nullptr},
        {"created_by", lead.created_by},
        {"updated_by", lead.updated_by},
        {"created_at", ToEpoch(lead.created_at)},
        {"updated_at", ToEpoch(lead.updated_at)},
        {"closed_at", TimeOrNull(lead.closed_at)},
        {"closest_task_at", TimeOrNull(model.ClosestTask(lead.id))},
        {"is_deleted", lead.is_deleted},
        {"custom_fields_values", FieldValuesJson(model, lead)},
        {"score", nullptr},
        {"account_id", model.account_id},
        {"labor_cost", nullptr},
        {"_links", Link(fmt::format("{}/api/v4/leads/{}", model.base_url, lead.id))},
        {"_embedded", std::move(embedded)},
    };
    if (with.source_id) {
        out["source_id"] = nullptr;
    }
    return out;
}

json DeletedLeadJson(const Model& model, const SimLead& lead) {
    return {{"id", lead.id},
            {"updated_at", ToEpoch(lead.updated_at)},
            {"updated_by", lead.updated_by},
            {"is_deleted", true},
            {"account_id", model.account_id},
            {"_links", Link(fmt::format("{}/api/v4/leads/{}", model.base_url, lead.id))}};
}

json TaskJson(const Model& model, const SimTask& task) {
    return {
        {"id", task.id},
        {"created_by", task.created_by},
        {"updated_by", task.updated_by},
        {"created_at", ToEpoch(task.created_at)},
        {"updated_at", ToEpoch(task.updated_at)},
        {"responsible_user_id", task.responsible_user_id},
        {"group_id", 0},
        {"entity_id", task.lead_id},
        {"entity_type", "leads"},
        {"duration", task.duration},
        {"is_completed", task.is_completed},
        {"task_type_id", task.task_type_id},
        {"text", task.text},
        {"result", task.result_text.empty() ? json::array() : json{{"text", task.result_text}}},
        {"complete_till", ToEpoch(task.complete_till)},
        {"account_id", model.account_id},
        {"_links", Link(fmt::format("{}/api/v4/tasks/{}", model.base_url, task.id))},
    };
}

json NoteJson(const Model& model, const SimNote& note) {
    json params = {{"text", note.text}};
    if (note.note_type == "service_message") {
        params["service"] = note.service;
    }
    return {
        {"id", note.id},
        {"entity_id", note.lead_id},
        {"created_by", note.created_by},
        {"updated_by", note.updated_by},
        {"created_at", ToEpoch(note.created_at)},
        {"updated_at", ToEpoch(note.updated_at)},
        {"responsible_user_id", note.responsible_user_id},
        {"group_id", 0},
        {"note_type", note.note_type},
        {"params", std::move(params)},
        {"account_id", model.account_id},
        {"_links",
         Link(fmt::format("{}/api/v4/leads/{}/notes/{}", model.base_url, note.lead_id, note.id))},
    };
}

json EventJson(const Model& model, const SimEvent& event) {
    json before = json::array();
    json after = json::array();
    switch (event.type) {
        case EventType::kLeadAdded:
            after = StatusValue(event.after_a, event.after_b);
            break;
        case EventType::kLeadStatusChanged:
            before = StatusValue(event.before_a, event.before_b);
            after = StatusValue(event.after_a, event.after_b);
            break;
        case EventType::kResponsibleChanged:
            before = json::array({{{"responsible_user", {{"id", event.before_a}}}}});
            after = json::array({{{"responsible_user", {{"id", event.after_a}}}}});
            break;
        case EventType::kLeadDeleted:
        case EventType::kLeadRestored:
            break;
        case EventType::kTaskAdded:
        case EventType::kTaskTextChanged:
            after = json::array({{{"task", {{"id", event.after_a}}}}});
            break;
        case EventType::kTaskCompleted:
            before = json::array({{{"task", {{"id", event.after_a}, {"is_completed", false}}}}});
            after = json::array({{{"task", {{"id", event.after_a}, {"is_completed", true}}}}});
            break;
        case EventType::kTaskDeleted:
            before = json::array({{{"task", {{"id", event.before_a}}}}});
            break;
        case EventType::kTaskDeadlineChanged:
            before = json::array({{{"task_deadline", {{"timestamp", event.before_a}}}}});
            after = json::array({{{"task_deadline", {{"timestamp", event.after_a}}}}});
            break;
        case EventType::kNoteAdded:
            after = json::array({{{"note", {{"id", event.after_a}}}}});
            break;
    }
    const std::string id = event.Id();
    return {
        {"id", id},
        {"type", EventTypeName(event.type)},
        {"entity_id", event.lead_id},
        {"entity_type", "lead"},
        {"created_by", event.created_by},
        {"created_at", ToEpoch(event.created_at)},
        {"value_after", std::move(after)},
        {"value_before", std::move(before)},
        {"account_id", model.account_id},
        {"_links", Link(fmt::format("{}/api/v4/events/{}", model.base_url, id))},
        {"_embedded",
         {{"entity",
           {{"id", event.lead_id},
            {"_links", Link(fmt::format("{}/api/v4/leads/{}", model.base_url, event.lead_id))}}}}},
    };
}

json StatusJson(const Model& model, const SimPipeline& pipeline, const SimStatus& status,
                bool with_descriptions) {
    json out = {
        {"id", status.id},
        {"name", status.name},
        {"sort", status.sort},
        {"is_editable", status.is_editable},
        {"pipeline_id", pipeline.id},
        {"color", status.color},
        {"type", status.type},
        {"account_id", model.account_id},
        {"_links", Link(fmt::format("{}/api/v4/leads/pipelines/{}/statuses/{}", model.base_url,
                                    pipeline.id, status.id))},
    };
    if (with_descriptions) {
        out["descriptions"] = json::array();  // the simulated account writes none
    }
    return out;
}

json PipelineJson(const Model& model, const SimPipeline& pipeline) {
    json statuses = json::array();
    for (const SimStatus& status : pipeline.statuses) {
        statuses.push_back(StatusJson(model, pipeline, status, false));
    }
    return {
        {"id", pipeline.id},
        {"name", pipeline.name},
        {"sort", pipeline.sort},
        {"is_main", pipeline.is_main},
        {"is_unsorted_on", true},
        {"is_archive", false},
        {"account_id", model.account_id},
        {"_links", Link(fmt::format("{}/api/v4/leads/pipelines/{}", model.base_url, pipeline.id))},
        {"_embedded", {{"statuses", std::move(statuses)}}},
    };
}

json FieldJson(const Model& model, const SimField& field) {
    json enums = nullptr;
    if (!field.enums.empty()) {
        enums = json::array();
        for (const SimEnum& e : field.enums) {
            enums.push_back({{"id", e.id}, {"value", e.value}, {"sort", e.sort}});
        }
    }
    return {
        {"id", field.id},
        {"name", field.name},
        {"type", field.type},
        {"account_id", model.account_id},
        {"code", nullptr},
        {"sort", field.sort},
        {"is_api_only", false},
        {"enums", std::move(enums)},
        {"group_id", nullptr},
        {"required_statuses", json::array()},
        {"is_deletable", true},
        {"is_predefined", false},
        {"entity_type", "leads"},
        {"remind", nullptr},
        {"hidden_statuses", json::array()},
        {"_links", Link(fmt::format("{}/api/v4/leads/custom_fields/{}", model.base_url, field.id))},
    };
}

json UserJson(const Model& model, const SimUser& user) {
    const char* level = user.is_admin ? "A" : "M";
    json entity_rights = {{"view", level},
                          {"edit", level},
                          {"add", "A"},
                          {"delete", user.is_admin ? "A" : "D"},
                          {"export", user.is_admin ? "A" : "D"}};
    return {
        {"id", user.id},
        {"name", user.name},
        {"email", user.email},
        {"lang", "ru"},
        {"rights",
         {{"leads", entity_rights},
          {"contacts", entity_rights},
          {"companies", entity_rights},
          {"tasks", {{"edit", level}, {"delete", user.is_admin ? "A" : "D"}}},
          {"mail_access", true},
          {"catalog_access", true},
          {"status_rights", json::array()},
          {"is_admin", user.is_admin},
          {"is_free", false},
          {"is_active", true},
          {"group_id", nullptr},
          {"role_id", nullptr}}},
        {"_links", Link(fmt::format("{}/api/v4/users/{}", model.base_url, user.id))},
    };
}

json WebhookJson(const Model& model, const SimWebhook& webhook, bool disabled) {
    return {
        {"id", webhook.id},
        {"destination", webhook.destination},
        {"created_at", ToEpoch(webhook.created_at)},
        {"updated_at", ToEpoch(webhook.updated_at)},
        {"account_id", model.account_id},
        {"created_by", webhook.created_by},
        {"sort", webhook.sort},
        {"disabled", disabled},
        {"settings", webhook.settings},
    };
}

}  // namespace fg::adapters::amocrm::sim
