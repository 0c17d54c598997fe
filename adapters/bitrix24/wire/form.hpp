#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/common/result.hpp"

namespace fg::adapters::bitrix24::form {

/// Percent-decoding with `+` as a space; false when a `%` is not followed by two hex digits.
bool PercentDecode(std::string_view text, std::string& out);

/// The key's path: `data[FIELDS][ID]` → {"data", "FIELDS", "ID"}; empty when the brackets do not
/// balance. `a[]` gives an empty last segment.
std::vector<std::string> KeyPath(std::string_view key);

/// Parses a form-encoded body with PHP bracket keys (percent-encoded `%5B`/`%5D` or literal) into
/// a JSON object of strings and nested objects, as PHP's $_POST holds it: `+` is a space, a
/// repeated key keeps its last value, `a[]` appends the next index, and where one key holds both
/// a scalar and a nested map (`data[FIELDS_BEFORE]=undefined` beside `...[ID]=1`) the map wins.
/// kInvalidInput naming the key for broken percent-encoding, unbalanced brackets, keys deeper
/// than 16 levels or bytes that are not UTF-8.
Result<nlohmann::json> Parse(std::string_view body);

/// The body without the pairs whose key `drop` selects (given the decoded key path); the other
/// pairs keep their bytes and order.
template <class Drop>
std::string WithoutPairs(std::string_view body, Drop drop) {
    std::string out;
    std::size_t start = 0;
    while (start <= body.size()) {
        std::size_t end = body.find('&', start);
        if (end == std::string_view::npos) {
            end = body.size();
        }
        const std::string_view pair = body.substr(start, end - start);
        const std::string_view raw_key = pair.substr(0, pair.find('='));
        std::string key;
        const bool dropped = PercentDecode(raw_key, key) && drop(KeyPath(key));
        if (!pair.empty() && !dropped) {
            if (!out.empty()) {
                out += '&';
            }
            out += pair;
        }
        start = end + 1;
    }
    return out;
}

}  // namespace fg::adapters::bitrix24::form
