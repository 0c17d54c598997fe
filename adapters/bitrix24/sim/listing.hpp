#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/common/time.hpp"

namespace fg::adapters::bitrix24::sim {

/// The list methods' fixed page size.
inline constexpr std::size_t kPageSize = 50;

/// Maps a filter, order or select key to the row's key (tasks filter "RESPONSIBLE_ID" and
/// answer "responsibleId"); the identity for the crm.* methods.
using KeyMap = std::function<std::string(const std::string&)>;

/// "RESPONSIBLE_ID" -> "responsibleId", as tasks.task.* answer.
std::string CamelCase(const std::string& upper_snake);

/// An ISO 8601 time with an offset, or a date "YYYY-MM-DD" (midnight on the portal, +03:00).
std::optional<Timestamp> ParseFilterTime(const std::string& text);

/// Whether `row` passes every condition of `filter` ({"<op><KEY>": value}, ops >= > <= < = != !
/// @ !@ % =% %=). Conditions on keys the row does not have are ignored, as the portal ignores
/// unknown filter fields. Values compare as times when both read as times, as numbers when both
/// read as numbers, otherwise as text; an array in the row matches when any element does.
bool Matches(const nlohmann::json& row, const nlohmann::json& filter, const KeyMap& map = {});

/// Sorts by `order` ({"KEY": "ASC"|"DESC"}, in the given key order), then by `id_key` ascending.
void Order(std::vector<nlohmann::json>& rows, const nlohmann::json& order,
           const std::string& id_key = "ID", const KeyMap& map = {});

/// The selected keys of `row`: "*" every key not starting with "UF_", "UF_*" every "UF_" key,
/// other names as they are (mapped). An empty selection keeps `row` whole.
nlohmann::json Select(const nlohmann::json& row, const nlohmann::json& select,
                      const KeyMap& map = {});

struct Page {
    std::vector<nlohmann::json> rows{};
    std::optional<long> total{};  // absent with start = -1
    std::optional<long> next{};   // present when more rows follow
};

/// What a list's filter and order let the simulator skip without changing its answer (the
/// general path renders every row, matches, sorts and pages; see CollectPage).
struct ListPlan {
    bool id_order = false;  // the answer is in ascending id order: the rows come that way
    std::int64_t min_id = std::numeric_limits<std::int64_t>::min();  // no row below matches
    /// Only rows whose indexed key holds one of these can match (an equality or IN condition on
    /// it); nullopt = any row can.
    std::optional<std::vector<std::string>> index_values{};
};

/// How the indexed key's values compare: kIds decimal ids (OWNER_ID "15"), kText exact text
/// (UF_CRM_TASK "D_15").
enum class IndexValues { kIds, kText };

/// The plan for `filter` and the effective `order` (after any default the method applies).
/// `index_key` is the row key an index exists for ("" = none). Anything the plan cannot prove
/// is left to the general path, so the answer is the same either way.
ListPlan PlanList(const nlohmann::json& filter, const nlohmann::json& order,
                  const std::string& id_key, const std::string& index_key, IndexValues values,
                  const KeyMap& map = {});

/// The smallest candidate id >= its argument, or nullopt when none is left.
using NextId = std::function<std::optional<std::int64_t>(std::int64_t)>;
/// A candidate's row, or nullopt when it is not listed (deleted).
using RenderRow = std::function<std::optional<nlohmann::json>(std::int64_t)>;

/// A list answer over candidate ids walked in ascending order from `plan.min_id`: each row
/// rendered, kept when it Matches, then Order and Paginate as the general path does; in id
/// order with start = -1 it stops after the first 50 matches.
Page CollectPage(const ListPlan& plan, const NextId& next, const RenderRow& render,
                 const nlohmann::json& filter, const nlohmann::json& order,
                 const nlohmann::json* start, const std::string& id_key, const KeyMap& map = {});

/// Rows [start, start + 50). `start` = -1 takes the first 50 and counts nothing (no total, no
/// next), as the portal's fast mode does.
Page Paginate(std::vector<nlohmann::json> rows, const nlohmann::json* start);

}  // namespace fg::adapters::bitrix24::sim
