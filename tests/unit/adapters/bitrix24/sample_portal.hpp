#pragma once

// A portal's directory as reference/bitrix24.md's samples show it (crm.category.list,
// crm.status.list of the default pipeline and of pipeline 1, user.get, crm.deal.userfield.list),
// and deals, to-dos, tasks and comments in the shapes of its samples, served by a FakePortal.

#include <functional>
#include <map>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/unit/adapters/bitrix24/fake_portal.hpp"

namespace fg::adapters::bitrix24::testing {

/// crm.deal.get's sample (every scalar a string) for deal `id` at `stage` of `category`.
nlohmann::json SampleDeal(const std::string& id, const std::string& stage,
                          const std::string& category = "0",
                          const std::string& modified = "2024-08-30T14:29:00+02:00");

/// The sample's entities, mutable while the portal serves them.
struct SampleData {
    std::mutex mutex{};
    std::map<std::int64_t, nlohmann::json> deals{};
    std::map<std::int64_t, nlohmann::json> activities{};
    std::map<std::int64_t, nlohmann::json> tasks{};  // camelCase, as tasks.task.get answers
    std::map<std::int64_t, nlohmann::json> comments{};
    nlohmann::json stage_history = nlohmann::json::array();
    /// The portal's time of a write ("2026-11-02T12:00:00+03:00" unless set).
    std::function<std::string()> now{};
    /// Told of every write after it is done, with the event the portal fires for it
    /// ("ONCRMTIMELINECOMMENTADD", "ONCRMACTIVITYADD", "ONTASKADD", "ONCRMDEALUPDATE") and the
    /// entity's id: the portal's outbound events. Called without the lock held.
    std::function<void(const std::string& event, const std::string& id)> changed{};
};

/// Serves the directory and `data` on `portal`: crm.category.list, crm.status.list, user.get,
/// crm.deal.userfield.list, crm.deal.get/list (order ID ASC, `>ID`, start=-1 or paging),
/// crm.activity.get/list, tasks.task.get/list, crm.timeline.comment.get/list,
/// crm.stagehistory.list; the writes (crm.timeline.comment.add, crm.activity.todo.add,
/// tasks.task.add, crm.deal.update) change `data`. The pipelines: 0 "General" (NEW "New",
/// PREPARATION "Preparing", EXECUTING "In progress", WON "Deal successful", LOSE "Deal failed",
/// APOLOGY "Analyze failure") and 1 "Seminars" (C1:NEW "Registered", C1:PAID "Paid", C1:WON
/// "Attended", C1:LOSE "No-show").
void ServeSamplePortal(FakePortal& portal, SampleData& data);

}  // namespace fg::adapters::bitrix24::testing
