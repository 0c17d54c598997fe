#pragma once

#include <cstddef>
#include <functional>
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

/// Rows [start, start + 50). `start` = -1 takes the first 50 and counts nothing (no total, no
/// next), as the portal's fast mode does.
Page Paginate(std::vector<nlohmann::json> rows, const nlohmann::json* start);

}  // namespace fg::adapters::bitrix24::sim
