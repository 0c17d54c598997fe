#include "adapters/amocrm/sim/validation.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

namespace fg::adapters::amocrm::sim {
namespace {

using nlohmann::json;

/// A whole number that fits unix seconds (int64), optionally negative.
bool AllDigits(std::string_view text) {
    std::int64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    return !text.empty() && error == std::errc{} && end == text.data() + text.size();
}

bool IsNumericText(std::string_view text) {
    if (text.empty()) {
        return false;
    }
    double value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    return error == std::errc{} && end == text.data() + text.size() && std::isfinite(value);
}

std::optional<std::string> OptString(const json& item, const char* key, FieldErrors& errors) {
    const auto it = item.find(key);
    if (it == item.end() || it->is_null()) {
        return std::nullopt;
    }
    if (!it->is_string()) {
        errors.push_back(InvalidType(key, "string"));
        return std::nullopt;
    }
    return it->get<std::string>();
}

std::optional<std::int64_t> OptInt(const json& item, const char* key, FieldErrors& errors) {
    const auto it = item.find(key);
    if (it == item.end() || it->is_null()) {
        return std::nullopt;
    }
    // amoCRM wants real integers for ids and times.
    if (!it->is_number_integer()) {
        errors.push_back(InvalidType(key, "int"));
        return std::nullopt;
    }
    return it->get<std::int64_t>();
}

std::string RequestId(const json& item) {
    const auto it = item.find("request_id");
    if (it == item.end()) {
        return "";
    }
    return it->is_string() ? it->get<std::string>() : it->dump();
}

}  // namespace

FieldError NotSupported(std::string path) {
    return {"NotSupportedChoice", std::move(path), "The value you selected is not a valid choice."};
}

FieldError InvalidType(std::string path, std::string_view type) {
    return {"InvalidType", std::move(path), fmt::format("This value should be of type {}.", type)};
}

FieldError NotBlank(std::string path) {
    return {"NotBlank", std::move(path), "This value should not be blank."};
}

std::optional<std::int64_t> JsonInt(const json& value) {
    if (value.is_number_integer()) {
        return value.get<std::int64_t>();
    }
    if (value.is_string()) {
        const std::string text = value.get<std::string>();
        std::int64_t out = 0;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
        if (error == std::errc{} && end == text.data() + text.size() && !text.empty()) {
            return out;
        }
    }
    return std::nullopt;
}

std::vector<LeadField> ParseCustomFields(const Model& model, const json& array,
                                         FieldErrors& errors) {
    std::vector<LeadField> out;
    if (!array.is_array()) {
        errors.push_back(InvalidType("custom_fields_values", "array"));
        return out;
    }
    for (std::size_t i = 0; i < array.size(); ++i) {
        const json& item = array[i];
        const std::string path = fmt::format("custom_fields_values.{}", i);
        if (!item.is_object()) {
            errors.push_back(InvalidType(path, "array"));
            continue;
        }
        const auto id_it = item.find("field_id");
        if (id_it == item.end() || !id_it->is_number_integer() ||
            model.Field(id_it->get<std::int64_t>()) == nullptr) {
            errors.push_back(NotSupported(path + ".field_id"));
            continue;
        }
        const SimField& field = *model.Field(id_it->get<std::int64_t>());
        LeadField parsed{.field_id = field.id};
        const auto values_it = item.find("values");
        if (values_it == item.end() || values_it->is_null()) {
            out.push_back(std::move(parsed));  // clears the field
            continue;
        }
        if (!values_it->is_array()) {
            errors.push_back(InvalidType(path + ".values", "array"));
            continue;
        }
        for (std::size_t k = 0; k < values_it->size(); ++k) {
            const json& value = (*values_it)[k];
            const std::string value_path = fmt::format("{}.values.{}", path, k);
            if (!value.is_object()) {
                errors.push_back(InvalidType(value_path, "array"));
                continue;
            }
            FieldValue typed;
            const auto v = value.find("value");
            const auto e = value.find("enum_id");
            if (field.type == "select") {
                if (e != value.end() && e->is_number_integer()) {
                    typed.enum_id = e->get<std::int64_t>();
                } else if (v != value.end() && v->is_string()) {
                    typed.value = v->get<std::string>();
                } else {
                    errors.push_back(NotSupported(value_path + ".enum_id"));
                    continue;
                }
            } else if (v == value.end() || v->is_null()) {
                errors.push_back(NotBlank(value_path + ".value"));
                continue;
            } else if (field.type == "numeric") {
                if (v->is_number()) {
                    typed.value =
                        v->is_number_integer() ? std::to_string(v->get<std::int64_t>()) : v->dump();
                } else if (v->is_string()) {
                    typed.value = v->get<std::string>();
                } else {
                    errors.push_back(InvalidType(value_path + ".value", "numeric"));
                    continue;
                }
            } else if (field.type == "date") {
                if (v->is_number_integer()) {
                    typed.value = std::to_string(v->get<std::int64_t>());
                } else if (v->is_string()) {
                    const std::string text = v->get<std::string>();
                    if (AllDigits(text)) {
                        typed.value = text;
                    } else if (const auto parsed_time = ParseIso8601(text)) {
                        typed.value = std::to_string(ToEpoch(*parsed_time));
                    } else {
                        errors.push_back(InvalidType(value_path + ".value", "date"));
                        continue;
                    }
                } else {
                    errors.push_back(InvalidType(value_path + ".value", "date"));
                    continue;
                }
            } else if (v->is_string()) {
                typed.value = v->get<std::string>();
            } else if (v->is_number()) {
                typed.value = v->dump();
            } else {
                errors.push_back(InvalidType(value_path + ".value", "string"));
                continue;
            }
            parsed.values.push_back(std::move(typed));
        }
        out.push_back(std::move(parsed));
    }
    return out;
}

void CheckFields(const Model& model, std::vector<LeadField>& fields, FieldErrors& errors) {
    for (std::size_t i = 0; i < fields.size(); ++i) {
        LeadField& field = fields[i];
        const std::string path = fmt::format("custom_fields_values.{}", i);
        const SimField* known = model.Field(field.field_id);
        if (known == nullptr) {
            errors.push_back(NotSupported(path + ".field_id"));
            continue;
        }
        for (std::size_t k = 0; k < field.values.size(); ++k) {
            FieldValue& value = field.values[k];
            const std::string value_path = fmt::format("{}.values.{}", path, k);
            if (known->type == "select") {
                const auto match =
                    std::find_if(known->enums.begin(), known->enums.end(), [&](const SimEnum& e) {
                        return value.enum_id != 0 ? e.id == value.enum_id : e.value == value.value;
                    });
                if (match == known->enums.end()) {
                    errors.push_back(NotSupported(value_path + ".enum_id"));
                    continue;
                }
                value.enum_id = match->id;
                value.value = match->value;
            } else if (known->type == "numeric" && !IsNumericText(value.value)) {
                errors.push_back(InvalidType(value_path + ".value", "numeric"));
            } else if (known->type == "date" && !AllDigits(value.value)) {
                errors.push_back(InvalidType(value_path + ".value", "date"));
            }
        }
    }
}

LeadInput ParseLeadInput(const Model& model, const json& item, bool create, FieldErrors& errors) {
    LeadInput input;
    if (!item.is_object()) {
        errors.push_back(InvalidType("", "array"));
        return input;
    }
    input.request_id = RequestId(item);
    if (!create) {
        input.id = OptInt(item, "id", errors);
    }
    input.patch.name = OptString(item, "name", errors);
    input.patch.price = OptInt(item, "price", errors);
    input.patch.status_id = OptInt(item, "status_id", errors);
    input.patch.pipeline_id = OptInt(item, "pipeline_id", errors);
    input.patch.responsible_user_id = OptInt(item, "responsible_user_id", errors);
    input.updated_by = OptInt(item, "updated_by", errors);
    input.created_by = OptInt(item, "created_by", errors);
    if (const auto it = item.find("custom_fields_values"); it != item.end() && !it->is_null()) {
        input.patch.fields = ParseCustomFields(model, *it, errors);
        CheckFields(model, input.patch.fields, errors);
    }
    return input;
}

void ResolveLeadPatch(const Model& model, const SimLead* lead, LeadPatch& patch,
                      FieldErrors& errors) {
    const SimPipeline* pipeline = nullptr;
    if (patch.pipeline_id) {
        pipeline = model.Pipeline(*patch.pipeline_id);
        if (pipeline == nullptr) {
            errors.push_back(NotSupported("pipeline_id"));
            return;
        }
    } else if (lead != nullptr) {
        pipeline = model.Pipeline(lead->pipeline_id);
    } else {
        pipeline = &model.MainPipeline();
    }
    if (pipeline == nullptr) {
        errors.push_back(NotSupported("pipeline_id"));
        return;
    }
    const bool moves_pipeline = lead == nullptr || pipeline->id != lead->pipeline_id;
    if (!patch.status_id && moves_pipeline) {
        // A new lead, or a lead moved to another pipeline without a stage: the first open stage.
        const std::vector<std::int64_t> open = pipeline->OpenStages();
        if (!open.empty()) {
            patch.status_id = open.front();
        }
    }
    if (patch.status_id) {
        const SimStatus* status = pipeline->Find(*patch.status_id);
        // Leads cannot be put into "Неразобранное" (unsorted) through the API.
        if (status == nullptr || status->type == 1) {
            errors.push_back(NotSupported("status_id"));
        }
        patch.pipeline_id = pipeline->id;
    }
    if (patch.responsible_user_id && model.User(*patch.responsible_user_id) == nullptr) {
        errors.push_back(NotSupported("responsible_user_id"));
    }
    if (patch.price && *patch.price < 0) {
        errors.push_back(
            {"GreaterThanOrEqual", "price", "This value should be greater than or equal to 0."});
    }
}

TaskInput ParseTaskInput(const Model& model, const json& item, bool create, FieldErrors& errors) {
    TaskInput input;
    if (!item.is_object()) {
        errors.push_back(InvalidType("", "array"));
        return input;
    }
    input.request_id = RequestId(item);
    if (!create) {
        input.id = OptInt(item, "id", errors);
        const SimTask* task = input.id ? model.Task(*input.id) : nullptr;
        if (task == nullptr || task->is_deleted) {
            errors.push_back(NotSupported("id"));
        }
    }
    const std::optional<std::string> text = OptString(item, "text", errors);
    const std::optional<std::int64_t> till = OptInt(item, "complete_till", errors);
    if (till) {
        input.complete_till = FromEpoch(*till);
    }
    input.responsible_user_id = OptInt(item, "responsible_user_id", errors);
    if (input.responsible_user_id && model.User(*input.responsible_user_id) == nullptr) {
        errors.push_back(NotSupported("responsible_user_id"));
    }
    if (const auto type = OptInt(item, "task_type_id", errors)) {
        if (*type != 1 && *type != 2) {
            errors.push_back(NotSupported("task_type_id"));
        }
        input.task_type_id = static_cast<int>(*type);
    }
    input.duration = OptInt(item, "duration", errors).value_or(0);
    input.created_by = OptInt(item, "created_by", errors);
    if (const auto it = item.find("is_completed"); it != item.end() && !it->is_null()) {
        if (!it->is_boolean()) {
            errors.push_back(InvalidType("is_completed", "bool"));
        } else {
            input.is_completed = it->get<bool>();
        }
    }
    if (const auto it = item.find("result"); it != item.end() && !it->is_null()) {
        if (!it->is_object() || !it->contains("text") || !(*it)["text"].is_string()) {
            errors.push_back(InvalidType("result.text", "string"));
        } else {
            input.result_text = (*it)["text"].get<std::string>();
        }
    }
    if (create) {
        if (!text || text->empty()) {
            errors.push_back(NotBlank("text"));
        } else {
            input.text = *text;
        }
        if (!input.complete_till) {
            errors.push_back(NotBlank("complete_till"));
        }
        const std::optional<std::string> entity_type = OptString(item, "entity_type", errors);
        const std::optional<std::int64_t> entity_id = OptInt(item, "entity_id", errors);
        if (!entity_type || !entity_id) {
            errors.push_back(NotBlank(!entity_type ? "entity_type" : "entity_id"));
        } else if (*entity_type != "leads") {
            errors.push_back(NotSupported("entity_type"));
        } else {
            const SimLead* lead = model.Lead(*entity_id);
            if (lead == nullptr || lead->is_deleted) {
                errors.push_back(NotSupported("entity_id"));
            } else {
                input.lead_id = *entity_id;
            }
        }
    } else if (text) {
        if (text->empty()) {
            errors.push_back(NotBlank("text"));
        }
        input.new_text = *text;
    }
    return input;
}

NoteInput ParseNoteInput(const Model& model, const json& item, std::int64_t lead_id,
                         FieldErrors& errors) {
    NoteInput input;
    if (!item.is_object()) {
        errors.push_back(InvalidType("", "array"));
        return input;
    }
    input.request_id = RequestId(item);
    if (lead_id > 0) {
        input.lead_id = lead_id;
    } else {
        const std::optional<std::int64_t> entity_id = OptInt(item, "entity_id", errors);
        const SimLead* lead = entity_id ? model.Lead(*entity_id) : nullptr;
        if (!entity_id) {
            errors.push_back(NotBlank("entity_id"));
        } else if (lead == nullptr || lead->is_deleted) {
            errors.push_back(NotSupported("entity_id"));
        } else {
            input.lead_id = *entity_id;
        }
    }
    const std::optional<std::string> type = OptString(item, "note_type", errors);
    if (!type) {
        errors.push_back(NotBlank("note_type"));
    } else if (*type != "common" && *type != "service_message") {
        errors.push_back(NotSupported("note_type"));
    } else {
        input.note_type = *type;
    }
    const auto params = item.find("params");
    if (params == item.end() || !params->is_object()) {
        errors.push_back(NotBlank("params"));
    } else {
        const auto text = params->find("text");
        if (text == params->end() || !text->is_string() || text->get<std::string>().empty()) {
            errors.push_back(NotBlank("params.text"));
        } else {
            input.text = text->get<std::string>();
        }
        if (input.note_type == "service_message") {
            const auto service = params->find("service");
            if (service == params->end() || !service->is_string() ||
                service->get<std::string>().empty()) {
                errors.push_back(NotBlank("params.service"));
            } else {
                input.service = service->get<std::string>();
            }
        }
    }
    input.created_by = OptInt(item, "created_by", errors);
    input.responsible_user_id = OptInt(item, "responsible_user_id", errors);
    return input;
}

std::string Describe(const FieldErrors& errors) {
    std::string out;
    for (const FieldError& error : errors) {
        if (!out.empty()) {
            out += "; ";
        }
        out += fmt::format("{}: {} ({})", error.path, error.detail, error.code);
    }
    return out;
}

}  // namespace fg::adapters::amocrm::sim
