#include "adapters/slack/render.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace fg::adapters::slack {
namespace {

bool IsContinuationByte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

std::size_t CodePointsOf(std::string_view text) {
    return static_cast<std::size_t>(
        std::count_if(text.begin(), text.end(), [](char c) { return !IsContinuationByte(c); }));
}

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
    return text.size() >= prefix.size() &&
           std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
               return std::tolower(static_cast<unsigned char>(a)) ==
                      std::tolower(static_cast<unsigned char>(b));
           });
}

// Slack shows *x* as bold only when the stars touch the text: spaces stay outside them.
std::string Bold(const std::string& mrkdwn) {
    const std::size_t first = mrkdwn.find_first_not_of(" \n");
    if (first == std::string::npos) {
        return mrkdwn;
    }
    const std::size_t last = mrkdwn.find_last_not_of(" \n");
    return mrkdwn.substr(0, first) + "*" + mrkdwn.substr(first, last - first + 1) + "*" +
           mrkdwn.substr(last + 1);
}

std::string Link(const std::string& url, const std::string& label_mrkdwn) {
    const std::string target = LinkTarget(url);
    if (target.empty()) {
        return label_mrkdwn;
    }
    if (label_mrkdwn.empty()) {
        return "<" + target + ">";
    }
    return "<" + target + "|" + label_mrkdwn + ">";
}

std::string RenderSpan(const notify::Span& span) {
    std::string mrkdwn = EscapeMrkdwn(span.text);
    if (!span.url.empty()) {
        // Leading and trailing spaces outside the link, so that neither the link nor the stars
        // around it start with one.
        const std::size_t first = mrkdwn.find_first_not_of(" \n");
        const std::size_t last = mrkdwn.find_last_not_of(" \n");
        std::string before;
        std::string after;
        if (first != std::string::npos) {
            before = mrkdwn.substr(0, first);
            after = mrkdwn.substr(last + 1);
            mrkdwn = mrkdwn.substr(first, last - first + 1);
        } else {
            mrkdwn.clear();
        }
        mrkdwn = before + Link(span.url, mrkdwn) + after;
    }
    return span.bold ? Bold(mrkdwn) : mrkdwn;
}

std::string RenderSpans(const std::vector<notify::Span>& spans) {
    std::string mrkdwn;
    for (const notify::Span& span : spans) {
        mrkdwn += RenderSpan(span);
    }
    return mrkdwn;
}

// Where to cut `text` so that its first part holds at most `budget` code points: after the last
// newline or space within them, else at the budget itself (on a character boundary).
std::size_t CutPoint(std::string_view text, std::size_t budget) {
    std::size_t bytes = 0;
    std::size_t points = 0;
    std::size_t last_break = 0;
    while (bytes < text.size() && points < budget) {
        std::size_t next = bytes + 1;
        while (next < text.size() && IsContinuationByte(text[next])) {
            ++next;
        }
        if (text[bytes] == '\n' || text[bytes] == ' ') {
            last_break = next;
        }
        bytes = next;
        ++points;
    }
    if (bytes >= text.size()) {
        return text.size();
    }
    return last_break > 0 ? last_break : bytes;
}

// Cuts a block's spans into pieces of at most `budget` code points of plain text; a span cut in
// two keeps its bold and its link on both sides, so each piece's markup is whole.
std::vector<std::vector<notify::Span>> CutSpans(const std::vector<notify::Span>& spans,
                                                std::size_t budget) {
    std::vector<std::vector<notify::Span>> pieces(1);
    std::size_t used = 0;
    for (const notify::Span& span : spans) {
        std::string_view rest = span.text;
        while (!rest.empty()) {
            const std::size_t room = budget - used;
            if (room == 0) {
                pieces.emplace_back();
                used = 0;
                continue;
            }
            const std::size_t take =
                CodePointsOf(rest) <= room ? rest.size() : CutPoint(rest, room);
            notify::Span piece = span;
            piece.text = std::string(rest.substr(0, take));
            used += CodePointsOf(piece.text);
            pieces.back().push_back(std::move(piece));
            rest.remove_prefix(take);
            if (!rest.empty()) {
                // Cut at a break: the rest starts the next piece, not the room left here.
                pieces.emplace_back();
                used = 0;
            }
        }
    }
    return pieces;
}

// A block as sections within `max_chars`: whole when it fits, else cut with a budget that
// shrinks until every piece's mrkdwn (entities and URLs included) fits.
std::vector<std::string> Sections(const std::vector<notify::Span>& spans, std::size_t max_chars) {
    std::string whole = RenderSpans(spans);
    if (CodePointsOf(whole) <= max_chars) {
        return {std::move(whole)};
    }
    for (std::size_t budget = max_chars; budget > 0; budget /= 2) {
        std::vector<std::string> sections;
        bool fits = true;
        for (const auto& piece : CutSpans(spans, budget)) {
            sections.push_back(RenderSpans(piece));
            fits = fits && CodePointsOf(sections.back()) <= max_chars;
        }
        if (fits) {
            return sections;
        }
    }
    return {std::move(whole)};  // a link whose URL alone is over a section: Slack says so
}

std::string CallbackHint(const std::string& label, const std::string& locale) {
    const std::string escaped = EscapeMrkdwn(label);
    return locale == "en" ? fmt::format("_{}: this button works in Telegram_", escaped)
                          : fmt::format("_{}: эта кнопка работает в Telegram_", escaped);
}

struct Item {
    std::string mrkdwn{};  // empty: a blank line in `text`, no block
    bool context = false;  // a small grey line (the reference) rather than a section
};

nlohmann::json BlockOf(const Item& item) {
    const nlohmann::json text = {{"type", "mrkdwn"}, {"text", item.mrkdwn}};
    if (item.context) {
        return {{"type", "context"}, {"elements", nlohmann::json::array({text})}};
    }
    return {{"type", "section"}, {"text", text}};
}

}  // namespace

std::string EscapeMrkdwn(std::string_view text) {
    std::string escaped;
    escaped.reserve(text.size());
    for (const char c : text) {
        switch (c) {
            case '&':
                escaped += "&amp;";
                break;
            case '<':
                escaped += "&lt;";
                break;
            case '>':
                escaped += "&gt;";
                break;
            default:
                escaped += c;
        }
    }
    return escaped;
}

std::string LinkTarget(std::string_view url) {
    if (!StartsWithNoCase(url, "https://") && !StartsWithNoCase(url, "http://") &&
        !StartsWithNoCase(url, "mailto:")) {
        return {};
    }
    std::string target;
    for (const char c : url) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '&') {
            target += "&amp;";
        } else if (byte <= 0x20 || byte >= 0x7F || c == '|' || c == '<' || c == '>' || c == '"') {
            target += fmt::format("%{:02X}", byte);
        } else {
            target += c;
        }
    }
    return target;
}

std::vector<Post> Render(const notify::Message& message, const std::string& locale,
                         PostLimits limits) {
    std::vector<Item> items;
    for (const notify::Block& block : message.blocks) {
        for (std::string& section : Sections(block.spans, limits.max_section_chars)) {
            items.push_back(Item{.mrkdwn = std::move(section), .context = false});
        }
    }
    std::vector<std::string> buttons;
    for (const notify::Button& button : message.buttons) {
        buttons.push_back(button.url.empty() ? CallbackHint(button.label, locale)
                                             : Link(button.url, EscapeMrkdwn(button.label)));
    }
    if (!buttons.empty()) {
        std::string line = fmt::format("{}", fmt::join(buttons, "   ·   "));
        items.push_back(Item{.mrkdwn = std::move(line), .context = false});
    }
    if (!message.reference.empty()) {
        items.push_back(Item{.mrkdwn = EscapeMrkdwn(message.reference), .context = true});
    }

    std::vector<Post> posts(1);
    std::size_t chars = 0;
    bool started = false;  // the current post holds an item (a blank line included)
    for (const Item& item : items) {
        const std::size_t size = CodePointsOf(item.mrkdwn);
        const bool full = posts.back().blocks.size() + 1 > limits.max_blocks ||
                          chars + size > limits.max_post_chars;
        if (started && full && !item.mrkdwn.empty()) {
            posts.emplace_back();
            chars = 0;
            started = false;
        }
        Post& post = posts.back();
        if (started) {
            post.text += '\n';
        }
        post.text += item.mrkdwn;
        started = true;
        if (!item.mrkdwn.empty()) {
            post.blocks.push_back(BlockOf(item));
            chars += size;
        }
    }
    return posts;
}

}  // namespace fg::adapters::slack
