#include "adapters/bitrix24/api/writer.hpp"

#include <fmt/format.h>

#include "adapters/bitrix24/wire/references.hpp"

namespace fg::adapters::bitrix24 {
namespace {

using nlohmann::json;
using outbox::DeliveryResult;
using outbox::DeliveryStatus;

DeliveryResult Delivered() {
    return {
        .status = DeliveryStatus::kDelivered, .retry_after = {}, .error = {}, .not_sent = false};
}

DeliveryResult Rejected(std::string error) {
    return {.status = DeliveryStatus::kRejected,
            .retry_after = {},
            .error = std::move(error),
            .not_sent = false};
}

DeliveryResult FromError(const Error& error, const CallInfo& info) {
    switch (error.code) {
        case ErrorCode::kUnavailable:
        case ErrorCode::kUnauthorized:
            return {.status = DeliveryStatus::kRetry,
                    .retry_after = info.retry_after,
                    .error = error.message,
                    .not_sent = info.not_sent};
        default:
            return Rejected(error.message);
    }
}

DeliveryResult FromItem(const BatchItem& item, const std::string& method) {
    if (!item.failed) {
        return Delivered();
    }
    const std::string error =
        fmt::format("{}: {} {}", method, item.error, item.description.substr(0, 200));
    if (item.LimitExceeded()) {
        return {
            .status = DeliveryStatus::kRetry, .retry_after = {}, .error = error, .not_sent = true};
    }
    if (item.error == "INTERNAL_SERVER_ERROR" || item.error == "expired_token") {
        return {
            .status = DeliveryStatus::kRetry, .retry_after = {}, .error = error, .not_sent = false};
    }
    return Rejected(error);
}

bool Contains(const json& rows, const char* key, const std::string& text) {
    for (const json& row : rows.is_array() ? rows : json::array()) {
        if (FieldText(row, key) == text) {
            return true;
        }
    }
    return false;
}

}  // namespace

Writer::Writer(Client& client, std::shared_ptr<CatalogCache> catalog,
               std::function<Result<void>()> refresh_catalog, WriteTasksAs tasks_as)
    : client_(client),
      catalog_(std::move(catalog)),
      refresh_catalog_(std::move(refresh_catalog)),
      tasks_as_(tasks_as) {}

std::size_t Writer::MaxBatch(outbox::ActionKind kind) const {
    return domain::IsMessage(kind) ? 1 : Client::kMaxBatch;
}

Result<std::pair<std::string, json>> Writer::WriteOf(const outbox::Action& action) {
    const outbox::ActionBody& body = action.body;
    if (!IsId(body.deal)) {
        return MakeError(ErrorCode::kInvalidInput, "deal \"{}\" is not a Bitrix24 deal id",
                         body.deal.substr(0, 40));
    }
    const std::int64_t deal = std::stoll(body.deal);
    switch (body.kind) {
        case outbox::ActionKind::kNote:
            return std::pair{
                std::string("crm.timeline.comment.add"),
                json{{"fields",
                      {{"ENTITY_ID", deal}, {"ENTITY_TYPE", "deal"}, {"COMMENT", body.text}}}}};
        case outbox::ActionKind::kTask: {
            const outbox::TaskBody* task = body.task();
            const std::string responsible = task != nullptr && !task->responsible.empty()
                                                ? task->responsible
                                                : body.responsible;
            const std::string due = task != nullptr ? FormatIso8601(task->due) : "";
            if (tasks_as_ == WriteTasksAs::kTask) {
                json fields = {
                    {"TITLE", body.text}, {"DEADLINE", due}, {"UF_CRM_TASK", {"D_" + body.deal}}};
                if (IsId(responsible)) {
                    fields["RESPONSIBLE_ID"] = std::stoll(responsible);
                }
                return std::pair{std::string("tasks.task.add"), json{{"fields", fields}}};
            }
            json todo = {{"ownerTypeId", 2},
                         {"ownerId", deal},
                         {"deadline", due},
                         {"title", body.text},
                         {"description", body.text}};
            if (IsId(responsible)) {
                todo["responsibleId"] = std::stoll(responsible);
            }
            return std::pair{std::string("crm.activity.todo.add"), todo};
        }
        case outbox::ActionKind::kRevert: {
            const outbox::RevertBody* revert = body.revert();
            if (revert == nullptr) {
                return MakeError(ErrorCode::kInvalidInput, "a revert without its stages");
            }
            const auto status_of = [&]() -> std::string {
                const std::shared_ptr<const Catalog> catalog = catalog_->Get();
                const Category* category = catalog->Find(revert->pipeline);
                const Stage* stage = category != nullptr ? category->ByName(revert->to) : nullptr;
                return stage != nullptr ? stage->status_id : std::string{};
            };
            std::string status = status_of();
            if (status.empty() && refresh_catalog_) {
                (void)refresh_catalog_();
                status = status_of();
            }
            if (status.empty()) {
                return MakeError(ErrorCode::kInvalidInput,
                                 "pipeline {} has no stage \"{}\" in the portal", revert->pipeline,
                                 revert->to);
            }
            return std::pair{std::string("crm.deal.update"),
                             json{{"id", deal},
                                  {"fields", {{"STAGE_ID", status}}},
                                  {"params", {{"REGISTER_SONET_EVENT", "N"}}}}};
        }
        default:
            return MakeError(ErrorCode::kInvalidInput,
                             "{}: chat messages go to a chat channel, not to Bitrix24",
                             domain::ActionKindName(body.kind));
    }
}

bool Writer::AlreadyWritten(const outbox::Action& action) {
    if (action.attempt <= 1 || action.previous_not_sent) {
        return false;
    }
    const outbox::ActionBody& body = action.body;
    switch (body.kind) {
        case outbox::ActionKind::kNote: {
            auto comments =
                client_.Call("crm.timeline.comment.list",
                             {{"filter", {{"ENTITY_TYPE", "deal"}, {"ENTITY_ID", body.deal}}}});
            return comments && Contains(comments->result, "COMMENT", body.text);
        }
        case outbox::ActionKind::kTask: {
            if (tasks_as_ == WriteTasksAs::kTask) {
                auto tasks = client_.Call(
                    "tasks.task.list",
                    {{"filter", {{"UF_CRM_TASK", "D_" + body.deal}}}, {"select", {"ID", "TITLE"}}});
                return tasks &&
                       Contains(ObjectOr(tasks->result).value("tasks", json()), "title", body.text);
            }
            auto todos = client_.Call(
                "crm.activity.list", {{"filter", {{"OWNER_TYPE_ID", 2}, {"OWNER_ID", body.deal}}}});
            return todos && Contains(todos->result, "SUBJECT", body.text);
        }
        case outbox::ActionKind::kRevert: {
            auto write = WriteOf(action);
            auto deal = client_.Call("crm.deal.get", {{"id", body.deal}});
            return write && deal &&
                   FieldText(deal->result, "STAGE_ID") ==
                       FieldText(write->second["fields"], "STAGE_ID");
        }
        default:
            return false;
    }
}

DeliveryResult Writer::Deliver(const outbox::Action& action) {
    auto write = WriteOf(action);
    if (!write) {
        return Rejected(write.error().message);
    }
    if (AlreadyWritten(action)) {
        return Delivered();
    }
    CallInfo info;
    auto answer = client_.Call(write->first, write->second, false, &info);
    return answer ? Delivered() : FromError(answer.error(), info);
}

std::vector<DeliveryResult> Writer::DeliverBatch(const std::vector<outbox::Action>& actions) {
    if (actions.size() <= 1) {
        return ActionSink::DeliverBatch(actions);
    }
    std::vector<DeliveryResult> results(actions.size());
    std::vector<BatchCommand> commands;
    std::vector<std::size_t> sent;
    std::vector<std::string> methods;
    for (std::size_t i = 0; i < actions.size(); ++i) {
        auto write = WriteOf(actions[i]);
        if (!write) {
            results[i] = Rejected(write.error().message);
            continue;
        }
        if (AlreadyWritten(actions[i])) {
            results[i] = Delivered();
            continue;
        }
        commands.push_back({fmt::format("w{}", i), write->first + "?" + BuildQuery(write->second)});
        methods.push_back(write->first);
        sent.push_back(i);
    }
    for (std::size_t start = 0; start < commands.size(); start += Client::kMaxBatch) {
        const std::size_t end = std::min(commands.size(), start + Client::kMaxBatch);
        const std::vector<BatchCommand> chunk(commands.begin() + static_cast<std::ptrdiff_t>(start),
                                              commands.begin() + static_cast<std::ptrdiff_t>(end));
        CallInfo info;
        auto answer = client_.Batch(chunk, false, &info);
        for (std::size_t c = start; c < end; ++c) {
            results[sent[c]] = answer ? FromItem((*answer)[c - start], methods[c])
                                      : FromError(answer.error(), info);
        }
    }
    return results;
}

}  // namespace fg::adapters::bitrix24
