#include "adapters/bitrix24/api/fetcher.hpp"

#include <fmt/format.h>

#include "adapters/bitrix24/wire/references.hpp"

namespace fg::adapters::bitrix24 {
namespace {

using nlohmann::json;

const json kTaskSelect = {"ID",           "TITLE",          "DEADLINE",
                          "STATUS",       "RESPONSIBLE_ID", "UF_CRM_TASK",
                          "CREATED_DATE", "CHANGED_DATE",   "CLOSED_DATE"};

std::string Command(const std::string& method, const json& params) {
    return method + "?" + BuildQuery(params);
}

// The commands that read one reference, the first being the entity itself.
std::vector<BatchCommand> CommandsFor(const Reference& reference, std::size_t index,
                                      DealTasks deal_tasks) {
    const std::string key = fmt::format("r{}", index);
    switch (reference.kind) {
        case Reference::Kind::kDeal: {
            std::vector<BatchCommand> commands = {
                {key, Command("crm.deal.get", {{"id", reference.id}})}};
            for (BatchCommand& child : DealChildrenCommands(key, reference.id, deal_tasks)) {
                commands.push_back(std::move(child));
            }
            return commands;
        }
        case Reference::Kind::kActivity:
            return {{key, Command("crm.activity.get", {{"id", reference.id}})}};
        case Reference::Kind::kTask:
            return {{key, Command("tasks.task.get",
                                  {{"taskId", reference.id}, {"select", kTaskSelect}})}};
        case Reference::Kind::kComment:
            return {{key, Command("crm.timeline.comment.get", {{"id", reference.id}})}};
    }
    return {};
}

crm::Fetched Retry(std::string reason, std::optional<Duration> wait = std::nullopt) {
    return {.outcome = crm::Fetched::Outcome::kRetry,
            .events = {},
            .reason = std::move(reason),
            .retry_after = wait};
}

crm::Fetched Failed(std::string reason) {
    return {.outcome = crm::Fetched::Outcome::kFailed,
            .events = {},
            .reason = std::move(reason),
            .retry_after = std::nullopt};
}

crm::Fetched Events(std::vector<domain::Event> events) {
    return {.outcome = crm::Fetched::Outcome::kEvents,
            .events = std::move(events),
            .reason = {},
            .retry_after = std::nullopt};
}

const json& ResultOf(const std::map<std::string, const BatchItem*>& items, const std::string& key) {
    static const json kNone;
    const auto found = items.find(key);
    return found == items.end() || found->second->failed ? kNone : found->second->result;
}

}  // namespace

std::vector<BatchCommand> DealChildrenCommands(const std::string& prefix, const std::string& deal,
                                               DealTasks deal_tasks) {
    std::vector<BatchCommand> commands;
    if (deal_tasks != DealTasks::kTasks) {
        commands.push_back(
            {prefix + "_todos",
             Command("crm.activity.list", {{"filter", {{"OWNER_TYPE_ID", 2}, {"OWNER_ID", deal}}},
                                           {"order", {{"ID", "ASC"}}}})});
    }
    if (deal_tasks != DealTasks::kTodos) {
        commands.push_back({prefix + "_tasks",
                            Command("tasks.task.list", {{"filter", {{"UF_CRM_TASK", "D_" + deal}}},
                                                        {"select", kTaskSelect}})});
    }
    commands.push_back({prefix + "_comments",
                        Command("crm.timeline.comment.list",
                                {{"filter", {{"ENTITY_TYPE", "deal"}, {"ENTITY_ID", deal}}}})});
    return commands;
}

void MapDealChildren(const json& todos, const json& tasks, const json& comments,
                     const MapContext& context, std::vector<domain::Event>& events) {
    for (const json& row : todos.is_array() ? todos : json::array()) {
        if (auto event = MapActivity(row, context)) {
            events.push_back(std::move(*event));
        }
    }
    const json task_rows = ObjectOr(tasks).value("tasks", json::array());
    for (const json& row : task_rows.is_array() ? task_rows : json::array()) {
        if (auto event = MapTask(row, context)) {
            events.push_back(std::move(*event));
        }
    }
    for (const json& row : comments.is_array() ? comments : json::array()) {
        if (auto event = MapComment(row, context)) {
            events.push_back(std::move(*event));
        }
    }
}

Bitrix24Fetcher::Bitrix24Fetcher(std::shared_ptr<Client> client,
                                 std::shared_ptr<CatalogCache> catalog, MapContext context,
                                 std::function<Result<void>()> refresh_catalog)
    : client_(std::move(client)),
      catalog_(std::move(catalog)),
      context_(std::move(context)),
      refresh_catalog_(std::move(refresh_catalog)) {}

std::vector<crm::Fetched> Bitrix24Fetcher::Fetch(const std::vector<std::string>& references) {
    std::vector<crm::Fetched> fetched(references.size());
    std::vector<std::optional<Reference>> parsed(references.size());
    // Batches of whole references: a deal's commands travel together.
    std::vector<std::vector<std::size_t>> batches(1);
    std::vector<std::vector<BatchCommand>> commands(1);
    for (std::size_t i = 0; i < references.size(); ++i) {
        parsed[i] = Reference::Parse(references[i]);
        if (!parsed[i]) {
            fetched[i] = Failed(fmt::format("{}: not a Bitrix24 reference", references[i]));
            continue;
        }
        std::vector<BatchCommand> mine = CommandsFor(*parsed[i], i, context_.deal_tasks);
        if (commands.back().size() + mine.size() > Client::kMaxBatch) {
            batches.emplace_back();
            commands.emplace_back();
        }
        batches.back().push_back(i);
        for (BatchCommand& command : mine) {
            commands.back().push_back(std::move(command));
        }
    }
    bool refreshed = false;
    for (std::size_t b = 0; b < batches.size(); ++b) {
        if (batches[b].empty()) {
            continue;
        }
        CallInfo info;
        auto answer = client_->Batch(commands[b], true, &info);
        if (!answer) {
            for (const std::size_t i : batches[b]) {
                fetched[i] = answer.error().code == ErrorCode::kInvalidInput
                                 ? Failed(answer.error().message)
                                 : Retry(answer.error().message, info.retry_after);
            }
            continue;
        }
        std::map<std::string, const BatchItem*> items;
        for (std::size_t c = 0; c < commands[b].size(); ++c) {
            items[commands[b][c].key] = &(*answer)[c];
        }
        for (const std::size_t i : batches[b]) {
            const std::string key = fmt::format("r{}", i);
            const BatchItem& item = *items.at(key);
            const Reference& reference = *parsed[i];
            if (item.NotFound()) {
                fetched[i] = {.outcome = crm::Fetched::Outcome::kGone,
                              .events = {},
                              .reason = {},
                              .retry_after = std::nullopt};
                continue;
            }
            if (item.failed) {
                const std::string reason = fmt::format("{}: {} {}", references[i], item.error,
                                                       item.description.substr(0, 200));
                fetched[i] = item.LimitExceeded() || item.error == "INTERNAL_SERVER_ERROR"
                                 ? Retry(reason)
                                 : Failed(reason);
                continue;
            }
            std::shared_ptr<const Catalog> catalog = catalog_->Get();
            MapContext context = context_;
            context.catalog = catalog.get();
            std::vector<domain::Event> events;
            switch (reference.kind) {
                case Reference::Kind::kDeal: {
                    auto deal = MapDeal(item.result, context);
                    if (!deal && deal.error().code == ErrorCode::kUnavailable && !refreshed &&
                        refresh_catalog_) {
                        refreshed = true;
                        (void)refresh_catalog_();
                        catalog = catalog_->Get();
                        context.catalog = catalog.get();
                        deal = MapDeal(item.result, context);
                    }
                    if (!deal) {
                        fetched[i] = deal.error().code == ErrorCode::kUnavailable
                                         ? Retry(deal.error().message)
                                         : Failed(deal.error().message);
                        continue;
                    }
                    events.push_back(std::move(deal).value());
                    MapDealChildren(ResultOf(items, key + "_todos"),
                                    ResultOf(items, key + "_tasks"),
                                    ResultOf(items, key + "_comments"), context, events);
                    break;
                }
                case Reference::Kind::kActivity:
                    if (auto event = MapActivity(item.result, context)) {
                        events.push_back(std::move(*event));
                    }
                    break;
                case Reference::Kind::kTask:
                    if (auto event =
                            MapTask(ObjectOr(item.result).value("task", json()), context)) {
                        events.push_back(std::move(*event));
                    }
                    break;
                case Reference::Kind::kComment:
                    if (auto event = MapComment(item.result, context)) {
                        events.push_back(std::move(*event));
                    }
                    break;
            }
            fetched[i] = Events(std::move(events));
        }
    }
    return fetched;
}

}  // namespace fg::adapters::bitrix24
