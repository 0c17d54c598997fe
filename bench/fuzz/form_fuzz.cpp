// libFuzzer target: the amoCRM form decoder (adapters/amocrm/wire/form.cpp).
//
// Input: a request body. Checks, besides the sanitizers: a parsed tree has no empty node and no
// level deeper than kMaxDepth, and serializing it and parsing that again gives the same tree; an
// error is kInvalidInput with a printable message; Printable's output is UTF-8 without control
// characters and at most max_chars characters long (plus "..."); PercentDecode undoes
// percent-encoding of any bytes; IsValidUtf8 agrees with a check written from RFC 3629.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "adapters/amocrm/wire/form.hpp"
#include "bench/fuzz/support.hpp"

namespace {

namespace form = fg::adapters::amocrm::form;

bool IsUnreserved(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

std::string Encode(std::string_view text) {
    static constexpr std::string_view kHex = "0123456789ABCDEF";
    std::string out;
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (IsUnreserved(c)) {
            out += ch;
        } else if (c == ' ') {
            out += '+';
        } else {
            out += '%';
            out += kHex[c >> 4];
            out += kHex[c & 0x0F];
        }
    }
    return out;
}

// A tree as a body: one `key[a][b]=value` pair per node that has a value, brackets literal and
// everything else percent-encoded (the parser decodes a key before it looks for brackets).
void Serialize(const form::Node& node, const std::string& key, std::string& out) {
    if (node.has_value()) {
        out += key;
        out += '=';
        out += Encode(node.value());
        out += '&';
    }
    for (const auto& [name, child] : node.children()) {
        Serialize(*child, key.empty() ? Encode(name) : key + "[" + Encode(name) + "]", out);
    }
}

bool SameTree(const form::Node& a, const form::Node& b) {
    if (a.has_value() != b.has_value() || a.value() != b.value() ||
        a.children().size() != b.children().size()) {
        return false;
    }
    auto left = a.children().begin();
    auto right = b.children().begin();
    for (; left != a.children().end(); ++left, ++right) {
        if (left->first != right->first || !SameTree(*left->second, *right->second)) {
            return false;
        }
    }
    return true;
}

// Every node below the root holds a value or children; returns the depth of the deepest level.
std::size_t CheckShape(const form::Node& node, std::size_t depth) {
    std::size_t deepest = depth;
    for (const auto& [name, child] : node.children()) {
        FG_FUZZ_CHECK(!name.empty(), "an empty key in the tree");
        FG_FUZZ_CHECK(child->has_value() || child->has_children(), "a node with nothing: " + name);
        deepest = std::max(deepest, CheckShape(*child, depth + 1));
    }
    return deepest;
}

bool IsPrintable(std::string_view text) {
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c == 0x7F) {
            return false;
        }
    }
    return fg::fuzz::IsUtf8(text);
}

std::size_t CodePoints(std::string_view text) {
    std::size_t count = 0;
    for (const char ch : text) {
        count += (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
    }
    return count;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);

    auto parsed = form::Parse(body);
    if (parsed) {
        FG_FUZZ_CHECK(!parsed->has_value(), "the root has a value");
        FG_FUZZ_CHECK(CheckShape(*parsed, 0) <= form::kMaxDepth, "deeper than kMaxDepth");
        std::string again;
        Serialize(*parsed, "", again);
        auto reparsed = form::Parse(again);
        FG_FUZZ_CHECK(reparsed.has_value(), "the serialized tree does not parse: " + again + " → " +
                                                fg::fuzz::Describe(reparsed.error()));
        FG_FUZZ_CHECK(SameTree(*parsed, *reparsed),
                      "the serialized tree parses differently: " + again);
    } else {
        FG_FUZZ_CHECK(parsed.error().code == fg::ErrorCode::kInvalidInput,
                      fg::fuzz::Describe(parsed.error()));
        FG_FUZZ_CHECK(IsPrintable(parsed.error().message),
                      "unprintable message: " + parsed.error().message);
    }

    FG_FUZZ_CHECK(form::IsValidUtf8(body) == fg::fuzz::IsUtf8(body), "IsValidUtf8 disagrees");

    const std::size_t max_chars = size == 0 ? 0 : data[0] % 96;
    const std::string printable = form::Printable(body, max_chars);
    FG_FUZZ_CHECK(IsPrintable(printable), "Printable gave " + printable);
    // An escaped byte counts as one character but takes four (\xNN).
    FG_FUZZ_CHECK(CodePoints(printable) <= 4 * max_chars + 3,
                  "Printable is too long: " + printable);

    const auto decoded = form::PercentDecode(Encode(body));
    FG_FUZZ_CHECK(decoded.has_value() && *decoded == body, "PercentDecode(Encode(body)) != body");
    return 0;
}
