#include "adapters/bitrix24/notify/render.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace fg::adapters::bitrix24::notify {
namespace {

constexpr std::string_view kBreak = "[BR]";

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
    if (text.size() < prefix.size()) {
        return false;
    }
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) {
            return false;
        }
    }
    return true;
}

std::size_t CodePoints(std::string_view text) {
    return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
        return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    }));
}

// The byte offset after `count` code points of `text` (its size when shorter).
std::size_t OffsetOf(std::string_view text, std::size_t count) {
    std::size_t seen = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
            if (seen == count) {
                return i;
            }
            ++seen;
        }
    }
    return text.size();
}

// A rendered piece of a block: BB-code and its plain text, never cut further.
struct Atom {
    std::string bb{};
    std::string plain{};
};

Atom AtomOf(std::string_view text, bool bold, const std::string& target) {
    Atom atom;
    atom.bb = Neutralise(text);
    atom.plain = std::string(text);
    if (!target.empty()) {
        atom.bb = fmt::format("[URL={}]{}[/URL]", target, atom.bb);
        atom.plain = fmt::format("{} ({})", atom.plain, target);
    }
    if (bold) {
        atom.bb = fmt::format("[B]{}[/B]", atom.bb);
    }
    return atom;
}

// The atoms of one span, its text cut at spaces so that each rendered atom fits `max_chars`.
void AppendSpan(const fg::notify::Span& span, std::size_t max_chars, std::vector<Atom>& out) {
    const std::string target = span.url.empty() ? std::string{} : UrlTarget(span.url);
    const Atom whole = AtomOf(span.text, span.bold, target);
    if (CodePoints(whole.bb) <= max_chars) {
        out.push_back(whole);
        return;
    }
    // Room for the text once the tags are around it; each neutralised bracket takes one.
    const std::size_t tags = CodePoints(AtomOf("", span.bold, target).bb);
    const std::size_t room = max_chars > tags + 16 ? max_chars - tags : 16;
    std::string_view rest = span.text;
    while (!rest.empty()) {
        std::size_t cut = OffsetOf(rest, room);
        if (cut < rest.size()) {
            const std::size_t space = rest.rfind(' ', cut);
            if (space != std::string_view::npos && space > cut / 2) {
                cut = space + 1;
            }
        }
        out.push_back(AtomOf(rest.substr(0, cut), span.bold, target));
        rest.remove_prefix(cut);
    }
}

std::string CallbackHint(const std::string& label, const std::string& locale) {
    return locale == "en" ? fmt::format("{}: this button works in Telegram", label)
                          : fmt::format("{}: эта кнопка работает в Telegram", label);
}

}  // namespace

std::string Neutralise(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        if (c == '[') {
            out += "\xEF\xBC\xBB";  // U+FF3B FULLWIDTH LEFT SQUARE BRACKET
        } else if (c == ']') {
            out += "\xEF\xBC\xBD";  // U+FF3D FULLWIDTH RIGHT SQUARE BRACKET
        } else {
            out += c;
        }
    }
    return out;
}

std::string UrlTarget(std::string_view url) {
    if (!StartsWithNoCase(url, "https://") && !StartsWithNoCase(url, "http://")) {
        return {};
    }
    std::string target;
    for (const char c : url) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte <= 0x20 || byte >= 0x7F || c == '[' || c == ']' || c == '"' || c == '\'' ||
            c == '<' || c == '>') {
            target += fmt::format("%{:02X}", byte);
        } else {
            target += c;
        }
    }
    return target;
}

std::vector<Notification> Render(const fg::notify::Message& message, const std::string& locale,
                                 RenderLimits limits) {
    const std::size_t max_chars = std::max<std::size_t>(limits.max_chars, 64);
    // One line per block, then the buttons' line and the reference.
    std::vector<std::vector<Atom>> lines;
    for (const fg::notify::Block& block : message.blocks) {
        std::vector<Atom>& line = lines.emplace_back();
        for (const fg::notify::Span& span : block.spans) {
            AppendSpan(span, max_chars, line);
        }
    }
    std::vector<Atom> buttons;
    for (const fg::notify::Button& button : message.buttons) {
        if (!buttons.empty()) {
            buttons.push_back(Atom{.bb = "   ·   ", .plain = "   ·   "});
        }
        const std::string target = button.url.empty() ? std::string{} : UrlTarget(button.url);
        if (!button.url.empty() && !target.empty()) {
            AppendSpan({.text = button.label, .bold = false, .url = button.url}, max_chars,
                       buttons);
        } else {
            AppendSpan({.text = CallbackHint(button.label, locale), .bold = false, .url = {}},
                       max_chars, buttons);
        }
    }
    if (!buttons.empty()) {
        lines.push_back(std::move(buttons));
    }
    if (!message.reference.empty()) {
        lines.emplace_back();
        AppendSpan({.text = message.reference, .bold = false, .url = {}}, max_chars, lines.back());
    }

    std::vector<Notification> parts(1);
    std::size_t chars = 0;
    bool line_open = false;  // the current part has begun a line
    for (const std::vector<Atom>& line : lines) {
        std::size_t line_size = 0;
        for (const Atom& atom : line) {
            line_size += CodePoints(atom.bb);
        }
        // A line that fits a part of its own is never cut: it starts the next part instead.
        if (chars > 0 && chars + kBreak.size() + line_size > max_chars && line_size <= max_chars) {
            parts.emplace_back();
            chars = 0;
            line_open = false;
        }
        bool first_atom = true;
        for (const Atom& atom : line) {
            const std::size_t size = CodePoints(atom.bb);
            const std::size_t separator = first_atom && line_open ? kBreak.size() : 0;
            if (chars > 0 && chars + separator + size > max_chars) {
                parts.emplace_back();
                chars = 0;
                line_open = false;
            }
            Notification& part = parts.back();
            if (first_atom && line_open) {
                part.message += kBreak;
                part.message_out += '\n';
                chars += kBreak.size();
            }
            part.message += atom.bb;
            part.message_out += atom.plain;
            chars += size;
            line_open = true;
            first_atom = false;
        }
        if (line.empty() && line_open) {
            // An empty block is a blank line.
            parts.back().message += kBreak;
            parts.back().message_out += '\n';
            chars += kBreak.size();
        }
    }
    return parts;
}

}  // namespace fg::adapters::bitrix24::notify
