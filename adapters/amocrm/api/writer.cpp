#include "adapters/amocrm/api/writer.hpp"

#include <algorithm>
#include <map>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "adapters/amocrm/api/log.hpp"
#include "adapters/amocrm/api/mapping.hpp"
#include "adapters/amocrm/api/text.hpp"
#include "src/http/client.hpp"

namespace fg::adapters::amocrm {
namespace {

using outbox::DeliveryResult;
using outbox::DeliveryStatus;

// Our write may carry a CRM time a little before the violation's opened_at when the clocks
// disagree; a note or task with our exact text older than this margin is not ours.
constexpr Duration kClockSkew = std::chrono::minutes{10};
constexpr int kCheckPages = 40;  // 10,000 notes or tasks of one lead at most

DeliveryResult Rejected(std::string error) {
    return {.status = DeliveryStatus::kRejected, .error = std::move(error)};
}

DeliveryResult Retry(std::string error, std::optional<Duration> retry_after = std::nullopt) {
    return {
        .status = DeliveryStatus::kRetry, .retry_after = retry_after, .error = std::move(error)};
}

DeliveryResult Delivered() { return {.status = DeliveryStatus::kDelivered}; }

struct ParsedAction {
    std::int64_t lead = 0;
    std::string text{};
    std::optional<Timestamp> window_start{};  // nothing of ours can predate this
};

std::string_view KindOf(const outbox::Action& action) {
    return domain::ActionKindName(action.kind());
}

Result<ParsedAction> ParseAction(const outbox::Action& action) {
    ParsedAction parsed;
    const std::optional<std::int64_t> lead = IntOf(nlohmann::json(action.body.deal));
    if (!lead || *lead <= 0) {
        return MakeError(ErrorCode::kInvalidInput, "{}: the deal is not an amoCRM lead id",
                         KindOf(action));
    }
    parsed.lead = *lead;
    parsed.text = action.body.text;
    if (action.body.violation.id != 0) {
        parsed.window_start = action.body.violation.opened_at - kClockSkew;
    }
    return parsed;
}

// One write's outcome, classified as every receiver's is (http::ClassifyStatus). Transport
// failures are ambiguous (the request may have landed) unless nothing was sent: kRetry, and the
// next attempt checks before writing unless `not_sent`.
DeliveryResult Classify(Client& client, const ApiRequest& request,
                        const Result<ApiResponse>& response, bool not_sent) {
    if (!response) {
        if (response.error().code == ErrorCode::kInvalidInput) {
            return Rejected(response.error().message);  // the client cannot work at all
        }
        DeliveryResult retry = Retry(response.error().message);
        retry.not_sent = not_sent;
        return retry;
    }
    const http::Classification verdict = http::ClassifyStatus(response->status);
    if (verdict.verdict == http::Verdict::kDelivered) {
        return Delivered();
    }
    Error error = client.StatusError(request, *response);
    if (verdict.verdict == http::Verdict::kRetry) {
        DeliveryResult retry = Retry(std::move(error.message), response->retry_after);
        // amoCRM refuses over its rate limit before doing anything: nothing to check next time.
        retry.not_sent = not_sent;
        return retry;
    }
    return Rejected(std::move(error.message));
}

bool CreatedInWindow(const nlohmann::json& item, const std::optional<Timestamp>& window_start) {
    if (!window_start) {
        return true;
    }
    const std::optional<std::int64_t> created = IntMember(item, "created_at");
    return !created || FromEpoch(*created) >= *window_start;
}

Result<bool> NoteExists(Client& client, const ParsedAction& action) {
    auto notes = client.GetAll(fmt::format("/api/v4/leads/{}/notes?limit=250", action.lead),
                               "notes", kCheckPages);
    if (!notes) {
        return notes.error();
    }
    for (const nlohmann::json& note : *notes) {
        const auto params = note.find("params");
        if (StringMember(note, "note_type") == "common" && params != note.end() &&
            StringMember(*params, "text") == action.text &&
            CreatedInWindow(note, action.window_start)) {
            return true;
        }
    }
    return false;
}

Result<bool> TaskExists(Client& client, const ParsedAction& action, const std::string& text) {
    auto tasks = client.GetAll(
        fmt::format("/api/v4/tasks?filter%5Bentity_type%5D=leads&filter%5Bentity_id%5D={}"
                    "&limit=250",
                    action.lead),
        "tasks", kCheckPages);
    if (!tasks) {
        return tasks.error();
    }
    for (const nlohmann::json& task : *tasks) {
        if (IntMember(task, "entity_id") == action.lead && StringMember(task, "text") == text &&
            CreatedInWindow(task, action.window_start)) {
            return true;
        }
    }
    return false;
}

// What to report when the pre-write check itself failed: never write blind.
DeliveryResult CheckFailed(const outbox::Action& action, const Error& error) {
    if (error.code == ErrorCode::kNotFound) {
        return Rejected(fmt::format("the lead no longer exists: {}", error.message));
    }
    return Retry(fmt::format("could not check whether attempt {} landed: {}", action.attempt - 1,
                             error.message));
}

struct TaskItem {
    std::size_t index = 0;  // into the caller's actions
    ParsedAction parsed{};
    std::string text{};
    std::int64_t complete_till = 0;
    std::optional<std::int64_t> responsible{};
};

Result<TaskItem> ParseTask(const outbox::Action& action, std::size_t index) {
    auto parsed = ParseAction(action);
    if (!parsed) {
        return parsed.error();
    }
    const outbox::TaskBody* task = action.body.task();
    if (task == nullptr) {
        return MakeError(ErrorCode::kInvalidInput, "{} is not a task", KindOf(action));
    }
    TaskItem item{.index = index};
    item.text = parsed->text;
    if (item.text.empty()) {
        return MakeError(ErrorCode::kInvalidInput, "the task has no text");
    }
    item.complete_till = ToEpoch(task->due);
    if (!task->responsible.empty()) {
        // Not a user id: amoCRM assigns the token's user.
        item.responsible = IntOf(nlohmann::json(task->responsible));
    }
    item.parsed = std::move(*parsed);
    return item;
}

// The per-item reasons of a 400 `validation-errors` answer, by request_id.
std::map<std::string, std::string> ValidationErrors(Client& client, const std::string& body) {
    std::map<std::string, std::string> reasons;
    const nlohmann::json parsed = nlohmann::json::parse(body, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) {
        return reasons;
    }
    const auto errors = parsed.find("validation-errors");
    if (errors == parsed.end() || !errors->is_array()) {
        return reasons;
    }
    for (const nlohmann::json& entry : *errors) {
        if (!entry.is_object()) {
            continue;
        }
        std::string id = StringMember(entry, "request_id");
        if (id.empty()) {
            if (const auto number = IntMember(entry, "request_id")) {
                id = std::to_string(*number);
            }
        }
        const auto details = entry.find("errors");
        reasons[id] =
            client.Redact(Snippet(details != entry.end() ? details->dump() : entry.dump(), 300));
    }
    return reasons;
}

}  // namespace

Writer::Writer(Client& client, std::shared_ptr<CatalogCache> catalog,
               std::function<Result<void>()> refresh_catalog)
    : client_(client), catalog_(std::move(catalog)), refresh_catalog_(std::move(refresh_catalog)) {}

std::size_t Writer::MaxBatch(outbox::ActionKind kind) const {
    return kind == outbox::ActionKind::kTask ? kTaskBatch : 1;
}

outbox::DeliveryResult Writer::Deliver(const outbox::Action& action) {
    switch (action.kind()) {
        case outbox::ActionKind::kNote:
            return DeliverNote(action);
        case outbox::ActionKind::kTask:
            return DeliverTasks({action}).front();
        case outbox::ActionKind::kRevert:
            return DeliverRevert(action);
        case outbox::ActionKind::kNotify:
        case outbox::ActionKind::kEscalate:
        case outbox::ActionKind::kSummary:
            break;  // chat messages go to a notifier's channel; only older builds sent them here
    }
    return Rejected(
        fmt::format("amoCRM takes no {} actions: chat messages go to a chat", KindOf(action)));
}

std::vector<outbox::DeliveryResult> Writer::DeliverBatch(
    const std::vector<outbox::Action>& actions) {
    if (!actions.empty() &&
        std::all_of(actions.begin(), actions.end(), [](const outbox::Action& action) {
            return action.kind() == outbox::ActionKind::kTask;
        })) {
        return DeliverTasks(actions);
    }
    std::vector<DeliveryResult> results;
    results.reserve(actions.size());
    for (const outbox::Action& action : actions) {
        results.push_back(Deliver(action));
    }
    return results;
}

outbox::DeliveryResult Writer::DeliverNote(const outbox::Action& action) {
    auto parsed = ParseAction(action);
    if (!parsed) {
        return Rejected(parsed.error().message);
    }
    if (parsed->text.empty()) {
        return Rejected("the note has no text");
    }
    if (action.attempt > 1 && !action.previous_not_sent) {
        auto exists = NoteExists(client_, *parsed);
        if (!exists) {
            return CheckFailed(action, exists.error());
        }
        if (*exists) {
            Log().info(
                "Note found in amoCRM after an ambiguous attempt; not posting again. "
                "tenant={} lead={} attempt={}",
                LogSafe(action.tenant()), parsed->lead, action.attempt);
            return Delivered();
        }
    }
    const nlohmann::json body = nlohmann::json::array({{{"entity_id", parsed->lead},
                                                        {"note_type", "common"},
                                                        {"params", {{"text", parsed->text}}}}});
    const ApiRequest request{
        .method = "POST", .target = "/api/v4/leads/notes", .body = body.dump(), .retry = false};
    bool not_sent = false;
    const Result<ApiResponse> response = client_.Execute(request, not_sent);
    return Classify(client_, request, response, not_sent);
}

outbox::DeliveryResult Writer::DeliverRevert(const outbox::Action& action) {
    auto parsed = ParseAction(action);
    if (!parsed) {
        return Rejected(parsed.error().message);
    }
    const outbox::RevertBody* revert = action.body.revert();
    if (revert == nullptr) {
        return Rejected(fmt::format("{} is not a revert", KindOf(action)));
    }
    const std::optional<std::int64_t> pipeline = IntOf(nlohmann::json(revert->pipeline));
    const std::string& to = revert->to;
    if (!pipeline || to.empty()) {
        return Rejected("revert: the pipeline must be an amoCRM pipeline id and to a stage");
    }
    // Plain ids from here on: GCC 12 at -O3 reports false maybe-uninitialized on these optionals.
    const std::int64_t pipeline_id = *pipeline;
    std::int64_t status = 0;
    bool known = false;
    if (const auto found = catalog_->Get()->StatusIdByName(pipeline_id, to)) {
        status = *found;
        known = true;
    }
    if (!known && refresh_catalog_) {
        // A stage added or renamed since the catalog was read: one fresh look.
        if (auto refreshed = refresh_catalog_(); !refreshed) {
            return Retry(fmt::format("catalog refresh failed: {}", refreshed.error().message));
        }
        if (const auto found = catalog_->Get()->StatusIdByName(pipeline_id, to)) {
            status = *found;
            known = true;
        }
    }
    if (!known) {
        return Rejected(
            fmt::format("stage '{}' is not in amoCRM pipeline {}", Snippet(to, 80), pipeline_id));
    }
    if (action.attempt > 1 && !action.previous_not_sent) {
        auto lead = client_.GetJson(fmt::format("/api/v4/leads/{}", parsed->lead));
        if (!lead) {
            return CheckFailed(action, lead.error());
        }
        if (lead->is_null()) {
            return Rejected("the lead no longer exists (204)");
        }
        if (IntMember(*lead, "status_id") == status &&
            IntMember(*lead, "pipeline_id") == pipeline_id) {
            Log().info(
                "Lead already at the target stage after an ambiguous attempt; not moving "
                "it again. tenant={} lead={} attempt={}",
                LogSafe(action.tenant()), parsed->lead, action.attempt);
            return Delivered();
        }
    }
    const nlohmann::json body = nlohmann::json::array(
        {{{"id", parsed->lead}, {"pipeline_id", pipeline_id}, {"status_id", status}}});
    const ApiRequest request{
        .method = "PATCH", .target = "/api/v4/leads", .body = body.dump(), .retry = false};
    bool not_sent = false;
    const Result<ApiResponse> response = client_.Execute(request, not_sent);
    return Classify(client_, request, response, not_sent);
}

std::vector<outbox::DeliveryResult> Writer::DeliverTasks(
    const std::vector<outbox::Action>& actions) {
    std::vector<DeliveryResult> results(actions.size());
    std::vector<TaskItem> pending;
    for (std::size_t i = 0; i < actions.size(); ++i) {
        auto item = ParseTask(actions[i], i);
        if (!item) {
            results[i] = Rejected(item.error().message);
            continue;
        }
        if (actions[i].attempt > 1 && !actions[i].previous_not_sent) {
            auto exists = TaskExists(client_, item->parsed, item->text);
            if (!exists) {
                results[i] = CheckFailed(actions[i], exists.error());
                continue;
            }
            if (*exists) {
                Log().info(
                    "Task found in amoCRM after an ambiguous attempt; not posting again. "
                    "tenant={} lead={} attempt={}",
                    LogSafe(actions[i].tenant()), item->parsed.lead, actions[i].attempt);
                results[i] = Delivered();
                continue;
            }
        }
        pending.push_back(std::move(*item));
    }

    for (std::size_t start = 0; start < pending.size(); start += kTaskBatch) {
        const std::size_t end = std::min(pending.size(), start + kTaskBatch);
        nlohmann::json body = nlohmann::json::array();
        for (std::size_t k = start; k < end; ++k) {
            const TaskItem& item = pending[k];
            nlohmann::json task = {
                {"text", item.text},      {"complete_till", item.complete_till},
                {"entity_type", "leads"}, {"entity_id", item.parsed.lead},
                {"task_type_id", 1},      {"request_id", std::to_string(item.index)}};
            if (item.responsible && *item.responsible > 0) {
                task["responsible_user_id"] = *item.responsible;
            }
            body.push_back(std::move(task));
        }
        const ApiRequest request{
            .method = "POST", .target = "/api/v4/tasks", .body = body.dump(), .retry = false};
        bool not_sent = false;
        const Result<ApiResponse> response = client_.Execute(request, not_sent);
        if (response && response->status >= 200 && response->status < 300) {
            // Map the answer back by request_id (amoCRM echoes it per created task).
            std::map<std::string, bool> confirmed;
            std::size_t created = 0;
            const nlohmann::json parsed = nlohmann::json::parse(response->body, nullptr, false);
            if (!parsed.is_discarded() && parsed.is_object()) {
                const auto embedded = parsed.find("_embedded");
                if (embedded != parsed.end() && embedded->is_object()) {
                    const auto tasks = embedded->find("tasks");
                    if (tasks != embedded->end() && tasks->is_array()) {
                        created = tasks->size();
                        for (const nlohmann::json& task : *tasks) {
                            std::string id = StringMember(task, "request_id");
                            if (id.empty()) {
                                if (const auto number = IntMember(task, "request_id")) {
                                    id = std::to_string(*number);
                                }
                            }
                            if (!id.empty()) {
                                confirmed[id] = true;
                            }
                        }
                    }
                }
            }
            // Without request_ids, a full answer confirms the whole batch.
            const bool all = confirmed.empty() && created == end - start;
            for (std::size_t k = start; k < end; ++k) {
                const std::size_t index = pending[k].index;
                if (all || confirmed.count(std::to_string(index)) != 0) {
                    results[index] = Delivered();
                } else {
                    // Maybe created, maybe not: the next attempt looks before posting again.
                    results[index] =
                        Retry("amoCRM accepted the batch but did not confirm this task");
                }
            }
            continue;
        }
        if (response && response->status == 400) {
            const std::map<std::string, std::string> reasons =
                ValidationErrors(client_, response->body);
            if (!reasons.empty()) {
                // The whole request was refused: the valid tasks go again without the bad ones.
                for (std::size_t k = start; k < end; ++k) {
                    const std::size_t index = pending[k].index;
                    const auto reason = reasons.find(std::to_string(index));
                    results[index] =
                        reason != reasons.end()
                            ? Rejected(fmt::format("amoCRM POST /api/v4/tasks: HTTP 400: {}",
                                                   reason->second))
                            : Retry("not created: another task of the same request was invalid");
                }
                continue;
            }
        }
        const DeliveryResult shared = Classify(client_, request, response, not_sent);
        for (std::size_t k = start; k < end; ++k) {
            results[pending[k].index] = shared;
        }
    }
    return results;
}

}  // namespace fg::adapters::amocrm
