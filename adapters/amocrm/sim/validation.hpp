#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/amocrm/sim/model.hpp"
#include "src/common/time.hpp"

namespace fg::adapters::amocrm::sim {

/// One entry of amoCRM's "validation-errors[].errors[]".
struct FieldError {
    std::string code{};  // "NotSupportedChoice", "InvalidType", "NotBlank"
    std::string path{};  // "status_id", "custom_fields_values.0.field_id"
    std::string detail{};
};
using FieldErrors = std::vector<FieldError>;

FieldError NotSupported(std::string path);
FieldError InvalidType(std::string path, std::string_view type);
FieldError NotBlank(std::string path);

/// Integer from a JSON number (integral) or a string of digits.
std::optional<std::int64_t> JsonInt(const nlohmann::json& value);

/// custom_fields_values of a POST/PATCH body into typed values; `null` values clear a field.
std::vector<LeadField> ParseCustomFields(const Model& model, const nlohmann::json& array,
                                         FieldErrors& errors);
/// Checks typed values against the catalog and completes selects (enum text from enum_id and
/// back). Paths name `custom_fields_values.<i>...`.
void CheckFields(const Model& model, std::vector<LeadField>& fields, FieldErrors& errors);

/// A lead of a POST (create) or PATCH body.
struct LeadInput {
    std::optional<std::int64_t> id{};
    LeadPatch patch{};
    std::optional<std::int64_t> updated_by{};  // 0 = robot
    std::optional<std::int64_t> created_by{};
    std::string request_id{};
};
LeadInput ParseLeadInput(const Model& model, const nlohmann::json& item, bool create,
                         FieldErrors& errors);

/// Settles the pipeline and stage a patch leads to and checks them (and the responsible user).
/// `lead` is null for a create: the defaults are the main pipeline and its first open stage.
/// After it, patch.status_id and patch.pipeline_id are both set when the stage changes.
void ResolveLeadPatch(const Model& model, const SimLead* lead, LeadPatch& patch,
                      FieldErrors& errors);

struct TaskInput {
    std::optional<std::int64_t> id{};  // PATCH
    std::int64_t lead_id = 0;
    std::string text{};
    std::optional<Timestamp> complete_till{};
    std::optional<std::int64_t> responsible_user_id{};
    std::optional<int> task_type_id{};
    std::int64_t duration = 0;
    std::optional<bool> is_completed{};
    std::optional<std::string> result_text{};
    std::optional<std::string> new_text{};  // PATCH
    std::optional<std::int64_t> created_by{};
    std::string request_id{};
};
TaskInput ParseTaskInput(const Model& model, const nlohmann::json& item, bool create,
                         FieldErrors& errors);

struct NoteInput {
    std::int64_t lead_id = 0;
    std::string note_type{};
    std::string text{};
    std::string service{};
    std::optional<std::int64_t> created_by{};
    std::optional<std::int64_t> responsible_user_id{};
    std::string request_id{};
};
/// `lead_id` > 0 when the path names the lead (/api/v4/leads/{id}/notes).
NoteInput ParseNoteInput(const Model& model, const nlohmann::json& item, std::int64_t lead_id,
                         FieldErrors& errors);

/// "path: detail; path: detail" for Result errors of manager operations.
std::string Describe(const FieldErrors& errors);

}  // namespace fg::adapters::amocrm::sim
