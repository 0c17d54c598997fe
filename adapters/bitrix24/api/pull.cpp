#include "adapters/bitrix24/api/pull.hpp"

#include <algorithm>
#include <cmath>
#include <deque>

#include <fmt/format.h>

namespace fg::adapters::bitrix24 {
namespace {

using nlohmann::json;

constexpr std::size_t kListPage = 50;  // the portal's fixed page size
// Rows a children sub-call is sized for: under the page, so that most need no continuation.
constexpr double kRowsAimed = 42;
constexpr std::size_t kMaxIdsPerList = 200;  // keeps a sub-call's query short

const json kChildTaskSelect = {"ID",           "TITLE",          "DEADLINE",
                               "STATUS",       "RESPONSIBLE_ID", "UF_CRM_TASK",
                               "CREATED_DATE", "CHANGED_DATE",   "CLOSED_DATE"};

const json& RowsAt(const json& result, const std::string& path) {
    static const json kNoRows = json::array();
    if (path.empty()) {
        return result.is_array() ? result : kNoRows;
    }
    const std::string key = path.substr(1, path.size() - 2);  // "[items]" -> "items"
    const json& object = ObjectOr(result);
    const auto found = object.find(key);
    return found != object.end() && found->is_array() ? *found : kNoRows;
}

std::int64_t IdOf(const json& row, const std::string& key) {
    const std::string text = FieldText(row, key.c_str());
    return !text.empty() && std::all_of(text.begin(), text.end(), ::isdigit) ? std::stoll(text) : 0;
}

Error SubCallError(const BatchCommand& command, const BatchItem& item) {
    return MakeError(item.LimitExceeded() ? ErrorCode::kUnavailable : ErrorCode::kInvalidInput,
                     "{}: {} {}", command.command.substr(0, command.command.find('?')), item.error,
                     item.description.substr(0, 200));
}

enum class ChildKind { kTodos, kTasks, kComments };

struct ChildQuery {
    ChildKind kind;
    std::vector<std::string> deals;
    std::int64_t after = 0;  // continuation: rows after this ID
};

BatchCommand ChildCommand(const ChildQuery& query, std::size_t index) {
    const std::string key = fmt::format("c{}", index);
    json filter;
    json params = {{"start", -1}};
    std::string method;
    switch (query.kind) {
        case ChildKind::kTodos:
            method = "crm.activity.list";
            filter = {{"OWNER_TYPE_ID", 2}, {"OWNER_ID", query.deals}};
            params["order"] = {{"ID", "ASC"}};
            break;
        case ChildKind::kTasks: {
            method = "tasks.task.list";
            json bindings = json::array();
            for (const std::string& deal : query.deals) {
                bindings.push_back("D_" + deal);
            }
            filter = {{"UF_CRM_TASK", bindings}};
            params["order"] = {{"ID", "asc"}};
            params["select"] = kChildTaskSelect;
            break;
        }
        case ChildKind::kComments:
            method = "crm.timeline.comment.list";
            filter = {{"ENTITY_TYPE", "deal"}, {"ENTITY_ID", query.deals}};
            params["order"] = {{"ID", "ASC"}};
            break;
    }
    if (query.after > 0) {
        filter[">ID"] = query.after;
    }
    params["filter"] = std::move(filter);
    return {key, method + "?" + BuildQuery(params)};
}

std::size_t IdsPerList(double per_deal) {
    const double ids = kRowsAimed / std::max(per_deal, 0.01);
    return std::clamp<std::size_t>(static_cast<std::size_t>(ids), 1, kMaxIdsPerList);
}

// `count` chained sub-calls of `list` after `after`, keyed <prefix>00, <prefix>01, ...
std::vector<BatchCommand> ChainCommands(const ChainedList& list, std::int64_t after,
                                        std::size_t count, char prefix) {
    std::vector<BatchCommand> commands;
    for (std::size_t i = 0; i < count; ++i) {
        json params = list.params;
        params["start"] = -1;
        std::string command = list.method + "?";
        if (i == 0) {
            params["filter"][">" + list.id_filter] = after;
            command += BuildQuery(params);
        } else {
            // The previous page's 50th row: absent after a short page, and then this sub-call
            // is not read.
            command += BuildQuery(params) + fmt::format("&filter[>{}]=$result[{}{:02}]{}[{}][{}]",
                                                        list.id_filter, prefix, i - 1,
                                                        list.rows_path, kListPage - 1, list.id_key);
        }
        // Zero-padded keys: a JSON object's keys arrive sorted, and a reference must name a
        // sub-call that ran before it.
        commands.push_back({fmt::format("{}{:02}", prefix, i), std::move(command)});
    }
    return commands;
}

// Adds the chain's answers (items[from, from + commands.size())) to `out`, up to the first short
// page; what follows a short page is not read.
Result<void> AddChained(const ChainedList& list, const std::vector<BatchCommand>& commands,
                        const std::vector<BatchItem>& items, std::size_t from, ChainedRows& out) {
    for (std::size_t i = 0; i < commands.size() && !out.end; ++i) {
        const BatchItem& item = items[from + i];
        if (item.failed) {
            return SubCallError(commands[i], item);
        }
        const json& rows = RowsAt(item.result, list.rows_path);
        for (const json& row : rows) {
            out.last_id = std::max(out.last_id, IdOf(row, list.id_key));
            out.rows.push_back(row);
        }
        out.end = rows.size() < kListPage;
    }
    return Ok{};
}

}  // namespace

Result<ChainedRows> ReadChained(Client& client, const ChainedList& list, std::int64_t after,
                                std::size_t sub_calls) {
    sub_calls = std::clamp<std::size_t>(sub_calls, 1, Client::kMaxBatch);
    const std::vector<BatchCommand> commands = ChainCommands(list, after, sub_calls, 'l');
    auto items = client.Batch(commands);
    if (!items) {
        return items.error();
    }
    ChainedRows out;
    out.last_id = after;
    if (auto added = AddChained(list, commands, *items, 0, out); !added) {
        return added.error();
    }
    return out;
}

Result<ChildRows> ReadChildren(Client& client, const std::vector<std::string>& deal_ids,
                               DealTasks deal_tasks, ChildDensity& per_deal, ReadAhead* ahead) {
    std::deque<ChildQuery> pending;
    const auto split = [&](ChildKind kind, double density) {
        const std::size_t size = IdsPerList(density);
        for (std::size_t at = 0; at < deal_ids.size(); at += size) {
            const auto from = deal_ids.begin() + static_cast<std::ptrdiff_t>(at);
            const auto to = deal_ids.begin() +
                            static_cast<std::ptrdiff_t>(std::min(deal_ids.size(), at + size));
            pending.push_back({kind, std::vector<std::string>(from, to), 0});
        }
    };
    if (deal_tasks != DealTasks::kTasks) {
        split(ChildKind::kTodos, per_deal.todos);
    }
    if (deal_tasks != DealTasks::kTodos) {
        split(ChildKind::kTasks, per_deal.tasks);
    }
    split(ChildKind::kComments, per_deal.comments);

    ChildRows out;
    while (!pending.empty()) {
        std::vector<ChildQuery> round;
        std::vector<BatchCommand> commands;
        while (!pending.empty() && round.size() < Client::kMaxBatch) {
            commands.push_back(ChildCommand(pending.front(), round.size()));
            round.push_back(std::move(pending.front()));
            pending.pop_front();
        }
        // What may be the last request for these children: its room reads the next page's
        // deals (after the children's "c" keys, which a JSON object sorts first). A request
        // for continuations later extends that chain.
        std::vector<BatchCommand> chain;
        if (ahead != nullptr && ahead->list != nullptr && pending.empty() &&
            commands.size() < Client::kMaxBatch && !(ahead->rows && ahead->rows->end)) {
            if (!ahead->rows) {
                ahead->rows = ChainedRows{.rows = {}, .last_id = ahead->after, .end = false};
            }
            chain = ChainCommands(*ahead->list, ahead->rows->last_id,
                                  Client::kMaxBatch - commands.size(), 'p');
            commands.insert(commands.end(), chain.begin(), chain.end());
        }
        auto items = client.Batch(commands);
        ++out.requests;
        if (!items) {
            return items.error();
        }
        if (!chain.empty()) {
            if (auto added = AddChained(*ahead->list, chain, *items, round.size(), *ahead->rows);
                !added) {
                return added.error();
            }
        }
        for (std::size_t i = 0; i < round.size(); ++i) {
            const BatchItem& item = (*items)[i];
            if (item.failed) {
                return SubCallError(commands[i], item);
            }
            const bool tasks = round[i].kind == ChildKind::kTasks;
            const json& rows = RowsAt(item.result, tasks ? "[tasks]" : "");
            json& into =
                round[i].kind == ChildKind::kTodos ? out.todos : (tasks ? out.tasks : out.comments);
            std::int64_t last = 0;
            for (const json& row : rows) {
                last = std::max(last, IdOf(row, tasks ? "id" : "ID"));
                into.push_back(row);
            }
            if (rows.size() >= kListPage && last > 0) {
                pending.push_back({round[i].kind, std::move(round[i].deals), last});
            }
        }
    }
    if (!deal_ids.empty()) {
        const double deals = static_cast<double>(deal_ids.size());
        per_deal.todos = static_cast<double>(out.todos.size()) / deals;
        per_deal.tasks = static_cast<double>(out.tasks.size()) / deals;
        per_deal.comments = static_cast<double>(out.comments.size()) / deals;
    }
    return out;
}

}  // namespace fg::adapters::bitrix24
