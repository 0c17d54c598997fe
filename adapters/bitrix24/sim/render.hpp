#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "adapters/bitrix24/sim/model.hpp"
#include "src/common/time.hpp"

namespace fg::adapters::bitrix24::sim {

/// The portal's zone: every time the simulator answers is in it ("...+03:00").
inline constexpr const char* kPortalZone = "Europe/Moscow";
std::string PortalTime(Timestamp t);

// The shapes the methods answer with (bitrix24.md §2): crm.deal.*, crm.activity.* and
// crm.timeline.comment.* string-typed with upper-case keys; tasks.task.* camelCase strings;
// crm.stagehistory.list and crm.category.list native ints.
nlohmann::json RenderDeal(const Model& model, const SimDeal& deal);
nlohmann::json RenderActivity(const SimActivity& activity);
nlohmann::json RenderTask(const SimTask& task);
nlohmann::json RenderComment(const SimComment& comment);
nlohmann::json RenderHistory(const SimStageHistory& row);
nlohmann::json RenderUser(const SimUser& user);
nlohmann::json RenderStage(const SimCategory& category, const SimStage& stage);
nlohmann::json RenderCategory(const SimCategory& category);
/// crm.deal.userfield.list's item; labels are strings with a LANG filter, per-language maps
/// without one.
nlohmann::json RenderUserField(const SimUserField& field, bool with_lang);
/// crm.deal.fields.
nlohmann::json RenderDealFields(const Model& model);

}  // namespace fg::adapters::bitrix24::sim
