#include "adapters/bitrix24/sim/listing.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
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

// A value read once every way it can compare: as a time, a number and text.
struct SortKey {
    std::string text;
    std::optional<Timestamp> time;
    std::optional<double> number;

    explicit SortKey(const json& value)
        : text(Text(value)), time(ParseFilterTime(text)), number(Number(text)) {}
};

template <typename T>
int Sign(const T& a, const T& b) {
    return a < b ? -1 : (b < a ? 1 : 0);
}

// <0, 0, >0 as a is less than, equal to or greater than b: as times when both read as times,
// as numbers when both read as numbers, otherwise as text.
int Compare(const SortKey& a, const SortKey& b) {
    if (a.time && b.time) {
        return Sign(*a.time, *b.time);
    }
    if (a.number && b.number) {
        return Sign(*a.number, *b.number);
    }
    return a.text.compare(b.text) < 0 ? -1 : (a.text == b.text ? 0 : 1);
}

int Compare(const json& a, const json& b) { return Compare(SortKey(a), SortKey(b)); }

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

// A filter key's operator prefix and the row key it names.
std::pair<std::string_view, std::string> SplitCondition(const std::string& raw_key,
                                                        const KeyMap& map) {
    static constexpr std::string_view kOps[] = {
        ">=", "<=", "!=", "!@", "=%", "%=", ">", "<", "=", "!", "@", "%"};
    std::string_view op;
    for (const std::string_view candidate : kOps) {
        if (raw_key.rfind(candidate, 0) == 0) {
            op = candidate;
            break;
        }
    }
    return {op, Mapped(map, raw_key.substr(op.size()))};
}

}  // namespace

bool Matches(const json& row, const json& filter, const KeyMap& map) {
    if (!filter.is_object()) {
        return true;
    }
    for (const auto& [raw_key, wanted] : filter.items()) {
        const auto [op, key] = SplitCondition(raw_key, map);
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
    // Each row's sort values parsed once (the id last), not once per comparison.
    std::vector<std::vector<SortKey>> values;
    values.reserve(rows.size());
    for (const json& row : rows) {
        std::vector<SortKey>& row_values = values.emplace_back();
        row_values.reserve(keys.size() + 1);
        for (const auto& [key, descending] : keys) {
            row_values.emplace_back(row.value(key, json{}));
        }
        row_values.emplace_back(row.value(id_key, json{}));
    }
    std::vector<std::size_t> positions(rows.size());
    for (std::size_t i = 0; i < positions.size(); ++i) {
        positions[i] = i;
    }
    std::stable_sort(positions.begin(), positions.end(), [&](std::size_t a, std::size_t b) {
        for (std::size_t k = 0; k < keys.size(); ++k) {
            const int c = Compare(values[a][k], values[b][k]);
            if (c != 0) {
                return keys[k].second ? c > 0 : c < 0;
            }
        }
        return Compare(values[a].back(), values[b].back()) < 0;
    });
    std::vector<json> sorted;
    sorted.reserve(rows.size());
    for (const std::size_t position : positions) {
        sorted.push_back(std::move(rows[position]));
    }
    rows = std::move(sorted);
}

namespace {

// An integral number within the ids' range, as Compare reads it.
std::optional<double> IdNumber(const json& value) {
    const auto number = Number(Text(value));
    if (!number || !std::isfinite(*number) || std::fabs(*number) > 1e15) {
        return std::nullopt;
    }
    return number;
}

bool Descending(const json& direction) {
    std::string dir = Text(direction);
    std::transform(dir.begin(), dir.end(), dir.begin(),
                   [](unsigned char c) { return std::toupper(c); });
    return dir == "DESC";
}

// The values an equality or IN condition admits, as the index keys them; nullopt when one of
// them could compare in a way the index does not capture.
std::optional<std::vector<std::string>> IndexValuesOf(const json& wanted, IndexValues kind) {
    std::vector<std::string> out;
    const auto add = [&](const json& value) {
        if (kind == IndexValues::kIds) {
            // The rows hold decimal ids, which compare as numbers with a number.
            const auto number = IdNumber(value);
            if (!number || std::floor(*number) != *number) {
                return false;
            }
            out.push_back(std::to_string(static_cast<std::int64_t>(*number)));
            return true;
        }
        // Text that reads as neither a time nor a number compares as text with anything.
        std::string text = Text(value);
        if (ParseFilterTime(text) || Number(text)) {
            return false;
        }
        out.push_back(std::move(text));
        return true;
    };
    if (wanted.is_array()) {
        for (const json& value : wanted) {
            if (!add(value)) {
                return std::nullopt;
            }
        }
    } else if (!wanted.is_structured() && !add(wanted)) {
        return std::nullopt;
    } else if (wanted.is_object()) {
        return std::nullopt;
    }
    return out;
}

}  // namespace

ListPlan PlanList(const json& filter, const json& order, const std::string& id_key,
                  const std::string& index_key, IndexValues values, const KeyMap& map) {
    ListPlan plan;
    // Order compares by the order's keys in turn and then by the id; ids are unique, so an
    // order led by the id ascending (or none) is the id order.
    plan.id_order = true;
    if (order.is_object() && !order.empty()) {
        const auto first = order.items().begin();
        plan.id_order = Mapped(map, first.key()) == id_key && !Descending(first.value());
    }
    if (!filter.is_object()) {
        return plan;
    }
    for (const auto& [raw_key, wanted] : filter.items()) {
        const auto [op, key] = SplitCondition(raw_key, map);
        if (key == id_key && (op == ">" || op == ">=") && !wanted.is_structured()) {
            if (const auto number = IdNumber(wanted)) {
                const double bound = op == ">" ? std::floor(*number) + 1 : std::ceil(*number);
                plan.min_id = std::max(plan.min_id, static_cast<std::int64_t>(bound));
            }
        } else if (!index_key.empty() && key == index_key && !plan.index_values &&
                   (op.empty() || op == "=" || op == "@")) {
            plan.index_values = IndexValuesOf(wanted, values);
        }
    }
    return plan;
}

Page CollectPage(const ListPlan& plan, const NextId& next, const RenderRow& render,
                 const json& filter, const json& order, const json* start,
                 const std::string& id_key, const KeyMap& map) {
    const bool first_page_only = Int(start).value_or(0) < 0;
    std::vector<json> rows;
    for (auto id = next(plan.min_id); id; id = next(*id + 1)) {
        std::optional<json> row = render(*id);
        if (!row || !Matches(*row, filter, map)) {
            continue;
        }
        rows.push_back(std::move(*row));
        if (plan.id_order && first_page_only && rows.size() == kPageSize) {
            break;
        }
    }
    if (!plan.id_order) {
        Order(rows, order, id_key, map);
    }
    return Paginate(std::move(rows), start);
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
