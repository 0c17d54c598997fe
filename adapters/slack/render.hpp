#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/notify/message.hpp"

namespace fg::adapters::slack {

/// One webhook post: a `text` that says everything on its own (the notification, and all that
/// Mattermost and Rocket.Chat show) and the same as Block Kit `blocks` for Slack.
struct Post {
    std::string text{};
    nlohmann::json blocks = nlohmann::json::array();
};

/// How big a post may be, in characters (code points) of mrkdwn: Slack takes 3000 a section and
/// 50 blocks, and refuses posts well under its documented limits (msg_blocks_too_long at about
/// 13.2k, chat.md §2.1), so a margin stays.
struct PostLimits {
    std::size_t max_section_chars = 2900;
    std::size_t max_blocks = 50;
    std::size_t max_post_chars = 11000;
};

/// `&`, `<` and `>` as entities, and only those (chat.md §2.3): this also keeps a `<!channel>`
/// in a deal title from becoming a mention.
std::string EscapeMrkdwn(std::string_view text);

/// `url` as the URL part of a `<url|label>`: http(s) or mailto only (anything else could open
/// another control sequence), `&` as `&amp;`, and `|`, `<`, `>`, spaces, controls and non-ASCII
/// bytes percent-encoded. Empty when it cannot be a link.
std::string LinkTarget(std::string_view url);

/// `message` as mrkdwn (bold as *x*, links as <url|label>), one section per block (a block over
/// a section is cut at a newline or a space, never inside an entity or a link), then the buttons
/// as one line of links (a callback button, which a webhook cannot take, as a hint in `locale`,
/// "ru" or "en") and the reference, split between blocks into posts within `limits`; buttons
/// and reference on the last. At least one post. Pure.
std::vector<Post> Render(const notify::Message& message, const std::string& locale,
                         PostLimits limits = {});

}  // namespace fg::adapters::slack
