#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace fg::adapters::bitrix24::sim {

/// Percent-encodes as PHP's http_build_query does: letters, digits and "-_." stay, a space is
/// "+", every other byte (brackets and UTF-8 included) is %XX.
std::string FormEncode(std::string_view text);
/// Decodes %XX and "+" (a space).
std::string FormDecode(std::string_view text);
/// "a=1&b=2" pairs, decoded, in order.
std::vector<std::pair<std::string, std::string>> SplitForm(std::string_view text);

/// PHP's reading of bracketed form keys: "filter[>ID]=5&select[]=ID&cmd[a]=x" ->
/// {"filter":{">ID":"5"},"select":["ID"],"cmd":{"a":"x"}}. Values stay strings; an object whose
/// keys are exactly 0..n-1 becomes an array.
nlohmann::json ParseForm(std::string_view text);

/// params[key], the key compared case-insensitively (the portal takes "ID" and "id", "FIELDS"
/// and "fields"); nullptr when absent or null.
const nlohmann::json* Find(const nlohmann::json& params, std::string_view key);

/// A scalar as the portal reads it: strings as they are, integers without a fraction,
/// true "1", false "" (null too).
std::string Text(const nlohmann::json& value);
/// An integer given as a number or a decimal string.
std::optional<std::int64_t> Int(const nlohmann::json* value);
/// "Y"/"N", true/false, 1/0 as a flag.
std::optional<bool> Flag(const nlohmann::json* value);
/// An object, or {} for PHP's [] (an empty array) and for anything absent.
nlohmann::json ObjectOr(const nlohmann::json* value);

}  // namespace fg::adapters::bitrix24::sim
