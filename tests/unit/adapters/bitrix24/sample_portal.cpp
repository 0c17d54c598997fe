#include "tests/unit/adapters/bitrix24/sample_portal.hpp"

#include "adapters/bitrix24/api/client.hpp"

namespace fg::adapters::bitrix24::testing {

using nlohmann::json;

namespace {

json StatusRow(const char* entity, const char* status, const char* name, const char* sort,
               json semantics) {
    return {{"ID", "1"},           {"ENTITY_ID", entity},
            {"STATUS_ID", status}, {"NAME", name},
            {"NAME_INIT", name},   {"SORT", sort},
            {"SYSTEM", "Y"},       {"CATEGORY_ID", nullptr},
            {"COLOR", "#39A8EF"},  {"SEMANTICS", std::move(semantics)}};
}

std::int64_t IdOf(const json& params, const char* key) {
    const json value = params.value(key, json());
    if (value.is_number_integer()) {
        return value.get<std::int64_t>();
    }
    if (value.is_string()) {
        return std::atoll(value.get<std::string>().c_str());
    }
    return 0;
}

std::string FilterText(const json& params, const char* key) {
    const json filter = params.value("filter", json::object());
    const json value = filter.is_object() ? filter.value(key, json()) : json();
    if (value.is_string()) {
        return value.get<std::string>();
    }
    if (value.is_number_integer()) {
        return std::to_string(value.get<std::int64_t>());
    }
    return {};
}

// filter[>ID] of a list read in ID order (0 without one).
std::int64_t AfterId(const json& params) {
    const std::string after = FilterText(params, ">ID");
    return after.empty() ? 0 : std::atoll(after.c_str());
}

// The row's ID ("ID", or tasks' "id") is past filter[>ID].
bool PastAfter(const json& row, const json& params, const char* id_key = "ID") {
    return std::atoll(Text(row.value(id_key, json())).c_str()) > AfterId(params);
}

// 50 a page, as the portal's lists: start=-1 (no total) or an offset.
// A list call's `start` (a number or its text; -1: the first 50, no total).
std::int64_t StartOf(const json& params) {
    const json given = params.value("start", json());
    if (given.is_number_integer()) {
        return given.get<std::int64_t>();
    }
    return given.is_string() ? std::atoll(given.get<std::string>().c_str()) : 0;
}

Reply Page(const std::vector<json>& rows, const json& params, bool wrap_tasks = false) {
    std::int64_t start = StartOf(params);
    const bool no_total = start < 0;
    start = std::max<std::int64_t>(start, 0);
    json page = json::array();
    for (std::size_t i = static_cast<std::size_t>(start); i < rows.size() && page.size() < 50;
         ++i) {
        page.push_back(rows[i]);
    }
    const std::int64_t end = start + static_cast<std::int64_t>(page.size());
    const std::optional<std::int64_t> next =
        !no_total && end < static_cast<std::int64_t>(rows.size()) ? std::optional(end)
                                                                  : std::nullopt;
    const json result = wrap_tasks ? json{{"tasks", page}} : page;
    return Ok(result, no_total ? std::nullopt : std::optional<std::int64_t>(rows.size()), next);
}

std::string NowOf(const SampleData& data) {
    return data.now ? data.now() : std::string("2026-11-02T12:00:00+03:00");
}

// The write's answer, once the portal's event for it went out.
Reply Fire(SampleData& data, const char* event, std::int64_t id, Reply reply) {
    if (data.changed) {
        data.changed(event, std::to_string(id));
    }
    return reply;
}

}  // namespace

json SampleDeal(const std::string& id, const std::string& stage, const std::string& category,
                const std::string& modified) {
    return {{"ID", id},
            {"TITLE", "New Deal #" + id},
            {"TYPE_ID", "COMPLEX"},
            {"STAGE_ID", stage},
            {"CURRENCY_ID", "EUR"},
            {"OPPORTUNITY", "1000000.00"},
            {"ASSIGNED_BY_ID", "1"},
            {"DATE_CREATE", "2024-08-30T14:29:00+02:00"},
            {"DATE_MODIFY", modified},
            {"CLOSED", "N"},
            {"COMMENTS", "[B]Example comment[/B]"},
            {"CATEGORY_ID", category},
            {"STAGE_SEMANTIC_ID", "P"},
            {"MOVED_BY_ID", "1"},
            {"MOVED_TIME", "2024-08-30T14:29:00+02:00"},
            {"UF_CRM_1721244482250", "Hello world!"}};
}

void ServeSamplePortal(FakePortal& portal, SampleData& data) {
    portal.On("crm.category.list", Ok({{"categories",
                                        {{{"id", 1},
                                          {"name", "Seminars"},
                                          {"sort", 200},
                                          {"entityTypeId", 2},
                                          {"isDefault", "N"}},
                                         {{"id", 0},
                                          {"name", "General"},
                                          {"sort", 300},
                                          {"entityTypeId", 2},
                                          {"isDefault", "Y"}}}}},
                                      2));
    portal.On("crm.status.list", [](const json& params) {
        const std::string entity = FilterText(params, "ENTITY_ID");
        if (entity == "DEAL_STAGE") {
            return Ok(
                json::array({StatusRow("DEAL_STAGE", "NEW", "New", "10", nullptr),
                             StatusRow("DEAL_STAGE", "PREPARATION", "Preparing", "20", ""),
                             StatusRow("DEAL_STAGE", "EXECUTING", "In progress", "40", nullptr),
                             StatusRow("DEAL_STAGE", "LOSE", "Deal failed", "70", "F"),
                             StatusRow("DEAL_STAGE", "WON", "Deal successful", "60", "S"),
                             StatusRow("DEAL_STAGE", "APOLOGY", "Analyze failure", "80", "F")}));
        }
        if (entity == "DEAL_STAGE_1") {
            return Ok(json::array({StatusRow("DEAL_STAGE_1", "C1:NEW", "Registered", "10", nullptr),
                                   StatusRow("DEAL_STAGE_1", "C1:PAID", "Paid", "20", nullptr),
                                   StatusRow("DEAL_STAGE_1", "C1:WON", "Attended", "60", "S"),
                                   StatusRow("DEAL_STAGE_1", "C1:LOSE", "No-show", "70", "F")}));
        }
        return Ok(json::array());
    });
    portal.On("user.get", Ok(json::array({{{"ID", "1"}, {"NAME", "Anna"}, {"LAST_NAME", "Ivanova"}},
                                          {{"ID", "5"}, {"NAME", "Boris"}, {"LAST_NAME", ""}}}),
                             2));
    portal.On("crm.deal.userfield.list",
              Ok(json::array({{{"ID", "101"},
                               {"FIELD_NAME", "UF_CRM_1721244482250"},
                               {"USER_TYPE_ID", "string"},
                               {"EDIT_FORM_LABEL", {{"ru", "Комментарий клиента"}}}}})));
    portal.On("crm.deal.get", [&data](const json& params) {
        const std::lock_guard lock(data.mutex);
        const auto found = data.deals.find(IdOf(params, "id"));
        return found == data.deals.end() ? Fail(400, "", "Not found") : Ok(found->second);
    });
    portal.On("crm.deal.list", [&data](const json& params) {
        const std::lock_guard lock(data.mutex);
        const std::string after = FilterText(params, ">ID");
        const std::int64_t above = after.empty() ? 0 : std::atoll(after.c_str());
        // start=-1 answers the first 50 and no total: copying only those keeps the pull's 2,500
        // deals a page cheap (the contract's pull took 21 s under ASan copying every row).
        const bool first_50 = StartOf(params) < 0;
        std::vector<json> rows;
        for (auto it = data.deals.upper_bound(above);
             it != data.deals.end() && (!first_50 || rows.size() < 50); ++it) {
            rows.push_back(it->second);
        }
        return Page(rows, params);
    });
    portal.On("crm.deal.update", [&data](const json& params) {
        const std::int64_t id = IdOf(params, "id");
        {
            const std::lock_guard lock(data.mutex);
            const auto found = data.deals.find(id);
            if (found == data.deals.end()) {
                return Fail(400, "", "Not found");
            }
            const json fields = params.value("fields", json::object());
            for (const auto& [key, value] : fields.items()) {
                found->second[key] = value;
            }
            found->second["DATE_MODIFY"] = NowOf(data);
        }
        return Fire(data, "ONCRMDEALUPDATE", id, Ok(true));
    });
    portal.On("crm.activity.get", [&data](const json& params) {
        const std::lock_guard lock(data.mutex);
        const auto found = data.activities.find(IdOf(params, "id"));
        return found == data.activities.end() ? Fail(400, "", "Not found") : Ok(found->second);
    });
    portal.On("crm.activity.list", [&data](const json& params) {
        const std::lock_guard lock(data.mutex);
        const std::string owner = FilterText(params, "OWNER_ID");
        std::vector<json> rows;
        for (const auto& [id, activity] : data.activities) {
            if ((owner.empty() || activity.value("OWNER_ID", "") == owner) &&
                PastAfter(activity, params)) {
                rows.push_back(activity);
            }
        }
        return Page(rows, params);
    });
    portal.On("crm.activity.todo.add", [&data](const json& params) {
        std::unique_lock lock(data.mutex);
        const std::int64_t id = 700 + static_cast<std::int64_t>(data.activities.size());
        data.activities[id] = {{"ID", std::to_string(id)},
                               {"OWNER_ID", std::to_string(IdOf(params, "ownerId"))},
                               {"OWNER_TYPE_ID", "2"},
                               {"PROVIDER_ID", "CRM_TODO"},
                               {"SUBJECT", params.value("title", "")},
                               {"DESCRIPTION", params.value("description", "")},
                               {"DEADLINE", params.value("deadline", "")},
                               {"COMPLETED", "N"},
                               {"RESPONSIBLE_ID", std::to_string(IdOf(params, "responsibleId"))},
                               {"CREATED", NowOf(data)},
                               {"LAST_UPDATED", NowOf(data)}};
        lock.unlock();
        return Fire(data, "ONCRMACTIVITYADD", id, Ok({{"id", id}}));
    });
    portal.On("tasks.task.get", [&data](const json& params) {
        const std::lock_guard lock(data.mutex);
        const auto found = data.tasks.find(IdOf(params, "taskId"));
        return found == data.tasks.end() ? Fail(400, "", "Not found")
                                         : Ok({{"task", found->second}});
    });
    portal.On("tasks.task.list", [&data](const json& params) {
        const std::lock_guard lock(data.mutex);
        const std::string binding = FilterText(params, "UF_CRM_TASK");
        std::vector<json> rows;
        for (const auto& [id, task] : data.tasks) {
            const json bound = task.value("ufCrmTask", json::array());
            if ((binding.empty() ||
                 std::find(bound.begin(), bound.end(), binding) != bound.end()) &&
                PastAfter(task, params, "id")) {
                rows.push_back(task);
            }
        }
        return Page(rows, params, true);
    });
    portal.On("tasks.task.add", [&data](const json& params) {
        std::unique_lock lock(data.mutex);
        const json fields = params.value("fields", json::object());
        const std::int64_t id = 3700 + static_cast<std::int64_t>(data.tasks.size());
        json task = {{"id", std::to_string(id)},
                     {"title", fields.value("TITLE", "")},
                     {"deadline", fields.value("DEADLINE", "")},
                     {"status", "2"},
                     {"responsibleId", Text(fields.value("RESPONSIBLE_ID", json()))},
                     {"ufCrmTask", fields.value("UF_CRM_TASK", json::array())},
                     {"createdDate", NowOf(data)},
                     {"changedDate", NowOf(data)}};
        data.tasks[id] = task;
        lock.unlock();
        return Fire(data, "ONTASKADD", id, Ok({{"task", task}}));
    });
    portal.On("crm.timeline.comment.get", [&data](const json& params) {
        const std::lock_guard lock(data.mutex);
        const auto found = data.comments.find(IdOf(params, "id"));
        return found == data.comments.end() ? Fail(400, "", "Not found") : Ok(found->second);
    });
    portal.On("crm.timeline.comment.list", [&data](const json& params) {
        const std::lock_guard lock(data.mutex);
        const std::string owner = FilterText(params, "ENTITY_ID");
        std::vector<json> rows;
        for (const auto& [id, comment] : data.comments) {
            if ((owner.empty() || comment.value("ENTITY_ID", "") == owner) &&
                PastAfter(comment, params)) {
                rows.push_back(comment);
            }
        }
        return Page(rows, params);
    });
    portal.On("crm.timeline.comment.add", [&data](const json& params) {
        std::unique_lock lock(data.mutex);
        const json fields = params.value("fields", json::object());
        const std::int64_t id = 900 + static_cast<std::int64_t>(data.comments.size());
        data.comments[id] = {{"ID", std::to_string(id)},
                             {"ENTITY_ID", std::to_string(IdOf(fields, "ENTITY_ID"))},
                             {"ENTITY_TYPE", fields.value("ENTITY_TYPE", "")},
                             {"CREATED", NowOf(data)},
                             {"COMMENT", fields.value("COMMENT", "")},
                             {"AUTHOR_ID", "1"}};
        lock.unlock();
        return Fire(data, "ONCRMTIMELINECOMMENTADD", id, Ok(id));
    });
    portal.On("crm.stagehistory.list", [&data](const json& params) {
        const std::lock_guard lock(data.mutex);
        const std::string after = FilterText(params, ">ID");
        const std::int64_t above = after.empty() ? 0 : std::atoll(after.c_str());
        std::vector<json> rows;
        for (const json& item : data.stage_history) {
            if (item.value("ID", 0) > above) {
                rows.push_back(item);
            }
        }
        Reply page = Page(rows, params);
        page.body["result"] = {{"items", page.body["result"]}};
        return page;
    });
}

}  // namespace fg::adapters::bitrix24::testing
