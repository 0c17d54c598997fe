#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/bitrix24/api/catalog.hpp"
#include "adapters/bitrix24/config.hpp"
#include "src/common/result.hpp"
#include "src/common/time.hpp"
#include "src/domain/model.hpp"

namespace fg::adapters::bitrix24 {

/// What mapping a portal's answers needs besides them.
struct MapContext {
    std::string tenant{};
    std::string time_zone{};  // the tenant's: for a time the portal sends without an offset
    const Catalog* catalog = nullptr;
    DealTasks deal_tasks = DealTasks::kBoth;
};

/// "2024-08-30T14:29:00+02:00" as sent (the portal's offset); one without an offset is read in
/// the tenant's zone; nullopt for "", null or anything else.
std::optional<Timestamp> ParseTime(const nlohmann::json& value, const std::string& time_zone);

/// crm.deal.get / crm.deal.list's row (every scalar a string) → DealUpserted at DATE_MODIFY:
/// CATEGORY_ID → pipeline ("0" the default), STAGE_ID → the stage's name, ASSIGNED_BY_ID →
/// responsible, UF_CRM_* → fields by their labels, OPPORTUNITY too. kUnavailable when the
/// catalog does not know its pipeline or stage (refresh the directory and map again).
Result<domain::Event> MapDeal(const nlohmann::json& deal, const MapContext& context);

/// Why a deal's activity is not one of its planned activities, or empty when it is. A plan is
/// what the deal card's "no planned activities" counts: to-dos (CRM_TODO), calls, meetings,
/// outgoing e-mails and other providers' activities alike. Not a plan: an incoming one
/// (DIRECTION 1: a received e-mail, an incoming or missed call, an open-line chat, a web form),
/// which the portal counts as "incoming" for someone to answer, not as a plan of the deal; and a
/// task's mirror (TYPE_ID 3, PROVIDER_ID TASKS / CRM_TASKS_TASK), the activity the portal keeps
/// for a task bound to the deal, which counts through tasks.task.list per deal_tasks instead.
std::string NotAPlan(const nlohmann::json& activity);

/// crm.activity.get / list's row → TaskUpserted "todo:<ID>" of its deal (OWNER_TYPE_ID 2):
/// DEADLINE → due, COMPLETED Y → done, SUBJECT → text; nullopt for an activity of anything but
/// a deal, one that is not a plan (NotAPlan), or when deal_tasks leaves to-dos out.
std::optional<domain::Event> MapActivity(const nlohmann::json& activity, const MapContext& context);

/// tasks.task.get / list's task (camelCase) → TaskUpserted "task:<id>" of the deal its
/// ufCrmTask names ("D_<id>"): deadline → due, status 4 or 5 → done, title → text; nullopt
/// when it is bound to no deal, or deal_tasks leaves tasks out.
std::optional<domain::Event> MapTask(const nlohmann::json& task, const MapContext& context);

/// crm.timeline.comment.get / list's row → NoteAdded "comment:<ID>" at CREATED, when it is a
/// deal's (ENTITY_TYPE deal); nullopt otherwise.
std::optional<domain::Event> MapComment(const nlohmann::json& comment, const MapContext& context);

/// crm.stagehistory.list's items (native ints) → StageObserved at CREATED_TIME: where the deal
/// was, whatever events reported (pipeline moves included). Items of stages the catalog does not
/// know are left out.
std::vector<domain::Event> MapStageHistory(const nlohmann::json& items, const MapContext& context);

}  // namespace fg::adapters::bitrix24
