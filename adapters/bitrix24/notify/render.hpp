#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "src/notify/message.hpp"

namespace fg::adapters::bitrix24::notify {

/// How long one notification may be, in code points of its MESSAGE (BB-code included).
/// Bitrix24 documents no limit (chat.md §3.3), but a notification balloon is read at a glance:
/// longer messages go out as several, split between blocks (violations).
struct RenderLimits {
    std::size_t max_chars = 4000;
};

/// One im.notify.system.add: MESSAGE in BB-code and MESSAGE_OUT, the same as plain text (what
/// Bitrix24 sends to e-mail and other external channels; chat.md §3.1 says to set it).
struct Notification {
    std::string message{};
    std::string message_out{};
};

/// `text` with `[` and `]` as the look-alike fullwidth brackets `［` and `］`: Bitrix24 has no
/// escape for BB-code (chat.md §3.3), so a deal title's `[URL=javascript:x]` or `[B]` must not
/// reach it as brackets.
std::string Neutralise(std::string_view text);

/// `url` as the target of a `[URL=...]`: http(s) only (anything else, `javascript:` included,
/// is no link), with `[`, `]`, spaces, quotes, controls and non-ASCII bytes percent-encoded so
/// it cannot close the tag. Empty when it cannot be a link.
std::string UrlTarget(std::string_view url);

/// `message` as BB-code: bold as [B]…[/B], links as [URL=…]…[/URL], blocks joined by [BR],
/// every span neutralised; then the buttons (a link button as a link, a callback button, which
/// Bitrix24 notifications cannot take, as a hint in `locale`, "ru" or "en") and the reference,
/// on the last part. Split between blocks into parts of at most `limits.max_chars`; a block over
/// the limit alone is cut between spans, and a span at a space, never inside a tag. At least
/// one part. Pure.
std::vector<Notification> Render(const fg::notify::Message& message, const std::string& locale,
                                 RenderLimits limits = {});

}  // namespace fg::adapters::bitrix24::notify
