#include "adapters/bitrix24/sim/params.hpp"

#include <cctype>
#include <charconv>

#include <fmt/format.h>

namespace fg::adapters::bitrix24::sim {

using nlohmann::json;

std::string FormEncode(std::string_view text) {
    std::string out;
    out.reserve(text.size() * 3);
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (std::isalnum(byte) != 0 || c == '-' || c == '_' || c == '.') {
            out += c;
        } else if (c == ' ') {
            out += '+';
        } else {
            out += fmt::format("%{:02X}", byte);
        }
    }
    return out;
}

std::string FormDecode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '+') {
            out += ' ';
        } else if (text[i] == '%' && i + 2 < text.size()) {
            int value = 0;
            const auto* begin = text.data() + i + 1;
            const auto [end, error] = std::from_chars(begin, begin + 2, value, 16);
            if (error == std::errc{} && end == begin + 2) {
                out += static_cast<char>(value);
                i += 2;
            } else {
                out += '%';
            }
        } else {
            out += text[i];
        }
    }
    return out;
}

std::vector<std::pair<std::string, std::string>> SplitForm(std::string_view text) {
    std::vector<std::pair<std::string, std::string>> pairs;
    while (!text.empty()) {
        const std::size_t amp = text.find('&');
        const std::string_view part = text.substr(0, amp);
        if (!part.empty()) {
            const std::size_t eq = part.find('=');
            pairs.emplace_back(FormDecode(part.substr(0, eq)),
                               eq == std::string_view::npos ? "" : FormDecode(part.substr(eq + 1)));
        }
        if (amp == std::string_view::npos) {
            break;
        }
        text.remove_prefix(amp + 1);
    }
    return pairs;
}

namespace {

// Objects with keys 0..n-1 (from "a[0]=..&a[1]=.." or "a[]=..") become arrays, recursively.
json Normalize(json value) {
    if (!value.is_object()) {
        return value;
    }
    for (auto& [key, item] : value.items()) {
        item = Normalize(std::move(item));
    }
    bool sequential = !value.empty();
    std::size_t index = 0;
    for (const auto& [key, item] : value.items()) {
        (void)item;
        if (key != std::to_string(index++)) {
            sequential = false;
            break;
        }
    }
    // json objects iterate in key order, so "10" comes before "2": check by lookup instead.
    if (!sequential && !value.empty()) {
        sequential = true;
        for (std::size_t i = 0; i < value.size(); ++i) {
            if (!value.contains(std::to_string(i))) {
                sequential = false;
                break;
            }
        }
    }
    if (!sequential) {
        return value;
    }
    json array = json::array();
    for (std::size_t i = 0; i < value.size(); ++i) {
        array.push_back(std::move(value[std::to_string(i)]));
    }
    return array;
}

}  // namespace

json ParseForm(std::string_view text) {
    json root = json::object();
    for (auto& [key, value] : SplitForm(text)) {
        const std::size_t open = key.find('[');
        std::vector<std::string> path{key.substr(0, open)};
        if (path.front().empty()) {
            continue;
        }
        std::size_t at = open;
        while (at != std::string::npos && at < key.size() && key[at] == '[') {
            const std::size_t close = key.find(']', at);
            if (close == std::string::npos) {
                break;
            }
            path.push_back(key.substr(at + 1, close - at - 1));
            at = close + 1;
        }
        json* node = &root;
        for (std::size_t i = 0; i < path.size(); ++i) {
            std::string segment = path[i];
            if (!node->is_object()) {
                *node = json::object();
            }
            if (segment.empty()) {  // "[]": the next index
                segment = std::to_string(node->size());
            }
            if (i + 1 == path.size()) {
                (*node)[segment] = value;
            } else {
                node = &(*node)[segment];
            }
        }
    }
    return Normalize(std::move(root));
}

const json* Find(const json& params, std::string_view key) {
    if (!params.is_object()) {
        return nullptr;
    }
    for (auto it = params.begin(); it != params.end(); ++it) {
        const std::string& name = it.key();
        if (name.size() != key.size()) {
            continue;
        }
        bool same = true;
        for (std::size_t i = 0; i < name.size() && same; ++i) {
            same = std::tolower(static_cast<unsigned char>(name[i])) ==
                   std::tolower(static_cast<unsigned char>(key[i]));
        }
        if (same) {
            return it->is_null() ? nullptr : &*it;
        }
    }
    return nullptr;
}

std::string Text(const json& value) {
    if (value.is_string()) {
        return value.get<std::string>();
    }
    if (value.is_boolean()) {
        return value.get<bool>() ? "1" : "";
    }
    if (value.is_number_integer() || value.is_number_unsigned()) {
        return value.dump();
    }
    if (value.is_number_float()) {
        const double number = value.get<double>();
        if (number == static_cast<double>(static_cast<long long>(number))) {
            return std::to_string(static_cast<long long>(number));
        }
        return value.dump();
    }
    return value.is_null() ? "" : value.dump();
}

std::optional<std::int64_t> Int(const json* value) {
    if (value == nullptr) {
        return std::nullopt;
    }
    if (value->is_number_integer() || value->is_number_unsigned()) {
        return value->get<std::int64_t>();
    }
    if (value->is_string()) {
        const std::string& text = value->get_ref<const std::string&>();
        std::int64_t number = 0;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
        if (error == std::errc{} && end == text.data() + text.size() && !text.empty()) {
            return number;
        }
    }
    return std::nullopt;
}

std::optional<bool> Flag(const json* value) {
    if (value == nullptr) {
        return std::nullopt;
    }
    if (value->is_boolean()) {
        return value->get<bool>();
    }
    const std::string text = Text(*value);
    if (text == "Y" || text == "y" || text == "1" || text == "true") {
        return true;
    }
    if (text == "N" || text == "n" || text == "0" || text == "false" || text.empty()) {
        return false;
    }
    return std::nullopt;
}

json ObjectOr(const json* value) {
    if (value == nullptr || !value->is_object()) {
        return json::object();
    }
    return *value;
}

}  // namespace fg::adapters::bitrix24::sim
