#include "adapters/bitrix24/api/mapping.hpp"

#include <date/tz.h>
#include <fmt/format.h>

#include "adapters/bitrix24/api/client.hpp"
#include "adapters/bitrix24/wire/references.hpp"

namespace fg::adapters::bitrix24 {
namespace {

using nlohmann::json;

std::string Stamp(std::optional<Timestamp> at) { return at ? std::to_string(ToEpoch(*at)) : "0"; }

// The label users see for a user field, from the catalog; the code itself when unknown.
std::string LabelOf(const std::string& code, const MapContext& context) {
    if (context.catalog != nullptr) {
        const auto found = context.catalog->field_labels.find(code);
        if (found != context.catalog->field_labels.end() && !found->second.empty()) {
            return found->second;
        }
    }
    return code;
}

std::string FieldValue(const json& value) {
    if (value.is_array()) {
        std::string joined;
        for (const json& item : value) {
            const std::string text = Text(item);
            if (!text.empty()) {
                joined += joined.empty() ? text : ", " + text;
            }
        }
        return joined;
    }
    if (value.is_boolean()) {
        return value.get<bool>() ? "Y" : "N";
    }
    return Text(value);
}

}  // namespace

std::optional<Timestamp> ParseTime(const json& value, const std::string& time_zone) {
    if (!value.is_string()) {
        return std::nullopt;
    }
    const std::string text = value.get<std::string>();
    if (text.empty()) {
        return std::nullopt;
    }
    if (auto with_offset = ParseIso8601(text)) {
        return with_offset;
    }
    // No offset: local time of the portal, which the tenant's zone stands for.
    std::istringstream in(text);
    date::local_seconds local;
    in >> date::parse("%Y-%m-%dT%H:%M:%S", local);
    if (in.fail()) {
        std::istringstream spaced(text);
        spaced >> date::parse("%Y-%m-%d %H:%M:%S", local);
        if (spaced.fail()) {
            return std::nullopt;
        }
    }
    try {
        const date::time_zone* zone =
            date::locate_zone(time_zone.empty() ? std::string("UTC") : time_zone);
        return std::chrono::time_point_cast<Duration>(zone->to_sys(local, date::choose::earliest));
    } catch (const std::exception&) {
        return Timestamp{local.time_since_epoch()};
    }
}

Result<domain::Event> MapDeal(const json& deal, const MapContext& context) {
    const std::string id = FieldText(deal, "ID");
    if (!IsId(id)) {
        return MakeError(ErrorCode::kInvalidInput, "deal without an ID");
    }
    std::string category_id = FieldText(deal, "CATEGORY_ID");
    if (category_id.empty()) {
        category_id = "0";
    }
    const std::string status_id = FieldText(deal, "STAGE_ID");
    const Category* category =
        context.catalog != nullptr ? context.catalog->Find(category_id) : nullptr;
    const Stage* stage = category != nullptr ? category->ByStatus(status_id) : nullptr;
    if (stage == nullptr) {
        return MakeError(ErrorCode::kUnavailable,
                         "deal {}: pipeline {} stage {} is not in the directory (refresh it)", id,
                         category_id, status_id);
    }
    domain::Deal mapped{.tenant = context.tenant,
                        .id = id,
                        .title = FieldText(deal, "TITLE"),
                        .pipeline = category_id,
                        .stage = stage->name,
                        .responsible = FieldText(deal, "ASSIGNED_BY_ID"),
                        .fields = {},
                        .created_at = {},
                        .updated_at = {},
                        .deleted = false};
    for (const auto& [key, value] : ObjectOr(deal).items()) {
        if (key.starts_with("UF_CRM_")) {
            mapped.fields[LabelOf(key, context)] = FieldValue(value);
        }
    }
    if (const std::string opportunity = FieldText(deal, "OPPORTUNITY"); !opportunity.empty()) {
        mapped.fields["OPPORTUNITY"] = opportunity;
    }
    const std::optional<Timestamp> created =
        ParseTime(ObjectOr(deal).value("DATE_CREATE", json()), context.time_zone);
    const std::optional<Timestamp> modified =
        ParseTime(ObjectOr(deal).value("DATE_MODIFY", json()), context.time_zone);
    mapped.created_at = created.value_or(modified.value_or(Timestamp{}));
    mapped.updated_at = modified.value_or(mapped.created_at);
    return domain::Event{.id = fmt::format("deal:{}@{}:{}", id, Stamp(modified), status_id),
                         .at = mapped.updated_at,
                         .body = domain::DealUpserted{.deal = std::move(mapped)}};
}

std::string NotAPlan(const json& activity) {
    if (FieldText(activity, "DIRECTION") == "1") {
        return "incoming";
    }
    const std::string provider = FieldText(activity, "PROVIDER_ID");
    if (FieldText(activity, "TYPE_ID") == "3" || provider == "TASKS" || provider == "TASKS_TASK" ||
        provider == "CRM_TASKS_TASK") {
        return "a task's mirror";
    }
    return {};
}

std::optional<domain::Event> MapActivity(const json& activity, const MapContext& context) {
    if (context.deal_tasks == DealTasks::kTasks || FieldText(activity, "OWNER_TYPE_ID") != "2" ||
        !NotAPlan(activity).empty()) {
        return std::nullopt;
    }
    const std::string id = FieldText(activity, "ID");
    const std::string deal = FieldText(activity, "OWNER_ID");
    if (!IsId(id) || !IsId(deal)) {
        return std::nullopt;
    }
    const json& row = ObjectOr(activity);
    const std::optional<Timestamp> created =
        ParseTime(row.value("CREATED", json()), context.time_zone);
    const std::optional<Timestamp> updated =
        ParseTime(row.value("LAST_UPDATED", json()), context.time_zone);
    domain::Task task{.id = TodoTaskId(id),
                      .deal_id = deal,
                      .due = ParseTime(row.value("DEADLINE", json()), context.time_zone),
                      .done = FieldText(activity, "COMPLETED") == "Y",
                      .deleted = false,
                      .responsible = FieldText(activity, "RESPONSIBLE_ID"),
                      .text = FieldText(activity, "SUBJECT"),
                      .created_at = created.value_or(updated.value_or(Timestamp{})),
                      .updated_at = updated.value_or(created.value_or(Timestamp{})),
                      .closed_at = std::nullopt,
                      .reschedules = 0,
                      .own = false};
    if (task.text.empty()) {
        task.text = FieldText(activity, "DESCRIPTION");
    }
    if (task.done) {
        task.closed_at = task.updated_at;
    }
    const Timestamp at = task.updated_at;
    return domain::Event{
        .id = fmt::format("{}@{}:{}", task.id, Stamp(updated), task.done ? "done" : "open"),
        .at = at,
        .body = domain::TaskUpserted{.task = std::move(task)}};
}

std::optional<domain::Event> MapTask(const json& task_row, const MapContext& context) {
    if (context.deal_tasks == DealTasks::kTodos) {
        return std::nullopt;
    }
    const json& row = ObjectOr(task_row);
    const std::string id = FieldText(row, "id");
    std::string deal;
    const json bindings = row.value("ufCrmTask", json());
    if (bindings.is_array()) {
        for (const json& binding : bindings) {
            const std::string text = Text(binding);
            if (text.starts_with("D_") && IsId(text.substr(2))) {
                deal = text.substr(2);
                break;
            }
        }
    }
    if (!IsId(id) || deal.empty()) {
        return std::nullopt;
    }
    const std::string status = FieldText(row, "status");
    const std::optional<Timestamp> created =
        ParseTime(row.value("createdDate", json()), context.time_zone);
    const std::optional<Timestamp> changed =
        ParseTime(row.value("changedDate", json()), context.time_zone);
    domain::Task task{.id = TaskTaskId(id),
                      .deal_id = deal,
                      .due = ParseTime(row.value("deadline", json()), context.time_zone),
                      .done = status == "4" || status == "5",
                      .deleted = false,
                      .responsible = FieldText(row, "responsibleId"),
                      .text = FieldText(row, "title"),
                      .created_at = created.value_or(changed.value_or(Timestamp{})),
                      .updated_at = changed.value_or(created.value_or(Timestamp{})),
                      .closed_at = ParseTime(row.value("closedDate", json()), context.time_zone),
                      .reschedules = 0,
                      .own = false};
    if (task.done && !task.closed_at) {
        task.closed_at = task.updated_at;
    }
    const Timestamp at = task.updated_at;
    return domain::Event{.id = fmt::format("{}@{}:{}", task.id, Stamp(changed), status),
                         .at = at,
                         .body = domain::TaskUpserted{.task = std::move(task)}};
}

std::optional<domain::Event> MapComment(const json& comment, const MapContext& context) {
    const std::string id = FieldText(comment, "ID");
    const std::string deal = FieldText(comment, "ENTITY_ID");
    std::string type = FieldText(comment, "ENTITY_TYPE");
    std::transform(type.begin(), type.end(), type.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (type != "deal" || !IsId(id) || !IsId(deal)) {
        return std::nullopt;
    }
    const Timestamp at = ParseTime(ObjectOr(comment).value("CREATED", json()), context.time_zone)
                             .value_or(Timestamp{});
    return domain::Event{.id = CommentNoteId(id),
                         .at = at,
                         .body = domain::NoteAdded{.note = {.id = CommentNoteId(id),
                                                            .deal_id = deal,
                                                            .at = at,
                                                            .text = FieldText(comment, "COMMENT"),
                                                            .own = false}}};
}

std::vector<domain::Event> MapStageHistory(const json& items, const MapContext& context) {
    std::vector<domain::Event> events;
    if (!items.is_array() || context.catalog == nullptr) {
        return events;
    }
    for (const json& item : items) {
        const std::string id = FieldText(item, "ID");
        const std::string deal = FieldText(item, "OWNER_ID");
        std::string category_id = FieldText(item, "CATEGORY_ID");
        if (category_id.empty()) {
            category_id = "0";
        }
        const Category* category = context.catalog->Find(category_id);
        const Stage* stage =
            category != nullptr ? category->ByStatus(FieldText(item, "STAGE_ID")) : nullptr;
        const std::optional<Timestamp> at =
            ParseTime(ObjectOr(item).value("CREATED_TIME", json()), context.time_zone);
        if (stage == nullptr || !at || !IsId(deal)) {
            continue;
        }
        events.push_back({.id = "stagehistory:" + id,
                          .at = *at,
                          .body = domain::StageObserved{
                              .deal_id = deal, .pipeline = category_id, .stage = stage->name}});
    }
    return events;
}

}  // namespace fg::adapters::bitrix24
