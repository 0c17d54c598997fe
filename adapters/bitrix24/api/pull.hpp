#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/bitrix24/api/client.hpp"
#include "adapters/bitrix24/config.hpp"
#include "src/common/time.hpp"

namespace fg::adapters::bitrix24 {

/// A list method read in ID order, as one `batch` of up to 50 sub-calls chained by $result: each
/// sub-call asks for the rows after the last ID of the one before (filter[>ID] =
/// $result[<previous>]<rows>[49][<id>]), start=-1, so one request reads up to 2,500 rows.
struct ChainedList {
    std::string method{};          // "crm.deal.list"
    nlohmann::json params{};       // order, select, the filter without its >ID
    std::string rows_path{};       // where the rows are in a result: "" (the result), "[items]"
    std::string id_key = "ID";     // the rows' ID key ("id" for tasks.task.list)
    std::string id_filter = "ID";  // the filter's ID key
};

struct ChainedRows {
    std::vector<nlohmann::json> rows{};
    std::int64_t last_id = 0;  // the largest ID read (the `after` given when none)
    bool end = false;          // a sub-call answered fewer than 50 rows: nothing follows
};

/// Reads up to `sub_calls` (≤ 50) pages after `after` in one request. A sub-call after a short
/// page refers to a row that does not exist and is ignored. A limit inside the batch
/// (QUERY_LIMIT_EXCEEDED, OPERATION_TIME_LIMIT) or a failed sub-call is an error.
Result<ChainedRows> ReadChained(Client& client, const ChainedList& list, std::int64_t after,
                                std::size_t sub_calls = Client::kMaxBatch);

/// The next page's deals, read ahead in the room the last request for this page's children
/// leaves: a chain like ReadChained's, after `after`, in the sub-calls that would go unused.
struct ReadAhead {
    const ChainedList* list = nullptr;  // null: no next page (nothing is read ahead)
    std::int64_t after = 0;             // the next page's deals come after this ID
    std::optional<ChainedRows> rows{};  // what was read, when there was room
};

/// The to-dos, tasks and comments of many deals, read by deal-ID lists (OWNER_ID, UF_CRM_TASK,
/// ENTITY_ID given as arrays: IN) sized so that a sub-call answers about 40 rows, packed 50
/// sub-calls a request whatever their method; a sub-call that answers a full page is continued
/// after its last ID in a later request. `per_deal` are the rows a deal had on the last page
/// (to size the lists; updated from this page).
struct ChildRows {
    nlohmann::json todos = nlohmann::json::array();
    nlohmann::json tasks = nlohmann::json::array();
    nlohmann::json comments = nlohmann::json::array();
    std::size_t requests = 0;
};
struct ChildDensity {
    double todos = 1, tasks = 1, comments = 1;
};
/// With `ahead`, the last request's unused sub-calls read the next page's deals into it.
Result<ChildRows> ReadChildren(Client& client, const std::vector<std::string>& deal_ids,
                               DealTasks deal_tasks, ChildDensity& per_deal,
                               ReadAhead* ahead = nullptr);

}  // namespace fg::adapters::bitrix24
