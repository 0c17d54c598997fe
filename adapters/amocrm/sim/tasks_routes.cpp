#include <algorithm>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "adapters/amocrm/sim/filters.hpp"
#include "adapters/amocrm/sim/render.hpp"
#include "adapters/amocrm/sim/respond.hpp"
#include "adapters/amocrm/sim/simulator_impl.hpp"
#include "adapters/amocrm/sim/validation.hpp"

namespace fg::adapters::amocrm::sim {

// The tasks routes: GET /api/v4/tasks, GET /api/v4/tasks/{id}, POST /api/v4/tasks and
// PATCH /api/v4/tasks[/{id}].

using nlohmann::json;

namespace {

constexpr std::size_t kMaxTasksPerPost = 50;

}  // namespace

void Simulator::Impl::ListTasks(const httplib::Request& req, httplib::Response& res) {
    const auto paging = ReadPaging(req, res, kMaxPage, 50);
    if (!paging) {
        return;
    }
    const IntFilter ids = IntList(req, "filter[id]");
    const IntFilter entity_ids = IntList(req, "filter[entity_id]");
    const IntFilter responsible = IntList(req, "filter[responsible_user_id]");
    const IntFilter types = IntList(req, "filter[task_type]");
    const TimeRange updated = Range(req, "filter[updated_at]");
    if (ids.bad || entity_ids.bad || responsible.bad || types.bad || updated.bad) {
        ValidationProblem(res, {{"0", {InvalidType("filter", "int")}}});
        return;
    }
    const std::vector<std::string> entity_types = ParamList(req, "filter[entity_type]");
    if (!entity_types.empty() &&
        std::find(entity_types.begin(), entity_types.end(), "leads") == entity_types.end()) {
        res.status = 204;  // the simulator keeps tasks of leads only
        return;
    }
    std::optional<bool> completed;
    if (req.has_param("filter[is_completed]")) {
        const std::string value = req.get_param_value("filter[is_completed]");
        completed = value == "1" || value == "true";
    }
    const Order order = ParseOrder(req, {"created_at", "complete_till", "updated_at", "id"});

    std::lock_guard lock(mutex);
    const std::vector<SimTask>& tasks = model.Tasks();
    auto accepts = [&](const SimTask& task) {
        return !task.is_deleted && ids.Accepts(task.id) && entity_ids.Accepts(task.lead_id) &&
               responsible.Accepts(task.responsible_user_id) && types.Accepts(task.task_type_id) &&
               updated.Accepts(task.updated_at) && (!completed || task.is_completed == *completed);
    };
    std::vector<std::uint32_t> matches;
    if (entity_ids.present) {
        for (const std::int64_t lead_id : entity_ids.values) {
            for (const std::int64_t task_id : model.LeadTaskIds(lead_id)) {
                if (accepts(*model.Task(task_id))) {
                    matches.push_back(static_cast<std::uint32_t>(task_id - Model::kTaskBase - 1));
                }
            }
        }
        std::sort(matches.begin(), matches.end());
    } else {
        for (std::size_t i = 0; i < tasks.size(); ++i) {
            if (accepts(tasks[i])) {
                matches.push_back(static_cast<std::uint32_t>(i));
            }
        }
    }
    if (!order.field.empty() && order.field != "id") {
        std::stable_sort(matches.begin(), matches.end(), [&](std::uint32_t a, std::uint32_t b) {
            auto key = [&](const SimTask& t) {
                return order.field == "created_at"   ? t.created_at
                       : order.field == "updated_at" ? t.updated_at
                                                     : t.complete_till;
            };
            return order.descending ? key(tasks[b]) < key(tasks[a]) : key(tasks[a]) < key(tasks[b]);
        });
    } else if (order.descending) {
        std::reverse(matches.begin(), matches.end());
    }
    json items = json::array();
    for (std::size_t i = paging->Offset();
         i < matches.size() && items.size() < static_cast<std::size_t>(paging->limit); ++i) {
        items.push_back(TaskJson(model, tasks[matches[i]]));
    }
    RespondPage(model.base_url, req, res, *paging, "tasks", std::move(items));
}

void Simulator::Impl::GetTaskById(const httplib::Request& req, httplib::Response& res) {
    const auto id = ParseInt(req.matches[1].str());
    std::lock_guard lock(mutex);
    const SimTask* task = id ? model.Task(*id) : nullptr;
    if (task == nullptr || task->is_deleted) {
        res.status = 204;
        return;
    }
    Hal(res, TaskJson(model, *task));
}

void Simulator::Impl::CreateTasks(const httplib::Request& req, httplib::Response& res) {
    const auto body = ReadBatch(req, res, kMaxTasksPerPost);
    if (!body) {
        return;
    }
    std::lock_guard lock(mutex);
    std::vector<TaskInput> inputs;
    std::vector<std::pair<std::string, FieldErrors>> problems;
    for (std::size_t i = 0; i < body->size(); ++i) {
        FieldErrors errors;
        TaskInput input = ParseTaskInput(model, (*body)[i], true, errors);
        input.request_id = RequestIdOr(input.request_id, i);
        if (!errors.empty()) {
            problems.emplace_back(input.request_id, std::move(errors));
        }
        inputs.push_back(std::move(input));
    }
    if (!problems.empty()) {
        ValidationProblem(res, problems);
        return;
    }
    const Timestamp now = clock->Now();
    std::vector<HookItem> hooks;
    json created = json::array();
    for (const TaskInput& input : inputs) {
        const std::int64_t actor = Actor(input.created_by);
        const std::int64_t id =
            model.AddTask(SimTask{.lead_id = input.lead_id,
                                  .responsible_user_id = input.responsible_user_id.value_or(
                                      actor == 0 ? model.AdminUserId() : actor),
                                  .created_by = actor,
                                  .complete_till = *input.complete_till,
                                  .duration = input.duration,
                                  .task_type_id = input.task_type_id.value_or(1),
                                  .text = input.text,
                                  .is_completed = input.is_completed.value_or(false),
                                  .result_text = input.result_text.value_or("")},
                          now, hooks);
        created.push_back(
            {{"id", id},
             {"request_id", input.request_id},
             {"_links", Link(fmt::format("{}/api/v4/tasks/{}", model.base_url, id))}});
    }
    Dispatch(hooks);
    Hal(res, {{"_links", Link(model.base_url + "/api/v4/tasks")},
              {"_embedded", {{"tasks", std::move(created)}}}});
}

void Simulator::Impl::PatchTasks(const httplib::Request& req, httplib::Response& res,
                                 std::optional<std::int64_t> path_id) {
    json body = json::parse(req.body);
    if (path_id) {
        if (!body.is_object()) {
            ValidationProblem(res, {{"0", {InvalidType("", "object")}}});
            return;
        }
        body["id"] = *path_id;
        body = json::array({body});
    } else if (!body.is_array() || body.empty() || body.size() > kMaxBatch) {
        if (body.is_array() && body.size() > kMaxBatch) {
            Problem(res, 422, "Unprocessable Entity", fmt::format("Limit {} per page", kMaxBatch));
        } else {
            ValidationProblem(res, {{"0", {InvalidType("", "array")}}});
        }
        return;
    }
    std::lock_guard lock(mutex);
    if (path_id) {
        const SimTask* task = model.Task(*path_id);
        if (task == nullptr || task->is_deleted) {
            Problem(res, 404, "Not Found", fmt::format("Task {} not found", *path_id));
            return;
        }
    }
    std::vector<TaskInput> inputs;
    std::vector<std::pair<std::string, FieldErrors>> problems;
    for (std::size_t i = 0; i < body.size(); ++i) {
        FieldErrors errors;
        TaskInput input = ParseTaskInput(model, body[i], false, errors);
        input.request_id = RequestIdOr(input.request_id, i);
        if (!errors.empty()) {
            problems.emplace_back(input.request_id, std::move(errors));
        }
        inputs.push_back(std::move(input));
    }
    if (!problems.empty()) {
        ValidationProblem(res, problems);
        return;
    }
    const Timestamp now = clock->Now();
    std::vector<HookItem> hooks;
    json updated = json::array();
    for (const TaskInput& input : inputs) {
        model.UpdateTask(*input.id,
                         TaskPatch{.text = input.new_text,
                                   .complete_till = input.complete_till,
                                   .is_completed = input.is_completed,
                                   .result_text = input.result_text,
                                   .responsible_user_id = input.responsible_user_id,
                                   .task_type_id = input.task_type_id},
                         Actor(input.created_by), now, hooks);
        updated.push_back(
            {{"id", *input.id},
             {"updated_at", ToEpoch(now)},
             {"request_id", input.request_id},
             {"_links", Link(fmt::format("{}/api/v4/tasks/{}", model.base_url, *input.id))}});
    }
    Dispatch(hooks);
    if (path_id) {
        json single = updated.front();
        single.erase("request_id");
        Hal(res, single);
        return;
    }
    Hal(res, {{"_links", Link(model.base_url + "/api/v4/tasks")},
              {"_embedded", {{"tasks", std::move(updated)}}}});
}

}  // namespace fg::adapters::amocrm::sim
