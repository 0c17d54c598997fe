#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "src/notify/message.hpp"

namespace fg::adapters::telegram {

/// One sendMessage's text: as Telegram HTML, and the same as plain text (the fallback when
/// Telegram cannot parse the HTML after all).
struct Part {
    std::string html{};
    std::string plain{};
};

/// How long a part may be: its visible text in code points (Telegram counts 4096 after tags
/// are removed; a margin stays for what Telegram counts differently), its HTML in bytes (32 KiB).
struct PartLimits {
    std::size_t max_code_points = 3900;
    std::size_t max_html_bytes = 30000;
};

/// `&` first, then `<` and `>`: every value a message interpolates (reference/chat.md §4.5).
std::string EscapeHtml(std::string_view text);
/// The same and `"`, for an attribute value (href).
std::string EscapeAttribute(std::string_view text);

/// `message` as Telegram HTML (bold as <b>, links as <a href>), one line per block and the
/// reference last, split between blocks into parts within `limits`; a block alone over them is
/// cut at a newline or a space (at a character otherwise), never inside a tag or an entity. At
/// least one part. Pure.
std::vector<Part> Render(const notify::Message& message, PartLimits limits = {});

}  // namespace fg::adapters::telegram
