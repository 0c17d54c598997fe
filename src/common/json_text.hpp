#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

/// Compact JSON text written straight into a string, byte for byte what nlohmann::json::dump()
/// writes, for output that prints many documents (check --format json): no temporary json values,
/// no serializer per document.
namespace fg {

/// Appends `text` as a JSON string as dump() writes it: UTF-8 as is; `"` and `\` escaped, control
/// characters as \b \t \n \f \r or \u00xx. Text that is not valid UTF-8 throws
/// nlohmann::json::type_error (316), as dump() does.
void AppendJsonString(std::string& out, std::string_view text);

/// Appends `value` as value.dump() (compact) writes it.
void AppendJson(std::string& out, const nlohmann::json& value);

}  // namespace fg
