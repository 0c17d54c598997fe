#pragma once

#include <string>
#include <string_view>
#include <vector>

/// What the fake Slack reads out of a mrkdwn text (reference/chat.md §2.3): its links, what a
/// reader sees, and every `<` that opens anything but a link, which Slack would take as a control
/// sequence (`<!channel>`, `<@U024BE7LH>`) or show broken.
namespace fg::adapters::slack::fake {

struct MrkdwnLink {
    std::string url{};    // as written (entities not decoded)
    std::string label{};  // as a reader sees it (entities decoded); the URL when there is none
};

struct MrkdwnReading {
    std::vector<MrkdwnLink> links{};
    /// Links shown as their labels, `&amp;` `&lt;` `&gt;` decoded.
    std::string plain{};
    /// Each control sequence that is not a well-formed `<url|label>` / `<url>` (the URL http(s)
    /// or mailto, without spaces, `<` or `|`; the label without `<`), and each `<` that opens
    /// none, as written: "<!channel>", "< 3".
    std::vector<std::string> unsafe{};
};

/// Pure.
MrkdwnReading ReadMrkdwn(std::string_view text);

}  // namespace fg::adapters::slack::fake
