#include "adapters/bitrix24/sim/listing.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string_view>

#include "adapters/bitrix24/sim/params.hpp"

namespace fg::adapters::bitrix24::sim {

using nlohmann::json;

std::string CamelCase(const std::string& upper_snake) {
    std::string out;
    bool upper_next = false;
    for (const char c : upper_snake) {
        if (c == '_') {
            upper_next = true;
            continue;
        }
        const auto byte = static_cast<unsigned char>(c);
        out += upper_next ? static_cast<char>(std::toupper(byte))
                          : static_cast<char>(std::tolower(byte));
        upper_next = false;
    }
    return out;
}

std::optional<Timestamp> ParseFilterTime(const std::string& text) {
    if (text.size() == 10 && text[4] == '-' && text[7] == '-') {
        return ParseIso8601(text + "T00:00:00+03:00");
    }
    if (text.size() >= 19 && text[4] == '-' && text[10] == 'T') {
        return ParseIso8601(text);
    }
    return std::nullopt;
}

namespace {

std::optional<double> Number(const std::string& text) {
    if (text.empty()) {
        return std::nullopt;
    }
    double value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc{} || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

// <0, 0, >0 as a is less than, equal to or greater than b.
int Compare(const json& a_value, const json& b_value) {
    const std::string a = Text(a_value);
    const std::string b = Text(b_value);
    if (const auto ta = ParseFilterTime(a), tb = ParseFilterTime(b); ta && tb) {
        return *ta < *tb ? -1 : (*ta > *tb ? 1 : 0);
    }
    if (const auto na = Number(a), nb = Number(b); na && nb) {
        return *na < *nb ? -1 : (*na > *nb ? 1 : 0);
    }
    return a.compare(b) < 0 ? -1 : (a == b ? 0 : 1);
}

bool ContainsText(const std::string& haystack, const std::string& needle) {
    std::string h = haystack;
    std::string n = needle;
    std::erase(n, '%');
    std::transform(h.begin(), h.end(), h.begin(), [](unsigned char c) { return std::tolower(c); });
    std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
    return h.find(n) != std::string::npos;
}

bool One(const json& value, std::string_view op, const json& wanted) {
    if (op == "@" || op == "!@") {
        bool any = false;
        if (wanted.is_array()) {
            for (const json& item : wanted) {
                any = any || Compare(value, item) == 0;
            }
        } else {
            any = Compare(value, wanted) == 0;
        }
        return op == "@" ? any : !any;
    }
    if (op == "%" || op == "=%" || op == "%=") {
        return ContainsText(Text(value), Text(wanted));
    }
    if (wanted.is_array()) {  // {"ID": [1, 2]} means IN
        return One(value, op == "!" || op == "!=" ? "!@" : "@", wanted);
    }
    const int c = Compare(value, wanted);
    if (op == ">=")
        return c >= 0;
    if (op == ">")
        return c > 0;
    if (op == "<=")
        return c <= 0;
    if (op == "<")
        return c < 0;
    if (op == "!" || op == "!=")
        return c != 0;
    return c == 0;
}

std::string Mapped(const KeyMap& map, const std::string& key) { return map ? map(key) : key; }

}  // namespace

bool Matches(const json& row, const json& filter, const KeyMap& map) {
    if (!filter.is_object()) {
        return true;
    }
    static constexpr std::string_view kOps[] = {
        ">=", "<=", "!=", "!@", "=%", "%=", ">", "<", "=", "!", "@", "%"};
    for (const auto& [raw_key, wanted] : filter.items()) {
        std::string_view op;
        for (const std::string_view candidate : kOps) {
            if (raw_key.rfind(candidate, 0) == 0) {
                op = candidate;
                break;
            }
        }
        const std::string key = Mapped(map, raw_key.substr(op.size()));
        const auto it = row.find(key);
        if (it == row.end()) {
            continue;
        }
        if (it->is_array()) {
            bool any = false;
            for (const json& element : *it) {
                any = any || One(element, op == "!" || op == "!=" ? "=" : op, wanted);
            }
            if ((op == "!" || op == "!=") ? any : !any) {
                return false;
            }
        } else if (!One(*it, op, wanted)) {
            return false;
        }
    }
    return true;
}

void Order(std::vector<json>& rows, const json& order, const std::string& id_key,
           const KeyMap& map) {
    std::vector<std::pair<std::string, bool>> keys;  // (row key, descending)
    if (order.is_object()) {
        for (const auto& [key, direction] : order.items()) {
            std::string dir = Text(direction);
            std::transform(dir.begin(), dir.end(), dir.begin(),
                           [](unsigned char c) { return std::toupper(c); });
            keys.emplace_back(Mapped(map, key), dir == "DESC");
        }
    }
    std::stable_sort(rows.begin(), rows.end(), [&](const json& a, const json& b) {
        for (const auto& [key, descending] : keys) {
            const int c = Compare(a.value(key, json{}), b.value(key, json{}));
            if (c != 0) {
                return descending ? c > 0 : c < 0;
            }
        }
        return Compare(a.value(id_key, json{}), b.value(id_key, json{})) < 0;
    });
}

json Select(const json& row, const json& select, const KeyMap& map) {
    if (!select.is_array() || select.empty()) {
        return row;
    }
    json out = json::object();
    for (const json& item : select) {
        const std::string name = Text(item);
        if (name == "*" || name == "UF_*") {
            for (const auto& [key, value] : row.items()) {
                if ((key.rfind("UF_", 0) == 0) == (name == "UF_*")) {
                    out[key] = value;
                }
            }
        } else if (const auto it = row.find(Mapped(map, name)); it != row.end()) {
            out[it.key()] = *it;
        }
    }
    return out;
}

Page Paginate(std::vector<json> rows, const json* start) {
    const std::int64_t from = Int(start).value_or(0);
    Page page;
    if (from < 0) {
        if (rows.size() > kPageSize) {
            rows.resize(kPageSize);
        }
        page.rows = std::move(rows);
        return page;
    }
    const auto total = static_cast<long>(rows.size());
    const auto begin = std::min<std::size_t>(static_cast<std::size_t>(from), rows.size());
    const auto end = std::min(begin + kPageSize, rows.size());
    page.rows.assign(std::make_move_iterator(rows.begin() + static_cast<long>(begin)),
                     std::make_move_iterator(rows.begin() + static_cast<long>(end)));
    page.total = total;
    if (static_cast<long>(end) < total) {
        page.next = static_cast<long>(end);
    }
    return page;
}

}  // namespace fg::adapters::bitrix24::sim
