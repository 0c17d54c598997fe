#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "adapters/bitrix24/sim/index.hpp"
#include "adapters/bitrix24/sim/listing.hpp"
#include "adapters/bitrix24/sim/params.hpp"
#include "adapters/bitrix24/sim/render.hpp"
#include "adapters/bitrix24/sim/simulator_impl.hpp"

// crm.activity.* and crm.activity.todo.add, tasks.task.*, crm.timeline.comment.*,
// im.notify.*.

namespace fg::adapters::bitrix24::sim {

using nlohmann::json;

namespace {

json WorkRows(std::vector<json> rows) {
    json out = json::array();
    for (json& row : rows) {
        out.push_back(std::move(row));
    }
    return out;
}

// A time as the methods take it: ISO 8601 with an offset, or without one on the portal's zone.
std::optional<Timestamp> TimeParam(const json* value) {
    if (value == nullptr) {
        return std::nullopt;
    }
    const std::string text = Text(*value);
    if (auto t = ParseIso8601(text)) {
        return t;
    }
    if (text.size() == 19 && text[10] == 'T') {
        return ParseIso8601(text + "+03:00");
    }
    if (text.size() == 10) {
        return ParseFilterTime(text);
    }
    return std::nullopt;
}

Reply Done(json result) {
    Reply reply;
    reply.result = std::move(result);
    return reply;
}

Reply ModelError(const std::string& error) {
    return error == "Not found" ? Reply::NotFound() : Reply::Invalid(error);
}

// ---- crm.activity ----

Reply ActivityList(Simulator::Impl& s, const json& params, const Caller&) {
    const json filter = ObjectOr(Find(params, "filter"));
    json order = ObjectOr(Find(params, "order"));
    if (order.empty()) {
        order = {{"START_TIME", "ASC"}};
    }
    s.model.index.CatchUp(s.model);
    const ListPlan plan = s.model.fast_lists
                              ? PlanList(filter, order, "ID", "OWNER_ID", IndexValues::kIds)
                              : ListPlan{};
    const auto render = [&s](std::int64_t id) -> std::optional<json> {
        const SimActivity& activity = s.model.activities.at(id);
        return activity.deleted ? std::nullopt : std::optional<json>{RenderActivity(activity)};
    };
    Page page =
        CollectPage(plan,
                    plan.index_values ? AmongIds(s.model.index.activities.Ids(*plan.index_values))
                                      : AllIds(s.model.activities),
                    render, filter, order, Find(params, "start"), "ID");
    const json* select = Find(params, "select");
    for (json& row : page.rows) {
        row = Select(row, select != nullptr ? *select : json::array());
    }
    Reply reply = Done(WorkRows(std::move(page.rows)));
    reply.total = page.total;
    reply.next = page.next;
    return reply;
}

Reply ActivityGet(Simulator::Impl& s, const json& params, const Caller&) {
    const auto id = Int(Find(params, "id"));
    if (!id || *id <= 0) {
        return Reply::Invalid("ID is not defined or invalid.");
    }
    const auto it = s.model.activities.find(*id);
    if (it == s.model.activities.end() || it->second.deleted) {
        return Reply::NotFound();
    }
    return Done(RenderActivity(it->second));
}

Reply ActivityAdd(Simulator::Impl& s, const json& params, const Caller& caller) {
    const json fields = ObjectOr(Find(params, "fields"));
    const auto owner_id = Int(Find(fields, "OWNER_ID"));
    const auto owner_type = Int(Find(fields, "OWNER_TYPE_ID"));
    if (!owner_id || !owner_type) {
        return Reply::Invalid("OWNER_ID and OWNER_TYPE_ID are not defined or invalid.");
    }
    if (!Int(Find(fields, "TYPE_ID"))) {
        return Reply::Invalid("TYPE_ID is not defined or invalid.");
    }
    const json* subject = Find(fields, "SUBJECT");
    if (subject == nullptr || Text(*subject).empty()) {
        return Reply::Invalid("SUBJECT is not defined.");
    }
    const json* deadline_value = Find(fields, "DEADLINE");
    if (deadline_value == nullptr) {
        deadline_value = Find(fields, "END_TIME");
    }
    const auto deadline = TimeParam(deadline_value);
    if (deadline_value != nullptr && !deadline) {
        return Reply::Invalid(fmt::format("Invalid DEADLINE \"{}\"", Text(*deadline_value)));
    }
    SimActivity draft{.owner_id = *owner_id,
                      .owner_type_id = static_cast<int>(*owner_type),
                      .subject = Text(*subject),
                      .deadline = deadline.value_or(s.clock->Now() + Duration{86400}),
                      .completed = Flag(Find(fields, "COMPLETED")).value_or(false),
                      .responsible = Int(Find(fields, "RESPONSIBLE_ID")).value_or(caller.user),
                      .author = caller.user};
    if (const json* description = Find(fields, "DESCRIPTION")) {
        draft.description = Text(*description);
    }
    std::int64_t id = 0;
    if (std::string error = s.model.AddActivity(draft, s.clock->Now(), &id); !error.empty()) {
        return Reply::Invalid(error);
    }
    return Done(id);
}

Reply ActivityUpdate(Simulator::Impl& s, const json& params, const Caller&) {
    const auto id = Int(Find(params, "id"));
    if (!id || *id <= 0) {
        return Reply::Invalid("ID is not defined or invalid.");
    }
    const json fields = ObjectOr(Find(params, "fields"));
    std::optional<bool> completed;
    if (const json* value = Find(fields, "COMPLETED")) {
        completed = Flag(value);
        if (!completed) {
            return Reply::Invalid(fmt::format("Invalid COMPLETED \"{}\"", Text(*value)));
        }
    }
    std::optional<Timestamp> deadline;
    if (const json* value = Find(fields, "DEADLINE")) {
        deadline = TimeParam(value);
        if (!deadline) {
            return Reply::Invalid(fmt::format("Invalid DEADLINE \"{}\"", Text(*value)));
        }
    }
    std::optional<std::string> subject;
    if (const json* value = Find(fields, "SUBJECT")) {
        subject = Text(*value);
    }
    if (std::string error =
            s.model.UpdateActivity(*id, completed, deadline, subject, s.clock->Now());
        !error.empty()) {
        return ModelError(error);
    }
    return Done(true);
}

Reply ActivityDelete(Simulator::Impl& s, const json& params, const Caller&) {
    const auto id = Int(Find(params, "id"));
    if (!id || !s.model.DeleteActivity(*id, s.clock->Now()).empty()) {
        return Reply::NotFound();
    }
    return Done(true);
}

Reply MissingArg(const char* name) {
    return Reply::Fail(400, "INVALID_ARG_VALUE",
                       fmt::format("Could not find value for parameter {{{}}}", name));
}

Reply TodoAdd(Simulator::Impl& s, const json& params, const Caller& caller) {
    const auto owner_type = Int(Find(params, "ownerTypeId"));
    if (!owner_type) {
        return MissingArg("ownerTypeId");
    }
    const auto owner_id = Int(Find(params, "ownerId"));
    if (!owner_id) {
        return MissingArg("ownerId");
    }
    const json* deadline_value = Find(params, "deadline");
    if (deadline_value == nullptr) {
        return MissingArg("deadline");
    }
    const auto deadline = TimeParam(deadline_value);
    if (!deadline) {
        return Reply::Fail(400, "INVALID_ARG_VALUE", "Invalid value for parameter {deadline}");
    }
    SimActivity draft{.owner_id = *owner_id,
                      .owner_type_id = static_cast<int>(*owner_type),
                      .deadline = *deadline,
                      .responsible = Int(Find(params, "responsibleId")).value_or(caller.user),
                      .author = caller.user};
    if (const json* title = Find(params, "title")) {
        draft.subject = Text(*title);
    }
    if (draft.subject.empty()) {
        draft.subject = "Дело";
    }
    if (const json* description = Find(params, "description")) {
        draft.description = Text(*description);
    }
    std::int64_t id = 0;
    if (std::string error = s.model.AddActivity(draft, s.clock->Now(), &id); !error.empty()) {
        return Reply::Fail(400, "OWNER_NOT_FOUND", error);
    }
    return Done({{"id", id}});
}

// ---- tasks.task ----

std::string TaskKey(const std::string& key) { return key == "ID" ? "id" : CamelCase(key); }

json TaskSelected(const SimTask& task, const json* select) {
    json row = RenderTask(task);
    if (select == nullptr || !select->is_array() || select->empty()) {
        row.erase("ufCrmTask");  // returned only when selected
        return row;
    }
    json wanted = *select;
    for (json& name : wanted) {
        name = Text(name);
    }
    json out = Select(row, wanted, &TaskKey);
    out["id"] = row["id"];
    return out;
}

Reply TaskNotFound() {
    return Reply::Fail(400, "ERROR_CORE",
                       "TASKS_ERROR_EXCEPTION_#256; Task not found or not accessible; "
                       "256/TE/ITEM_NOT_FOUND_OR_NOT_ACCESSIBLE");
}

const SimTask* LiveTask(const Simulator::Impl& s, const json& params) {
    const auto id = Int(Find(params, "taskId"));
    if (!id) {
        return nullptr;
    }
    const auto it = s.model.tasks.find(*id);
    return it == s.model.tasks.end() || it->second.deleted ? nullptr : &it->second;
}

Reply TaskList(Simulator::Impl& s, const json& params, const Caller&) {
    json filter = ObjectOr(Find(params, "filter"));
    // STATUS -1 is the "overdue" meta-status: open with the deadline passed.
    bool overdue_only = false;
    if (const json* status = Find(filter, "STATUS"); status != nullptr && Text(*status) == "-1") {
        overdue_only = true;
        filter.erase("STATUS");
    }
    const Timestamp now = s.clock->Now();
    const json order = ObjectOr(Find(params, "order"));
    s.model.index.CatchUp(s.model);
    const ListPlan plan = s.model.fast_lists ? PlanList(filter, order, "id", "ufCrmTask",
                                                        IndexValues::kText, &TaskKey)
                                             : ListPlan{};
    const auto render = [&s, overdue_only, now](std::int64_t id) -> std::optional<json> {
        const SimTask& task = s.model.tasks.at(id);
        if (task.deleted ||
            (overdue_only && (task.status == 5 || !task.deadline || *task.deadline >= now))) {
            return std::nullopt;
        }
        return RenderTask(task);
    };
    Page page =
        CollectPage(plan,
                    plan.index_values ? AmongIds(s.model.index.tasks.Ids(*plan.index_values))
                                      : AllIds(s.model.tasks),
                    render, filter, order, Find(params, "start"), "id", &TaskKey);
    json tasks = json::array();
    for (const json& row : page.rows) {
        tasks.push_back(TaskSelected(s.model.tasks.at(std::stoll(row["id"].get<std::string>())),
                                     Find(params, "select")));
    }
    Reply reply = Done({{"tasks", std::move(tasks)}});
    reply.total = page.total;
    reply.next = page.next;
    return reply;
}

Reply TaskGet(Simulator::Impl& s, const json& params, const Caller&) {
    const SimTask* task = LiveTask(s, params);
    if (task == nullptr) {
        return TaskNotFound();
    }
    return Done({{"task", TaskSelected(*task, Find(params, "select"))}});
}

Reply TaskAdd(Simulator::Impl& s, const json& params, const Caller& caller) {
    const json fields = ObjectOr(Find(params, "fields"));
    SimTask draft{.responsible = Int(Find(fields, "RESPONSIBLE_ID")).value_or(0),
                  .created_by = Int(Find(fields, "CREATED_BY")).value_or(caller.user)};
    if (const json* title = Find(fields, "TITLE")) {
        draft.title = Text(*title);
    }
    if (const json* description = Find(fields, "DESCRIPTION")) {
        draft.description = Text(*description);
    }
    if (const json* deadline = Find(fields, "DEADLINE")) {
        draft.deadline = TimeParam(deadline);
        if (!draft.deadline) {
            return Reply::Fail(400, "ERROR_CORE", "Wrong value for DEADLINE");
        }
    }
    if (const json* crm = Find(fields, "UF_CRM_TASK")) {
        if (crm->is_array()) {
            for (const json& item : *crm) {
                draft.crm.push_back(Text(item));
            }
        } else {
            draft.crm.push_back(Text(*crm));
        }
    }
    std::int64_t id = 0;
    if (std::string error = s.model.AddTask(draft, s.clock->Now(), &id); !error.empty()) {
        return Reply::Fail(400, "ERROR_CORE",
                           fmt::format("Не заполнено обязательное поле {}", error));
    }
    return Done({{"task", RenderTask(s.model.tasks.at(id))}});
}

Reply TaskUpdate(Simulator::Impl& s, const json& params, const Caller&) {
    const SimTask* task = LiveTask(s, params);
    if (task == nullptr) {
        return TaskNotFound();
    }
    const std::int64_t id = task->id;
    const json fields = ObjectOr(Find(params, "fields"));
    std::optional<std::optional<Timestamp>> deadline;
    if (const json* value = Find(fields, "DEADLINE");
        value != nullptr || fields.contains("DEADLINE")) {
        if (value == nullptr || Text(*value).empty()) {
            deadline = std::optional<Timestamp>{};
        } else if (auto parsed = TimeParam(value)) {
            deadline = parsed;
        } else {
            return Reply::Fail(400, "ERROR_CORE", "Wrong value for DEADLINE");
        }
    }
    std::optional<int> status;
    if (const auto value = Int(Find(fields, "STATUS"))) {
        status = static_cast<int>(*value);
    }
    std::optional<std::string> title;
    if (const json* value = Find(fields, "TITLE")) {
        title = Text(*value);
    }
    (void)s.model.UpdateTask(id, status, deadline, title, s.clock->Now());
    return Done({{"task", RenderTask(s.model.tasks.at(id))}});
}

Reply TaskComplete(Simulator::Impl& s, const json& params, const Caller&) {
    const SimTask* task = LiveTask(s, params);
    if (task == nullptr) {
        return TaskNotFound();
    }
    const std::int64_t id = task->id;
    (void)s.model.UpdateTask(id, 5, std::nullopt, std::nullopt, s.clock->Now());
    return Done({{"task", RenderTask(s.model.tasks.at(id))}});
}

Reply TaskDelete(Simulator::Impl& s, const json& params, const Caller&) {
    const SimTask* task = LiveTask(s, params);
    if (task == nullptr) {
        return TaskNotFound();
    }
    (void)s.model.DeleteTask(task->id, s.clock->Now());
    return Done({{"task", true}});
}

// ---- crm.timeline.comment ----

Reply CommentAdd(Simulator::Impl& s, const json& params, const Caller& caller) {
    // Since crm 23.100.0 only lower-case "fields" is read (bitrix24.md §2.8).
    const auto it = params.find("fields");
    if (it == params.end() || !it->is_object()) {
        return Reply::Fail(400, "ERROR_ARGUMENT", "Argument 'fields' is null or empty");
    }
    const json& fields = *it;
    const json* type = Find(fields, "ENTITY_TYPE");
    if (type == nullptr || Text(*type) != "deal") {
        return Reply::Fail(400, "ERROR_ARGUMENT", "ENTITY_TYPE is not supported here (deal)");
    }
    const auto entity = Int(Find(fields, "ENTITY_ID"));
    const json* comment = Find(fields, "COMMENT");
    if (!entity || comment == nullptr || Text(*comment).empty()) {
        return Reply::Fail(400, "ERROR_ARGUMENT", "ENTITY_ID and COMMENT are required");
    }
    const std::int64_t author = Int(Find(fields, "AUTHOR_ID")).value_or(caller.user);
    std::int64_t id = 0;
    if (std::string error =
            s.model.AddComment(*entity, Text(*comment), author, s.clock->Now(), &id);
        !error.empty()) {
        return Reply::Fail(400, "ERROR_ARGUMENT", error);
    }
    return Done(id);
}

Reply CommentList(Simulator::Impl& s, const json& params, const Caller&) {
    const json filter = ObjectOr(Find(params, "filter"));
    if (Find(filter, "ENTITY_ID") == nullptr || Find(filter, "ENTITY_TYPE") == nullptr) {
        return Reply::Fail(400, "ERROR_ARGUMENT",
                           "ENTITY_ID and ENTITY_TYPE are required in the filter");
    }
    const json order = ObjectOr(Find(params, "order"));
    s.model.index.CatchUp(s.model);
    const ListPlan plan = s.model.fast_lists
                              ? PlanList(filter, order, "ID", "ENTITY_ID", IndexValues::kIds)
                              : ListPlan{};
    const auto render = [&s](std::int64_t id) -> std::optional<json> {
        return RenderComment(s.model.comments.at(id));
    };
    Page page =
        CollectPage(plan,
                    plan.index_values ? AmongIds(s.model.index.comments.Ids(*plan.index_values))
                                      : AllIds(s.model.comments),
                    render, filter, order, Find(params, "start"), "ID");
    Reply reply = Done(WorkRows(std::move(page.rows)));
    reply.total = page.total;
    reply.next = page.next;
    return reply;
}

Reply CommentGet(Simulator::Impl& s, const json& params, const Caller&) {
    const auto id = Int(Find(params, "id"));
    const auto it = id ? s.model.comments.find(*id) : s.model.comments.end();
    if (it == s.model.comments.end()) {
        return Reply::NotFound();
    }
    return Done(RenderComment(it->second));
}

// ---- im.notify ----

Reply Notify(Simulator::Impl& s, const json& params, const Caller& caller, bool personal) {
    const auto user = Int(Find(params, "USER_ID"));
    if (!user || *user <= 0) {
        return Reply::Fail(400, "USER_ID_EMPTY", "Recipient ID not specified");
    }
    const json* message = Find(params, "MESSAGE");
    if (message == nullptr || Text(*message).empty()) {
        return Reply::Fail(400, "MESSAGE_EMPTY", "Message text not specified");
    }
    if (Text(*message).size() > 60'000) {
        return Reply::Fail(400, "ATTACH_OVERSIZE", "Message is too long");
    }
    if (s.model.User(*user) == nullptr) {
        return Reply::Fail(400, "USER_ID_EMPTY", "Recipient ID not specified");
    }
    SimNotification notification{.id = s.model.next_notification++,
                                 .user_id = *user,
                                 .message = Text(*message),
                                 .personal = personal,
                                 .at = s.clock->Now()};
    // Through a webhook TAG needs CLIENT_ID (bitrix24.md §2.9); without it the tag is dropped.
    if (const json* tag = Find(params, "TAG");
        tag != nullptr && (caller.app || Find(params, "CLIENT_ID") != nullptr)) {
        notification.tag = Text(*tag);
        std::erase_if(s.model.notifications, [&](const SimNotification& old) {
            return old.user_id == *user && old.tag == notification.tag;
        });
    }
    s.model.notifications.push_back(notification);
    return Done(notification.id);
}

}  // namespace

void Simulator::Impl::RegisterWorkMethods() {
    methods["crm.activity.list"] = &ActivityList;
    methods["crm.activity.get"] = &ActivityGet;
    methods["crm.activity.add"] = &ActivityAdd;
    methods["crm.activity.update"] = &ActivityUpdate;
    methods["crm.activity.delete"] = &ActivityDelete;
    methods["crm.activity.todo.add"] = &TodoAdd;
    methods["tasks.task.list"] = &TaskList;
    methods["tasks.task.get"] = &TaskGet;
    methods["tasks.task.add"] = &TaskAdd;
    methods["tasks.task.update"] = &TaskUpdate;
    methods["tasks.task.complete"] = &TaskComplete;
    methods["tasks.task.delete"] = &TaskDelete;
    methods["crm.timeline.comment.add"] = &CommentAdd;
    methods["crm.timeline.comment.list"] = &CommentList;
    methods["crm.timeline.comment.get"] = &CommentGet;
    methods["im.notify.system.add"] = [](Impl& s, const json& p, const Caller& c) {
        return Notify(s, p, c, false);
    };
    methods["im.notify.personal.add"] = [](Impl& s, const json& p, const Caller& c) {
        return Notify(s, p, c, true);
    };
}

}  // namespace fg::adapters::bitrix24::sim
