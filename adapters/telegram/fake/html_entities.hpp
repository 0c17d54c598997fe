#pragma once

// What the fake Bot API makes of a text with parse_mode=HTML: the checks TDLib's parse_html
// applies (reference/chat.md §1.4), with its error texts, so that the notifier's escaping is
// tested against the rules the real server enforces.

#include <cstddef>
#include <string>
#include <string_view>

namespace fg::adapters::telegram::fake {

struct ParsedHtml {
    bool ok = false;
    std::string text{};   // the visible text: tags removed, entities decoded
    std::string error{};  // TDLib's words, e.g. `Unsupported start tag "br" at byte offset 4`
};

/// Parses `html` as TDLib does: the supported tags only (others fail), `<` outside a tag fails,
/// `&lt;` `&gt;` `&amp;` `&quot;` and numeric entities decoded (the `;` optional), any other `&`
/// kept as written, unknown attributes ignored. Pure.
ParsedHtml ParseHtml(std::string_view html);

/// Unicode code points of UTF-8 `text` (what "4096 characters" counts).
std::size_t CodePoints(std::string_view text);

}  // namespace fg::adapters::telegram::fake
