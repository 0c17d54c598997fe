#include "adapters/bitrix24/api/fetcher.hpp"

#include <algorithm>
#include <deque>
#include <map>

#include <fmt/format.h>

#include "adapters/bitrix24/wire/references.hpp"

namespace fg::adapters::bitrix24 {
namespace {

using nlohmann::json;

const json kTaskSelect = {"ID",           "TITLE",          "DEADLINE",
                          "STATUS",       "RESPONSIBLE_ID", "UF_CRM_TASK",
                          "CREATED_DATE", "CHANGED_DATE",   "CLOSED_DATE"};

constexpr std::size_t kPageRows = 50;  // the portal's fixed page size

std::string Command(const std::string& method, const json& params) {
    return method + "?" + BuildQuery(params);
}

bool Wanted(DealChild child, DealTasks deal_tasks) {
    switch (child) {
        case DealChild::kTodos:
            return deal_tasks != DealTasks::kTasks;
        case DealChild::kTasks:
            return deal_tasks != DealTasks::kTodos;
        case DealChild::kComments:
            return true;
    }
    return false;
}

std::string_view SuffixOf(DealChild child) {
    switch (child) {
        case DealChild::kTodos:
            return "_todos";
        case DealChild::kTasks:
            return "_tasks";
        case DealChild::kComments:
            return "_comments";
    }
    return "";
}

std::int64_t RowId(DealChild child, const json& row) {
    const std::string id = FieldText(row, child == DealChild::kTasks ? "id" : "ID");
    return IsId(id) && id.size() < 19 ? std::stoll(id) : 0;
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

// A fetched deal while its to-dos, tasks and comments are read, page by page.
struct DealRead {
    std::size_t reference = 0;  // its index in Fetch's references
    std::string label{};        // the reference, for reasons
    std::shared_ptr<const Catalog> catalog{};
    std::vector<domain::Event> events{};  // the deal's own
    std::map<DealChild, json> rows{};
    std::optional<crm::Fetched> failed{};
};

// A child list of a deal read that goes on after a full page.
struct Continuation {
    std::size_t read = 0;  // index into the reads
    DealChild child = DealChild::kTodos;
    std::int64_t after = 0;
};

std::string_view MethodOf(DealChild child) {
    switch (child) {
        case DealChild::kTodos:
            return "crm.activity.list";
        case DealChild::kTasks:
            return "tasks.task.list";
        case DealChild::kComments:
            return "crm.timeline.comment.list";
    }
    return "";
}

// Takes one page of a child list into `read`; the ID its list goes on after, or 0 when the list
// is complete (or `read` failed). A list that fails for good (a webhook without the task scope)
// adds nothing, as the portal shows nothing to that user; a limit or a portal fault fails the
// read for a retry, since judging the deal without its children would find a task missing.
std::int64_t TakePage(DealRead& read, DealChild child, const BatchItem& item, std::int64_t after) {
    if (item.failed) {
        if (item.LimitExceeded() || item.error == "INTERNAL_SERVER_ERROR") {
            read.failed = Retry(fmt::format("{}: {}: {} {}", read.label, MethodOf(child),
                                            item.error, item.description.substr(0, 200)));
        }
        return 0;
    }
    const json& rows = DealChildRows(child, item.result);
    json& into = read.rows[child];
    if (!into.is_array()) {
        into = json::array();
    }
    std::int64_t last = after;
    for (const json& row : rows) {
        last = std::max(last, RowId(child, row));
        into.push_back(row);
    }
    if (rows.size() < kPageRows) {
        return 0;
    }
    if (last <= after) {
        read.failed =
            Failed(fmt::format("{}: {} answered a full page without rows after ID {}: "
                               "the portal ignores filter[>ID]",
                               read.label, MethodOf(child), after));
        return 0;
    }
    return last;
}

// The pages after the first of every deal's child list, the lists of all the deals together, 50
// a request: a long-lived deal has hundreds of activities, and its open to-do may be the newest.
void ReadRemainingPages(Client& client, std::vector<DealRead>& reads,
                        std::deque<Continuation>& continuations) {
    while (!continuations.empty()) {
        std::vector<Continuation> round;
        std::vector<BatchCommand> commands;
        while (!continuations.empty() && round.size() < Client::kMaxBatch) {
            const Continuation next = continuations.front();
            continuations.pop_front();
            DealRead& read = reads[next.read];
            if (read.failed) {
                continue;
            }
            const std::string deal =
                std::get<domain::DealUpserted>(read.events.front().body).deal.id;
            commands.push_back(
                {fmt::format("p{}", round.size()), DealChildCommand(next.child, deal, next.after)});
            round.push_back(next);
        }
        if (round.empty()) {
            break;
        }
        CallInfo info;
        auto answer = client.Batch(commands, true, &info);
        for (std::size_t c = 0; c < round.size(); ++c) {
            DealRead& read = reads[round[c].read];
            if (read.failed) {
                continue;
            }
            if (!answer) {
                read.failed =
                    answer.error().code == ErrorCode::kInvalidInput
                        ? Failed(fmt::format("{}: {}", read.label, answer.error().message))
                        : Retry(fmt::format("{}: {}", read.label, answer.error().message),
                                info.retry_after);
                continue;
            }
            if (const std::int64_t after =
                    TakePage(read, round[c].child, (*answer)[c], round[c].after)) {
                continuations.push_back({round[c].read, round[c].child, after});
            }
        }
    }
}

}  // namespace

std::vector<BatchCommand> DealChildrenCommands(const std::string& prefix, const std::string& deal,
                                               DealTasks deal_tasks) {
    std::vector<BatchCommand> commands;
    for (const DealChild child : {DealChild::kTodos, DealChild::kTasks, DealChild::kComments}) {
        if (Wanted(child, deal_tasks)) {
            commands.push_back(
                {prefix + std::string(SuffixOf(child)), DealChildCommand(child, deal, 0)});
        }
    }
    return commands;
}

std::string DealChildCommand(DealChild child, const std::string& deal, std::int64_t after) {
    // ID order with start=-1: a page is 50 rows after `after`, the fastest form of a list
    // (bitrix24.md §2.3), and a full page is continued after its last ID.
    json params = {{"start", -1}};
    json filter;
    std::string method;
    switch (child) {
        case DealChild::kTodos:
            method = "crm.activity.list";
            filter = {{"OWNER_TYPE_ID", 2}, {"OWNER_ID", deal}};
            params["order"] = {{"ID", "ASC"}};
            break;
        case DealChild::kTasks:
            method = "tasks.task.list";
            filter = {{"UF_CRM_TASK", "D_" + deal}};
            params["order"] = {{"ID", "asc"}};
            params["select"] = kTaskSelect;
            break;
        case DealChild::kComments:
            method = "crm.timeline.comment.list";
            filter = {{"ENTITY_TYPE", "deal"}, {"ENTITY_ID", deal}};
            params["order"] = {{"ID", "ASC"}};
            break;
    }
    if (after > 0) {
        filter[">ID"] = after;
    }
    params["filter"] = std::move(filter);
    return Command(method, params);
}

const json& DealChildRows(DealChild child, const json& result) {
    static const json kNoRows = json::array();
    if (child == DealChild::kTasks) {
        const json& wrapped = ObjectOr(result);
        const auto tasks = wrapped.find("tasks");
        return tasks != wrapped.end() && tasks->is_array() ? *tasks : kNoRows;
    }
    return result.is_array() ? result : kNoRows;
}

void MapDealChildren(const json& todos, const json& tasks, const json& comments,
                     const MapContext& context, std::vector<domain::Event>& events) {
    for (const json& row : DealChildRows(DealChild::kTodos, todos)) {
        if (auto event = MapActivity(row, context)) {
            events.push_back(std::move(*event));
        }
    }
    for (const json& row : DealChildRows(DealChild::kTasks, tasks)) {
        if (auto event = MapTask(row, context)) {
            events.push_back(std::move(*event));
        }
    }
    for (const json& row : DealChildRows(DealChild::kComments, comments)) {
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
    std::vector<DealRead> reads;
    std::deque<Continuation> continuations;
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
                    DealRead& read = reads.emplace_back();
                    read.reference = i;
                    read.label = references[i];
                    read.catalog = catalog;
                    read.events.push_back(std::move(deal).value());
                    for (const DealChild child :
                         {DealChild::kTodos, DealChild::kTasks, DealChild::kComments}) {
                        const auto page = items.find(key + std::string(SuffixOf(child)));
                        if (page == items.end()) {
                            continue;
                        }
                        if (const std::int64_t after = TakePage(read, child, *page->second, 0)) {
                            continuations.push_back({reads.size() - 1, child, after});
                        }
                    }
                    continue;  // answered once its children are read
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
    ReadRemainingPages(*client_, reads, continuations);
    for (DealRead& read : reads) {
        if (read.failed) {
            fetched[read.reference] = std::move(*read.failed);
            continue;
        }
        MapContext context = context_;
        context.catalog = read.catalog.get();
        MapDealChildren(read.rows[DealChild::kTodos], json{{"tasks", read.rows[DealChild::kTasks]}},
                        read.rows[DealChild::kComments], context, read.events);
        fetched[read.reference] = Events(std::move(read.events));
    }
    return fetched;
}

}  // namespace fg::adapters::bitrix24
