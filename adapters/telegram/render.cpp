#include "adapters/telegram/render.hpp"

#include <algorithm>

namespace fg::adapters::telegram {
namespace {

bool IsContinuationByte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

std::size_t CodePointsOf(std::string_view text) {
    return static_cast<std::size_t>(
        std::count_if(text.begin(), text.end(), [](char c) { return !IsContinuationByte(c); }));
}

std::string RenderSpan(const notify::Span& span) {
    std::string html = EscapeHtml(span.text);
    if (span.bold) {
        html = "<b>" + html + "</b>";
    }
    if (!span.url.empty()) {
        html = "<a href=\"" + EscapeAttribute(span.url) + "\">" + html + "</a>";
    }
    return html;
}

struct RenderedBlock {
    std::string html{};
    std::string plain{};
    std::size_t code_points = 0;
};

RenderedBlock RenderBlock(const std::vector<notify::Span>& spans) {
    RenderedBlock block;
    for (const notify::Span& span : spans) {
        block.html += RenderSpan(span);
        block.plain += span.text;
    }
    block.code_points = CodePointsOf(block.plain);
    return block;
}

// Where to cut `text` so that its first part holds at most `budget` code points: after the last
// newline or space within them, else at the budget itself (on a character boundary). Returns a
// byte offset, > 0 when budget > 0.
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

// Cuts one block's spans into pieces of at most `budget` visible code points each; a span cut in
// two keeps its bold and its link on both sides, so every piece closes its own tags.
std::vector<std::vector<notify::Span>> CutBlock(const std::vector<notify::Span>& spans,
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
            std::size_t take = CodePointsOf(rest) <= room ? rest.size() : CutPoint(rest, room);
            // A break found only near the start of a span would waste the piece: prefer to start
            // a new piece when this one already holds text.
            if (take < rest.size() && used > 0 && CodePointsOf(rest.substr(0, take)) < room / 2) {
                pieces.emplace_back();
                used = 0;
                continue;
            }
            notify::Span piece = span;
            piece.text = std::string(rest.substr(0, take));
            used += CodePointsOf(piece.text);
            pieces.back().push_back(std::move(piece));
            rest.remove_prefix(take);
        }
    }
    return pieces;
}

// Blocks that fit a part: a block over the limits is cut until each piece fits (the HTML limit
// can bind first when links are long, so the budget shrinks until it does).
std::vector<RenderedBlock> FittingBlocks(const std::vector<notify::Span>& spans,
                                         const PartLimits& limits) {
    RenderedBlock whole = RenderBlock(spans);
    if (whole.code_points <= limits.max_code_points && whole.html.size() <= limits.max_html_bytes) {
        return {std::move(whole)};
    }
    for (std::size_t budget = limits.max_code_points; budget > 0; budget /= 2) {
        std::vector<RenderedBlock> blocks;
        bool fits = true;
        for (const auto& piece : CutBlock(spans, budget)) {
            blocks.push_back(RenderBlock(piece));
            fits = fits && blocks.back().html.size() <= limits.max_html_bytes;
        }
        if (fits) {
            return blocks;
        }
    }
    return {std::move(whole)};  // unreachable for sane limits: Telegram will say what is wrong
}

}  // namespace

std::string EscapeHtml(std::string_view text) {
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

std::string EscapeAttribute(std::string_view text) {
    std::string escaped;
    for (const char c : EscapeHtml(text)) {
        if (c == '"') {
            escaped += "&quot;";
        } else {
            escaped += c;
        }
    }
    return escaped;
}

std::vector<Part> Render(const notify::Message& message, PartLimits limits) {
    std::vector<RenderedBlock> blocks;
    for (const notify::Block& block : message.blocks) {
        for (RenderedBlock& fitting : FittingBlocks(block.spans, limits)) {
            blocks.push_back(std::move(fitting));
        }
    }
    if (!message.reference.empty()) {
        blocks.push_back(RenderBlock({notify::Span{.text = message.reference}}));
    }
    std::vector<Part> parts;
    std::size_t points = 0;
    for (RenderedBlock& block : blocks) {
        const bool fits = !parts.empty() &&
                          points + 1 + block.code_points <= limits.max_code_points &&
                          parts.back().html.size() + 1 + block.html.size() <= limits.max_html_bytes;
        if (fits) {
            parts.back().html += '\n' + block.html;
            parts.back().plain += '\n' + block.plain;
            points += 1 + block.code_points;
        } else {
            parts.push_back(Part{.html = std::move(block.html), .plain = std::move(block.plain)});
            points = block.code_points;
        }
    }
    if (parts.empty()) {
        parts.emplace_back();
    }
    return parts;
}

}  // namespace fg::adapters::telegram
