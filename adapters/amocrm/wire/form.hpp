#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "src/common/result.hpp"

namespace fg::adapters::amocrm::form {

/// Orders the keys of one level: decimal indices ("0", "1", "10") numerically and before any
/// other key; other keys bytewise. So `[0]..[10]` iterate in the order amoCRM numbered them.
struct KeyLess {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const;
};

/// One level of a PHP-bracket form: `leads[status][0][id]=1` is the path leads → status → 0 → id
/// with the value "1" at its end. A node normally holds either a value or children; a body that
/// gives both (`a=1&a[b]=2`) keeps both. Immutable after parsing; safe to read concurrently.
class Node {
public:
    using Children = std::map<std::string, std::unique_ptr<Node>, KeyLess>;

    bool has_value() const { return has_value_; }
    /// The decoded value; empty when there is none.
    const std::string& value() const { return value_; }
    const Children& children() const { return children_; }
    bool has_children() const { return !children_.empty(); }
    /// The child `key`, or nullptr.
    const Node* Find(std::string_view key) const;

private:
    friend class Builder;

    std::string value_{};
    bool has_value_ = false;
    Children children_{};
};

/// Deeper keys are refused (amoCRM's deepest has 7 levels).
inline constexpr std::size_t kMaxDepth = 16;

/// Parses an application/x-www-form-urlencoded body with PHP bracket keys, as amoCRM sends it.
/// `+` is a space; `%XX` a byte; a repeated key keeps its last value; `a[]` appends the next
/// index; empty pairs are skipped. Percent-decoded bytes are not checked for UTF-8 here: the
/// caller checks the values it uses. kInvalidInput with the offending key for broken
/// percent-encoding (`leads[status][0][name]: broken percent-encoding ("%D0%9")`), unbalanced
/// brackets or keys deeper than kMaxDepth. Linear in the body size (times the log of a level's
/// width).
Result<Node> Parse(std::string_view body);

/// Percent-decoding with `+` as a space; nullopt when a `%` is not followed by two hex digits.
std::optional<std::string> PercentDecode(std::string_view text);

bool IsValidUtf8(std::string_view text);

/// Untrusted bytes fit for an error message and a JSON string: at most `max_chars` code points
/// (then "..."), control characters and bytes that are not UTF-8 escaped as `\xNN`.
std::string Printable(std::string_view text, std::size_t max_chars = 80);

}  // namespace fg::adapters::amocrm::form
