#include "adapters/bitrix24/wire/form.hpp"

#include <fmt/format.h>

namespace fg::adapters::bitrix24::form {
namespace {

constexpr std::size_t kMaxDepth = 16;

int HexValue(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

bool IsValidUtf8(std::string_view text) {
    std::size_t i = 0;
    while (i < text.size()) {
        const auto byte = static_cast<unsigned char>(text[i]);
        std::size_t length = byte < 0x80           ? 1
                             : (byte >> 5) == 0x6  ? 2
                             : (byte >> 4) == 0xE  ? 3
                             : (byte >> 3) == 0x1E ? 4
                                                   : 0;
        if (length == 0 || i + length > text.size()) {
            return false;
        }
        for (std::size_t k = 1; k < length; ++k) {
            if ((static_cast<unsigned char>(text[i + k]) >> 6) != 0x2) {
                return false;
            }
        }
        i += length;
    }
    return true;
}

// What an error may show of an untrusted key: printable ASCII, at most 60 characters.
std::string Shown(std::string_view key) {
    std::string shown;
    for (const char c : key.substr(0, 60)) {
        shown += (c >= 0x20 && c < 0x7f) ? c : '?';
    }
    return key.size() > 60 ? shown + "..." : shown;
}

}  // namespace

bool PercentDecode(std::string_view text, std::string& out) {
    out.clear();
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '+') {
            out += ' ';
        } else if (c == '%') {
            if (i + 2 >= text.size()) {
                return false;
            }
            const int high = HexValue(text[i + 1]);
            const int low = HexValue(text[i + 2]);
            if (high < 0 || low < 0) {
                return false;
            }
            out += static_cast<char>(high * 16 + low);
            i += 2;
        } else {
            out += c;
        }
    }
    return true;
}

std::vector<std::string> KeyPath(std::string_view key) {
    std::vector<std::string> path;
    const std::size_t open = key.find('[');
    path.emplace_back(key.substr(0, open));
    if (open == std::string_view::npos) {
        return key.find(']') == std::string_view::npos ? path : std::vector<std::string>{};
    }
    std::size_t at = open;
    while (at < key.size()) {
        if (key[at] != '[') {
            return {};
        }
        const std::size_t close = key.find(']', at);
        if (close == std::string_view::npos) {
            return {};
        }
        const std::string_view segment = key.substr(at + 1, close - at - 1);
        if (segment.find('[') != std::string_view::npos) {
            return {};
        }
        path.emplace_back(segment);
        at = close + 1;
    }
    return path;
}

Result<nlohmann::json> Parse(std::string_view body) {
    nlohmann::json root = nlohmann::json::object();
    std::size_t start = 0;
    while (start < body.size()) {
        std::size_t end = body.find('&', start);
        if (end == std::string_view::npos) {
            end = body.size();
        }
        const std::string_view pair = body.substr(start, end - start);
        start = end + 1;
        if (pair.empty()) {
            continue;
        }
        const std::size_t equals = pair.find('=');
        std::string key;
        std::string value;
        if (!PercentDecode(pair.substr(0, equals), key)) {
            return MakeError(ErrorCode::kInvalidInput, "{}: broken percent-encoding",
                             Shown(pair.substr(0, equals)));
        }
        if (equals != std::string_view::npos && !PercentDecode(pair.substr(equals + 1), value)) {
            return MakeError(ErrorCode::kInvalidInput, "{}: broken percent-encoding", Shown(key));
        }
        if (!IsValidUtf8(key) || !IsValidUtf8(value)) {
            return MakeError(ErrorCode::kInvalidInput, "{}: not UTF-8", Shown(key));
        }
        const std::vector<std::string> path = KeyPath(key);
        if (path.empty() || path.front().empty()) {
            return MakeError(ErrorCode::kInvalidInput, "{}: unbalanced brackets", Shown(key));
        }
        if (path.size() > kMaxDepth) {
            return MakeError(ErrorCode::kInvalidInput, "{}: nested too deep", Shown(key));
        }
        nlohmann::json* node = &root;
        for (std::size_t i = 0; i < path.size(); ++i) {
            std::string segment = path[i];
            if (segment.empty()) {
                segment = std::to_string(node->size());  // `a[]`: the next index
            }
            const bool last = i + 1 == path.size();
            nlohmann::json& child = (*node)[segment];
            if (last) {
                if (!child.is_object()) {  // a nested map wins over a scalar
                    child = value;
                }
            } else if (!child.is_object()) {
                child = nlohmann::json::object();
            }
            node = &child;
        }
    }
    return root;
}

}  // namespace fg::adapters::bitrix24::form
