#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/amocrm/wire/catalog.hpp"
#include "src/domain/model.hpp"

namespace fg::adapters::amocrm {

/// API v4 JSON to domain events and catalog entries. Pure; tolerant of ids sent as strings and
/// of missing optional members. nullopt means "not for us" (a contact's task, a call note) or
/// malformed (no id); the caller counts and skips it.
///
/// Mapping (wire/catalog.hpp): Deal::pipeline is the pipeline id in decimal, Deal::stage the
/// status name (the status id in decimal when the catalog does not know it), responsible the
/// user id in decimal, fields keyed by the catalog's field name (else the item's field_name,
/// else the id), several values joined with ", ", true as "1", false as "".

/// A lead (GET /api/v4/leads item): DealUpserted at updated_at with event id
/// lead:{id}@{updated_at}:{status_id}; DealDeleted (lead:{id}:deleted) when is_deleted.
std::optional<domain::Event> MapLead(const nlohmann::json& lead, const Catalog& catalog,
                                     const std::string& tenant);
/// A task of a lead (entity_type "leads"): TaskUpserted at updated_at, id task:{id}@{updated_at}.
std::optional<domain::Event> MapTask(const nlohmann::json& task);
/// A common note of a lead: NoteAdded at created_at, id note:{id}.
std::optional<domain::Event> MapNote(const nlohmann::json& note);
/// A lead_status_changed entry of GET /api/v4/events: StageObserved at created_at for the stage
/// it moved to (id amoevent:{id}) and, a second earlier, for the stage it left
/// (amoevent:{id}:before). Empty for anything else.
std::vector<domain::Event> MapStatusEvent(const nlohmann::json& event, const Catalog& catalog,
                                          const std::string& tenant);

std::optional<PipelineInfo> ParsePipeline(const nlohmann::json& pipeline);
std::optional<CustomField> ParseCustomField(const nlohmann::json& field);
std::optional<User> ParseUser(const nlohmann::json& user);

/// An id or unix time given as a JSON integer, an integral float or a decimal string.
std::optional<std::int64_t> IntOf(const nlohmann::json& value);
/// IntOf(object[key]) when the member exists.
std::optional<std::int64_t> IntMember(const nlohmann::json& object, const char* key);
/// object[key] when it is a string, else "".
std::string StringMember(const nlohmann::json& object, const char* key);

}  // namespace fg::adapters::amocrm
