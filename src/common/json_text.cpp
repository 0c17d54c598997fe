#include "src/common/json_text.hpp"

#include <array>
#include <charconv>
#include <cstdint>

namespace fg {
namespace {

// What a byte needs in a JSON string: 0 nothing (ASCII as is), 1 an escape, 2 a UTF-8 lead or
// continuation byte (validated as a sequence).
constexpr std::array<std::uint8_t, 256> kByteClass = [] {
    std::array<std::uint8_t, 256> table{};
    for (int c = 0; c < 0x20; ++c) {
        table[static_cast<std::size_t>(c)] = 1;
    }
    table['"'] = 1;
    table['\\'] = 1;
    for (int c = 0x80; c < 0x100; ++c) {
        table[static_cast<std::size_t>(c)] = 2;
    }
    return table;
}();

/// The length of the valid UTF-8 sequence at text[i] (a byte >= 0x80), or 0 when it is not one
/// (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
std::size_t Utf8SequenceAt(std::string_view text, std::size_t i) {
    const auto byte = [&text](std::size_t at) { return static_cast<unsigned char>(text[at]); };
    const unsigned char lead = byte(i);
    const auto in = [&](std::size_t at, unsigned char low, unsigned char high) {
        return at < text.size() && byte(at) >= low && byte(at) <= high;
    };
    if (lead >= 0xC2 && lead <= 0xDF) {
        return in(i + 1, 0x80, 0xBF) ? 2 : 0;
    }
    if (lead >= 0xE0 && lead <= 0xEF) {
        const unsigned char low = lead == 0xE0 ? 0xA0 : 0x80;
        const unsigned char high = lead == 0xED ? 0x9F : 0xBF;
        return in(i + 1, low, high) && in(i + 2, 0x80, 0xBF) ? 3 : 0;
    }
    if (lead >= 0xF0 && lead <= 0xF4) {
        const unsigned char low = lead == 0xF0 ? 0x90 : 0x80;
        const unsigned char high = lead == 0xF4 ? 0x8F : 0xBF;
        return in(i + 1, low, high) && in(i + 2, 0x80, 0xBF) && in(i + 3, 0x80, 0xBF) ? 4 : 0;
    }
    return 0;
}

void AppendEscape(std::string& out, unsigned char c) {
    switch (c) {
        case '"':
            out += "\\\"";
            return;
        case '\\':
            out += "\\\\";
            return;
        case '\b':
            out += "\\b";
            return;
        case '\t':
            out += "\\t";
            return;
        case '\n':
            out += "\\n";
            return;
        case '\f':
            out += "\\f";
            return;
        case '\r':
            out += "\\r";
            return;
        default: {
            constexpr char kHex[] = "0123456789abcdef";
            const char escape[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
            out.append(escape, sizeof escape);
        }
    }
}

template <typename Integer>
void AppendInteger(std::string& out, Integer value) {
    char buffer[24];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
    out.append(buffer, static_cast<std::size_t>(result.ptr - buffer));
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view text) {
    out.push_back('"');
    std::size_t run = 0;  // start of the bytes not yet appended, which need nothing
    std::size_t i = 0;
    while (i < text.size()) {
        const unsigned char c = static_cast<unsigned char>(text[i]);
        const std::uint8_t kind = kByteClass[c];
        if (kind == 0) {
            ++i;
            continue;
        }
        if (kind == 2) {
            const std::size_t length = Utf8SequenceAt(text, i);
            if (length == 0) {
                // Not UTF-8: the library reports it exactly as dump() does (type_error 316).
                static_cast<void>(nlohmann::json(text).dump());
            }
            i += length == 0 ? 1 : length;
            continue;
        }
        out.append(text.data() + run, i - run);
        AppendEscape(out, c);
        ++i;
        run = i;
    }
    out.append(text.data() + run, text.size() - run);
    out.push_back('"');
}

void AppendJson(std::string& out, const nlohmann::json& value) {
    using Type = nlohmann::json::value_t;
    switch (value.type()) {
        case Type::object: {
            out.push_back('{');
            bool first = true;
            for (const auto& [key, item] : value.get_ref<const nlohmann::json::object_t&>()) {
                if (!first) {
                    out.push_back(',');
                }
                first = false;
                AppendJsonString(out, key);
                out.push_back(':');
                AppendJson(out, item);
            }
            out.push_back('}');
            return;
        }
        case Type::array: {
            out.push_back('[');
            bool first = true;
            for (const nlohmann::json& item : value.get_ref<const nlohmann::json::array_t&>()) {
                if (!first) {
                    out.push_back(',');
                }
                first = false;
                AppendJson(out, item);
            }
            out.push_back(']');
            return;
        }
        case Type::string:
            AppendJsonString(out, value.get_ref<const std::string&>());
            return;
        case Type::boolean:
            out += value.get<bool>() ? "true" : "false";
            return;
        case Type::null:
            out += "null";
            return;
        case Type::number_integer:
            AppendInteger(out, value.get<std::int64_t>());
            return;
        case Type::number_unsigned:
            AppendInteger(out, value.get<std::uint64_t>());
            return;
        case Type::number_float:
        case Type::binary:
        case Type::discarded:
            break;
    }
    out += value.dump();  // floats and the rest: the library's own text
}

}  // namespace fg
