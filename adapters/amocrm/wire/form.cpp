#include "adapters/amocrm/wire/form.hpp"

#include <charconv>
#include <cstdint>

#include <fmt/format.h>

#include "src/common/hex.hpp"

namespace fg::adapters::amocrm::form {
namespace {

bool IsIndex(std::string_view key) {
    if (key.empty()) {
        return false;
    }
    for (const char c : key) {
        if (c < '0' || c > '9') {
            return false;
        }
    }
    return true;
}

// Decodes into `out`; returns the position of a broken escape, or npos when all is well. Runs
// without escapes are copied whole (keys are mostly "%5B...%5D", values mostly plain or %XX).
std::size_t DecodeInto(std::string_view text, std::string& out) {
    out.clear();
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        std::size_t run = i;
        while (run < text.size() && text[run] != '%' && text[run] != '+') {
            ++run;
        }
        out.append(text.data() + i, run - i);
        if (run == text.size()) {
            break;
        }
        if (text[run] == '+') {
            out += ' ';
            i = run + 1;
            continue;
        }
        const int high = run + 1 < text.size() ? HexDigitValue(text[run + 1]) : -1;
        const int low = run + 2 < text.size() ? HexDigitValue(text[run + 2]) : -1;
        if (high < 0 || low < 0) {
            return run;
        }
        out += static_cast<char>(high * 16 + low);
        i = run + 3;
    }
    return std::string_view::npos;
}

// The length of the valid UTF-8 sequence at text[i], or 0 (overlong forms, surrogates and code
// points above U+10FFFF are invalid).
std::size_t SequenceLength(std::string_view text, std::size_t i) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
    const unsigned char c = byte(0);
    if (c < 0x80) {
        return 1;
    }
    std::size_t length = 0;
    unsigned char low = 0x80;
    unsigned char high = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        length = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        length = 3;
        low = c == 0xE0 ? 0xA0 : 0x80;
        high = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
        length = 4;
        low = c == 0xF0 ? 0x90 : 0x80;
        high = c == 0xF4 ? 0x8F : 0xBF;
    } else {
        return 0;
    }
    if (i + length > text.size() || byte(1) < low || byte(1) > high) {
        return 0;
    }
    for (std::size_t k = 2; k < length; ++k) {
        if ((byte(k) & 0xC0) != 0x80) {
            return 0;
        }
    }
    return length;
}

// The broken escape at `at` as it appears in the body, for the error message.
std::string EscapeAt(std::string_view text, std::size_t at) {
    return Printable(text.substr(at, 3), 3);
}

}  // namespace

bool KeyLess::operator()(std::string_view a, std::string_view b) const {
    const bool a_index = IsIndex(a);
    const bool b_index = IsIndex(b);
    if (a_index != b_index) {
        return a_index;
    }
    if (a_index && a.size() != b.size()) {
        return a.size() < b.size();
    }
    return a < b;
}

const Node* Node::Find(std::string_view key) const {
    const auto found = children_.find(key);
    return found == children_.end() ? nullptr : found->second.get();
}

// Builds the tree; the only writer of Node.
class Builder {
public:
    static Node& Child(Node& parent, std::string_view key) {
        auto found = parent.children_.find(key);
        if (found == parent.children_.end()) {
            found = parent.children_.emplace(std::string(key), std::make_unique<Node>()).first;
        }
        return *found->second;
    }

    // `a[]`: one past the largest index so far (PHP's rule). Indices sort before every other
    // key and "" is the smallest of those, so the largest index sits just before it.
    static std::optional<Node*> Append(Node& parent) {
        std::uint64_t next = 0;
        const auto first_name = parent.children_.lower_bound(std::string_view{});
        if (first_name != parent.children_.begin()) {
            const std::string& last = std::prev(first_name)->first;
            const auto [end, error] = std::from_chars(last.data(), last.data() + last.size(), next);
            if (error != std::errc{} || next >= UINT32_MAX) {
                return std::nullopt;
            }
            ++next;
        }
        return &Child(parent, std::to_string(next));
    }

    static void SetValue(Node& node, std::string value) {
        node.value_ = std::move(value);
        node.has_value_ = true;
    }
};

Result<Node> Parse(std::string_view body) {
    Node root;
    std::string key;
    std::string value;
    while (!body.empty()) {
        const std::size_t amp = body.find('&');
        const std::string_view pair = body.substr(0, amp);
        body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
        if (pair.empty()) {
            continue;
        }
        const std::size_t eq = pair.find('=');
        const std::string_view raw_key = pair.substr(0, eq);
        const std::string_view raw_value =
            eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
        if (const std::size_t bad = DecodeInto(raw_key, key); bad != std::string_view::npos) {
            return MakeError(ErrorCode::kInvalidInput,
                             "key \"{}\": broken percent-encoding (\"{}\")", Printable(raw_key),
                             EscapeAt(raw_key, bad));
        }
        if (key.empty()) {
            continue;  // "=x": PHP drops it too
        }
        const std::size_t open = key.find('[');
        const std::string_view base = std::string_view(key).substr(0, open);
        if (base.empty()) {
            return MakeError(ErrorCode::kInvalidInput, "key \"{}\": no name before '['",
                             Printable(key));
        }
        Node* node = &Builder::Child(root, base);
        std::size_t depth = 1;
        std::size_t at = open;
        while (at != std::string::npos && at < key.size()) {
            const std::size_t close = key.find(']', at);
            if (key[at] != '[' || close == std::string::npos) {
                return MakeError(ErrorCode::kInvalidInput, "key \"{}\": unbalanced brackets",
                                 Printable(key));
            }
            if (++depth > kMaxDepth) {
                return MakeError(ErrorCode::kInvalidInput,
                                 "key \"{}\": nested deeper than {} levels", Printable(key),
                                 kMaxDepth);
            }
            const std::string_view segment = std::string_view(key).substr(at + 1, close - at - 1);
            if (segment.empty()) {
                const std::optional<Node*> appended = Builder::Append(*node);
                if (!appended) {
                    return MakeError(ErrorCode::kInvalidInput, "key \"{}\": index out of range",
                                     Printable(key));
                }
                node = *appended;
            } else {
                node = &Builder::Child(*node, segment);
            }
            at = close + 1;
        }
        if (const std::size_t bad = DecodeInto(raw_value, value); bad != std::string_view::npos) {
            return MakeError(ErrorCode::kInvalidInput, "{}: broken percent-encoding (\"{}\")",
                             Printable(key), EscapeAt(raw_value, bad));
        }
        Builder::SetValue(*node, value);
    }
    return root;
}

std::optional<std::string> PercentDecode(std::string_view text) {
    std::string out;
    if (DecodeInto(text, out) != std::string_view::npos) {
        return std::nullopt;
    }
    return out;
}

bool IsValidUtf8(std::string_view text) {
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t length = SequenceLength(text, i);
        if (length == 0) {
            return false;
        }
        i += length;
    }
    return true;
}

std::string Printable(std::string_view text, std::size_t max_chars) {
    std::string out;
    std::size_t chars = 0;
    for (std::size_t i = 0; i < text.size();) {
        if (chars == max_chars) {
            out += "...";
            break;
        }
        const std::size_t length = SequenceLength(text, i);
        const auto c = static_cast<unsigned char>(text[i]);
        if (length == 0 || c < 0x20 || c == 0x7F) {
            out += fmt::format("\\x{:02X}", c);
            ++i;
        } else {
            out.append(text.substr(i, length));
            i += length;
        }
        ++chars;
    }
    return out;
}

}  // namespace fg::adapters::amocrm::form
