#include "adapters/slack/fake/mrkdwn_check.hpp"

#include <algorithm>

namespace fg::adapters::slack::fake {
namespace {

constexpr std::size_t kExcerpt = 40;

bool StartsWith(std::string_view text, std::string_view prefix) {
    return text.substr(0, prefix.size()) == prefix;
}

bool IsLinkUrl(std::string_view url) {
    const bool scheme =
        StartsWith(url, "http://") || StartsWith(url, "https://") || StartsWith(url, "mailto:");
    return scheme && url.size() > 8 && std::none_of(url.begin(), url.end(), [](char c) {
               return c == '<' || c == '|' || static_cast<unsigned char>(c) <= ' ';
           });
}

std::string Decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        if (StartsWith(text.substr(i), "&amp;")) {
            out += '&';
            i += 5;
        } else if (StartsWith(text.substr(i), "&lt;")) {
            out += '<';
            i += 4;
        } else if (StartsWith(text.substr(i), "&gt;")) {
            out += '>';
            i += 4;
        } else {
            out += text[i++];
        }
    }
    return out;
}

}  // namespace

MrkdwnReading ReadMrkdwn(std::string_view text) {
    MrkdwnReading reading;
    std::size_t plain_from = 0;
    for (std::size_t at = text.find('<'); at != std::string_view::npos; at = text.find('<', at)) {
        reading.plain += Decode(text.substr(plain_from, at - plain_from));
        const std::size_t close = text.find('>', at + 1);
        const std::size_t reopen = text.find('<', at + 1);
        if (close == std::string_view::npos ||
            (reopen != std::string_view::npos && reopen < close)) {
            // A lone '<': Slack shows it, or swallows what follows into a sequence.
            reading.unsafe.emplace_back(text.substr(at, kExcerpt));
            reading.plain += '<';
            plain_from = ++at;
            continue;
        }
        const std::string_view inside = text.substr(at + 1, close - at - 1);
        const std::size_t bar = inside.find('|');
        const std::string_view url = inside.substr(0, bar);
        if (IsLinkUrl(url)) {
            MrkdwnLink link{.url = std::string(url), .label = {}};
            link.label =
                bar == std::string_view::npos ? Decode(url) : Decode(inside.substr(bar + 1));
            reading.plain += link.label;
            reading.links.push_back(std::move(link));
        } else {
            reading.unsafe.emplace_back(text.substr(at, close - at + 1).substr(0, kExcerpt));
            reading.plain += Decode(text.substr(at, close - at + 1));
        }
        at = close + 1;
        plain_from = at;
    }
    reading.plain += Decode(text.substr(std::min(plain_from, text.size())));
    return reading;
}

}  // namespace fg::adapters::slack::fake
