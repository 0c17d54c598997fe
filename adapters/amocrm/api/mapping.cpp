#include "adapters/amocrm/api/mapping.hpp"

#include <charconv>
#include <cmath>
#include <string>
#include <string_view>

#include "adapters/amocrm/wire/event_ids.hpp"

namespace fg::adapters::amocrm {
namespace {

// One entry of GET /api/v4/events (its ids are strings): only the reader sees these.
std::string AmoEventId(std::string_view event_id) { return "amoevent:" + std::string(event_id); }

// A custom field value as the rules read it: text as is, numbers in decimal, true as "1".
std::string ValueText(const nlohmann::json& value) {
    if (value.is_string()) {
        return value.get<std::string>();
    }
    if (value.is_boolean()) {
        return value.get<bool>() ? "1" : "";
    }
    if (value.is_number_integer() || value.is_number_unsigned()) {
        return value.dump();
    }
    if (value.is_number_float()) {
        const double number = value.get<double>();
        if (std::isfinite(number) && number == std::floor(number) && std::fabs(number) < 1e15) {
            return std::to_string(static_cast<std::int64_t>(number));
        }
        return value.dump();
    }
    return {};
}

std::map<std::string, std::string> MapFields(const nlohmann::json& lead, const Catalog& catalog) {
    std::map<std::string, std::string> fields;
    const auto values = lead.find("custom_fields_values");
    if (values == lead.end() || !values->is_array()) {
        return fields;  // null when the lead has none
    }
    for (const nlohmann::json& field : *values) {
        if (!field.is_object()) {
            continue;
        }
        const std::optional<std::int64_t> id = IntMember(field, "field_id");
        std::string name;
        if (id) {
            name = catalog.FieldName(*id);
            if (name == std::to_string(*id) && !StringMember(field, "field_name").empty()) {
                name = StringMember(field, "field_name");
            }
        } else {
            name = StringMember(field, "field_name");
        }
        if (name.empty()) {
            continue;
        }
        std::string text;
        if (const auto list = field.find("values"); list != field.end() && list->is_array()) {
            for (const nlohmann::json& item : *list) {
                // {"value": ..., "enum_id": ...}; date fields may give the bare value.
                const nlohmann::json& value =
                    item.is_object() && item.contains("value") ? item.at("value") : item;
                const std::string part = ValueText(value);
                if (part.empty()) {
                    continue;
                }
                text += text.empty() ? "" : ", ";
                text += part;
            }
        }
        fields[name] = std::move(text);
    }
    return fields;
}

std::string StageName(const Catalog& catalog, std::int64_t pipeline, std::int64_t status) {
    if (const Status* found = catalog.FindStatus(pipeline, status)) {
        return found->name;
    }
    return std::to_string(status);
}

std::string Decimal(const std::optional<std::int64_t>& id) {
    return id && *id != 0 ? std::to_string(*id) : std::string{};
}

}  // namespace

std::optional<std::int64_t> IntOf(const nlohmann::json& value) {
    if (value.is_number_integer()) {
        return value.get<std::int64_t>();
    }
    if (value.is_number_unsigned()) {
        const auto number = value.get<std::uint64_t>();
        if (number > static_cast<std::uint64_t>(INT64_MAX)) {
            return std::nullopt;
        }
        return static_cast<std::int64_t>(number);
    }
    if (value.is_number_float()) {
        const double number = value.get<double>();
        if (std::isfinite(number) && number == std::floor(number) && std::fabs(number) < 9e15) {
            return static_cast<std::int64_t>(number);
        }
        return std::nullopt;
    }
    if (value.is_string()) {
        const auto& text = value.get_ref<const std::string&>();
        std::int64_t number = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
        if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
            return std::nullopt;
        }
        return number;
    }
    return std::nullopt;
}

std::optional<std::int64_t> IntMember(const nlohmann::json& object, const char* key) {
    if (!object.is_object()) {
        return std::nullopt;
    }
    const auto it = object.find(key);
    return it == object.end() ? std::nullopt : IntOf(*it);
}

std::string StringMember(const nlohmann::json& object, const char* key) {
    if (!object.is_object()) {
        return {};
    }
    const auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

std::optional<domain::Event> MapLead(const nlohmann::json& lead, const Catalog& catalog,
                                     const std::string& tenant) {
    const std::optional<std::int64_t> id = IntMember(lead, "id");
    if (!id) {
        return std::nullopt;
    }
    const std::int64_t created_at = IntMember(lead, "created_at").value_or(0);
    const std::int64_t updated_at = IntMember(lead, "updated_at").value_or(created_at);
    const auto deleted = lead.find("is_deleted");
    if (deleted != lead.end() && deleted->is_boolean() && deleted->get<bool>()) {
        return domain::Event{.id = LeadDeletedEventId(*id),
                             .at = FromEpoch(updated_at),
                             .body = domain::DealDeleted{.deal_id = std::to_string(*id)}};
    }
    const std::optional<std::int64_t> pipeline = IntMember(lead, "pipeline_id");
    const std::optional<std::int64_t> status = IntMember(lead, "status_id");
    if (!pipeline || !status) {
        return std::nullopt;
    }
    domain::Deal deal{
        .tenant = tenant,
        .id = std::to_string(*id),
        .title = StringMember(lead, "name"),
        .pipeline = std::to_string(*pipeline),
        .stage = StageName(catalog, *pipeline, *status),
        .responsible = Decimal(IntMember(lead, "responsible_user_id")),
        .fields = MapFields(lead, catalog),
        .created_at = FromEpoch(created_at),
        .updated_at = FromEpoch(updated_at),
    };
    return domain::Event{.id = LeadVersionEventId(*id, updated_at, *status),
                         .at = FromEpoch(updated_at),
                         .body = domain::DealUpserted{.deal = std::move(deal)}};
}

std::optional<domain::Event> MapTask(const nlohmann::json& task) {
    const std::optional<std::int64_t> id = IntMember(task, "id");
    const std::optional<std::int64_t> lead = IntMember(task, "entity_id");
    if (!id || !lead || StringMember(task, "entity_type") != "leads") {
        return std::nullopt;
    }
    const std::int64_t created_at = IntMember(task, "created_at").value_or(0);
    const std::int64_t updated_at = IntMember(task, "updated_at").value_or(created_at);
    const std::optional<std::int64_t> due = IntMember(task, "complete_till");
    const auto completed = task.find("is_completed");
    domain::Task mapped{
        .id = std::to_string(*id),
        .deal_id = std::to_string(*lead),
        .due = due && *due > 0 ? std::optional<Timestamp>(FromEpoch(*due)) : std::nullopt,
        .done = completed != task.end() && ((completed->is_boolean() && completed->get<bool>()) ||
                                            IntOf(*completed).value_or(0) != 0),
        .responsible = Decimal(IntMember(task, "responsible_user_id")),
        .text = StringMember(task, "text"),
        .created_at = FromEpoch(created_at),
        .updated_at = FromEpoch(updated_at),
    };
    return domain::Event{.id = TaskVersionEventId(*id, updated_at),
                         .at = FromEpoch(updated_at),
                         .body = domain::TaskUpserted{.task = std::move(mapped)}};
}

std::optional<domain::Event> MapNote(const nlohmann::json& note) {
    const std::optional<std::int64_t> id = IntMember(note, "id");
    const std::optional<std::int64_t> lead = IntMember(note, "entity_id");
    if (!id || !lead || StringMember(note, "note_type") != "common") {
        return std::nullopt;
    }
    const auto params = note.find("params");
    if (params == note.end() || !params->is_object()) {
        return std::nullopt;
    }
    const std::int64_t created_at = IntMember(note, "created_at").value_or(0);
    return domain::Event{.id = NoteEventId(*id),
                         .at = FromEpoch(created_at),
                         .body = domain::NoteAdded{.note = {
                                                       .id = std::to_string(*id),
                                                       .deal_id = std::to_string(*lead),
                                                       .at = FromEpoch(created_at),
                                                       .text = StringMember(*params, "text"),
                                                   }}};
}

std::vector<domain::Event> MapStatusEvent(const nlohmann::json& event, const Catalog& catalog,
                                          const std::string& tenant) {
    (void)tenant;
    if (!event.is_object() || StringMember(event, "type") != "lead_status_changed" ||
        StringMember(event, "entity_type") != "lead") {
        return {};
    }
    std::string event_id = StringMember(event, "id");
    if (event_id.empty()) {
        if (const auto numeric = IntMember(event, "id")) {
            event_id = std::to_string(*numeric);
        }
    }
    const std::optional<std::int64_t> lead = IntMember(event, "entity_id");
    const std::optional<std::int64_t> created_at = IntMember(event, "created_at");
    if (event_id.empty() || !lead || !created_at) {
        return {};
    }
    // value_before / value_after: [{"lead_status": {"id": .., "pipeline_id": ..}}]
    auto status_of =
        [](const nlohmann::json& values) -> std::optional<std::pair<std::int64_t, std::int64_t>> {
        if (!values.is_array() || values.empty() || !values.front().is_object()) {
            return std::nullopt;
        }
        const auto status = values.front().find("lead_status");
        if (status == values.front().end() || !status->is_object()) {
            return std::nullopt;
        }
        const std::optional<std::int64_t> id = IntMember(*status, "id");
        const std::optional<std::int64_t> pipeline = IntMember(*status, "pipeline_id");
        if (!id || !pipeline) {
            return std::nullopt;
        }
        return std::make_pair(*pipeline, *id);
    };
    const auto after = event.find("value_after");
    const auto to = after == event.end() ? std::nullopt : status_of(*after);
    if (!to) {
        return {};
    }
    const Timestamp at = FromEpoch(*created_at);
    std::vector<domain::Event> events;
    // The stage it left, a second before: without it, a lead whose earlier moves went unseen
    // would look as if it had jumped (or been created) straight into the new stage.
    const auto before = event.find("value_before");
    if (const auto from = before == event.end() ? std::nullopt : status_of(*before)) {
        events.push_back(domain::Event{
            .id = AmoEventId(event_id) + ":before",
            .at = at - Duration{1},
            .body = domain::StageObserved{.deal_id = std::to_string(*lead),
                                          .pipeline = std::to_string(from->first),
                                          .stage = StageName(catalog, from->first, from->second)}});
    }
    events.push_back(domain::Event{
        .id = AmoEventId(event_id),
        .at = at,
        .body = domain::StageObserved{.deal_id = std::to_string(*lead),
                                      .pipeline = std::to_string(to->first),
                                      .stage = StageName(catalog, to->first, to->second)}});
    return events;
}

std::optional<PipelineInfo> ParsePipeline(const nlohmann::json& pipeline) {
    const std::optional<std::int64_t> id = IntMember(pipeline, "id");
    if (!id) {
        return std::nullopt;
    }
    PipelineInfo info{.id = *id,
                      .name = StringMember(pipeline, "name"),
                      .sort = static_cast<int>(IntMember(pipeline, "sort").value_or(0))};
    if (const auto main = pipeline.find("is_main"); main != pipeline.end() && main->is_boolean()) {
        info.is_main = main->get<bool>();
    }
    const auto embedded = pipeline.find("_embedded");
    if (embedded != pipeline.end() && embedded->is_object()) {
        if (const auto statuses = embedded->find("statuses");
            statuses != embedded->end() && statuses->is_array()) {
            for (const nlohmann::json& status : *statuses) {
                const std::optional<std::int64_t> status_id = IntMember(status, "id");
                if (!status_id) {
                    continue;
                }
                info.statuses.push_back(Status{
                    .id = *status_id,
                    .name = StringMember(status, "name"),
                    .sort = static_cast<int>(IntMember(status, "sort").value_or(0)),
                    .type = static_cast<int>(IntMember(status, "type").value_or(0)),
                });
            }
        }
    }
    return info;
}

std::optional<CustomField> ParseCustomField(const nlohmann::json& field) {
    const std::optional<std::int64_t> id = IntMember(field, "id");
    if (!id) {
        return std::nullopt;
    }
    return CustomField{
        .id = *id, .name = StringMember(field, "name"), .type = StringMember(field, "type")};
}

std::optional<User> ParseUser(const nlohmann::json& user) {
    const std::optional<std::int64_t> id = IntMember(user, "id");
    if (!id) {
        return std::nullopt;
    }
    return User{.id = *id, .name = StringMember(user, "name")};
}

}  // namespace fg::adapters::amocrm
