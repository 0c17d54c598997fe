#include "adapters/telegram/fake/html_entities.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include <fmt/format.h>

namespace fg::adapters::telegram::fake {
namespace {

constexpr std::array<std::string_view, 17> kSupportedTags = {
    "a",   "b",    "strong",     "i",        "em",   "s",   "strike",     "del",    "u",
    "ins", "span", "tg-spoiler", "tg-emoji", "code", "pre", "blockquote", "tg-time"};

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool IsAttributeNameChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

std::string Lower(std::string_view text) {
    std::string lower(text);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return lower;
}

void AppendUtf8(std::string& out, std::uint32_t code) {
    if (code < 0x80) {
        out += static_cast<char>(code);
    } else if (code < 0x800) {
        out += static_cast<char>(0xC0 | (code >> 6));
        out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
        out += static_cast<char>(0xE0 | (code >> 12));
        out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (code >> 18));
        out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code & 0x3F));
    }
}

// TDLib's decode_html_entity: at `pos` (an '&'), the entity's text and its length, or nullopt
// when the '&' starts no entity and stays as written. The ';' is optional.
std::optional<std::pair<std::string, std::size_t>> DecodeEntity(std::string_view text,
                                                                std::size_t pos) {
    std::size_t end = pos + 1;
    std::string decoded;
    if (end < text.size() && text[end] == '#') {
        ++end;
        std::uint32_t code = 0;
        bool hex = false;
        if (end < text.size() && (text[end] == 'x' || text[end] == 'X')) {
            hex = true;
            ++end;
        }
        const std::size_t digits_begin = end;
        while (end < text.size() && end - digits_begin < 8) {
            const char c = text[end];
            int digit = -1;
            if (c >= '0' && c <= '9') {
                digit = c - '0';
            } else if (hex && c >= 'a' && c <= 'f') {
                digit = c - 'a' + 10;
            } else if (hex && c >= 'A' && c <= 'F') {
                digit = c - 'A' + 10;
            }
            if (digit < 0) {
                break;
            }
            code = code * (hex ? 16 : 10) + static_cast<std::uint32_t>(digit);
            ++end;
        }
        if (end == digits_begin || code == 0 || code > 0x10FFFF ||
            (code >= 0xD800 && code <= 0xDFFF)) {
            return std::nullopt;
        }
        AppendUtf8(decoded, code);
    } else {
        // The named entities are matched as prefixes: "R&ampD" reads as "R&D" (reference/chat.md
        // §1.4).
        constexpr std::array<std::pair<std::string_view, std::string_view>, 4> kNamed = {
            {{"quot", "\""}, {"amp", "&"}, {"lt", "<"}, {"gt", ">"}}};
        const std::string_view rest = text.substr(end);
        const auto named = std::find_if(kNamed.begin(), kNamed.end(), [&](const auto& entity) {
            return rest.substr(0, entity.first.size()) == entity.first;
        });
        if (named == kNamed.end()) {
            return std::nullopt;
        }
        decoded = std::string(named->second);
        end += named->first.size();
    }
    if (end < text.size() && text[end] == ';') {
        ++end;
    }
    return std::make_pair(std::move(decoded), end - pos);
}

struct OpenTag {
    std::string name{};
};

ParsedHtml Fail(std::string error) { return ParsedHtml{.ok = false, .text = {}, .error = error}; }

}  // namespace

std::size_t CodePoints(std::string_view text) {
    return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
        return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    }));
}

ParsedHtml ParseHtml(std::string_view html) {
    std::string text;
    std::vector<OpenTag> open;
    std::size_t i = 0;
    while (i < html.size()) {
        const char c = html[i];
        if (c == '&') {
            if (auto entity = DecodeEntity(html, i)) {
                text += entity->first;
                i += entity->second;
            } else {
                text += c;
                ++i;
            }
            continue;
        }
        if (c != '<') {
            text += c;
            ++i;
            continue;
        }
        const std::size_t begin = i;
        if (i + 1 < html.size() && html[i + 1] == '/') {
            i += 2;
            const std::size_t name_begin = i;
            while (i < html.size() && html[i] != '>') {
                ++i;
            }
            if (i == html.size()) {
                return Fail(fmt::format("Unclosed end tag at byte offset {}", begin));
            }
            std::string name = Lower(html.substr(name_begin, i - name_begin));
            while (!name.empty() && IsSpace(name.back())) {
                name.pop_back();
            }
            ++i;
            if (open.empty()) {
                return Fail(fmt::format("Unexpected end tag at byte offset {}", begin));
            }
            if (name != open.back().name) {
                return Fail(fmt::format(
                    "Unmatched end tag at byte offset {}, expected \"</{}>\", found \"</{}>\"",
                    begin, open.back().name, name));
            }
            open.pop_back();
            continue;
        }
        ++i;
        const std::size_t name_begin = i;
        while (i < html.size() && !IsSpace(html[i]) && html[i] != '>') {
            ++i;
        }
        if (i == html.size()) {
            return Fail(fmt::format("Unclosed start tag at byte offset {}", begin));
        }
        const std::string name = Lower(html.substr(name_begin, i - name_begin));
        if (std::find(kSupportedTags.begin(), kSupportedTags.end(), name) == kSupportedTags.end()) {
            return Fail(fmt::format("Unsupported start tag \"{}\" at byte offset {}", name, begin));
        }
        std::string span_class;
        while (true) {
            while (i < html.size() && IsSpace(html[i])) {
                ++i;
            }
            if (i == html.size()) {
                return Fail(fmt::format("Unclosed start tag at byte offset {}", begin));
            }
            if (html[i] == '>') {
                ++i;
                break;
            }
            const std::size_t attribute_begin = i;
            while (i < html.size() && IsAttributeNameChar(html[i])) {
                ++i;
            }
            const std::string attribute = Lower(html.substr(attribute_begin, i - attribute_begin));
            if (attribute.empty()) {
                return Fail(fmt::format("Empty attribute name in the tag \"{}\" at byte offset {}",
                                        name, begin));
            }
            while (i < html.size() && IsSpace(html[i])) {
                ++i;
            }
            if (i < html.size() && html[i] != '=') {
                continue;  // a value-less attribute, like `expandable`
            }
            ++i;
            while (i < html.size() && IsSpace(html[i])) {
                ++i;
            }
            if (i == html.size()) {
                return Fail(fmt::format("Unclosed start tag at byte offset {}", begin));
            }
            std::string value;
            if (html[i] == '"' || html[i] == '\'') {
                const char quote = html[i++];
                const std::size_t value_begin = i;
                while (i < html.size() && html[i] != quote) {
                    ++i;
                }
                if (i == html.size()) {
                    return Fail(fmt::format("Unclosed start tag at byte offset {}", begin));
                }
                value = std::string(html.substr(value_begin, i - value_begin));
                ++i;
            } else {
                const std::size_t value_begin = i;
                while (i < html.size() && !IsSpace(html[i]) && html[i] != '>') {
                    ++i;
                }
                value = std::string(html.substr(value_begin, i - value_begin));
            }
            if (attribute == "class") {
                span_class = value;
            }
        }
        if (name == "span" && span_class != "tg-spoiler") {
            return Fail(fmt::format("Tag \"span\" must have class \"tg-spoiler\" at byte offset {}",
                                    begin));
        }
        open.push_back(OpenTag{.name = name});
    }
    if (!open.empty()) {
        return Fail(
            fmt::format("Can't find end tag corresponding to start tag \"{}\"", open.back().name));
    }
    return ParsedHtml{.ok = true, .text = std::move(text), .error = {}};
}

}  // namespace fg::adapters::telegram::fake
