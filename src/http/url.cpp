#include "src/http/url.hpp"

#include <algorithm>
#include <charconv>
#include <optional>
#include <utility>

#include <fmt/format.h>

#include "src/common/hex.hpp"

namespace fg::http {
namespace {

Error UrlProblem(std::string_view reason) {
    // The reason only: the URL itself may hold a password or a token.
    return Error{ErrorCode::kInvalidInput, std::string(reason)};
}

std::optional<std::string> PercentDecode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        if (i + 2 >= text.size()) {
            return std::nullopt;
        }
        const int high = HexDigitValue(text[i + 1]);
        const int low = HexDigitValue(text[i + 2]);
        if (high < 0 || low < 0) {
            return std::nullopt;
        }
        out += static_cast<char>(high * 16 + low);
        i += 2;
    }
    return out;
}

bool IsUrlHostChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
}

}  // namespace

std::string Url::Target() const { return (path.empty() ? "/" : path) + query; }

std::string Url::Authority() const { return fmt::format("{}:{}", host, port); }

Result<Url> ParseUrl(std::string_view text) {
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte <= 0x20 || byte >= 0x7f) {
            return UrlProblem(
                "must be ASCII without spaces or control characters (percent-encode the rest)");
        }
    }
    Url url;
    const auto separator = text.find("://");
    if (separator == std::string_view::npos) {
        return UrlProblem("must start with http:// or https://");
    }
    for (const char c : text.substr(0, separator)) {
        url.scheme += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    if (url.scheme != "http" && url.scheme != "https") {
        return UrlProblem("scheme must be http or https");
    }
    std::string_view rest = text.substr(separator + 3);
    rest = rest.substr(0, rest.find('#'));  // a fragment is never sent
    const auto authority_end = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, authority_end);
    const std::string_view target =
        authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
    const auto query = target.find('?');
    url.path = std::string(target.substr(0, query));
    url.query = query == std::string_view::npos ? std::string() : std::string(target.substr(query));

    if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
        const std::string_view userinfo = authority.substr(0, at);
        authority = authority.substr(at + 1);
        const auto colon = userinfo.find(':');
        auto user = PercentDecode(userinfo.substr(0, colon));
        auto password = PercentDecode(colon == std::string_view::npos ? std::string_view{}
                                                                      : userinfo.substr(colon + 1));
        if (!user || !password) {
            return UrlProblem("malformed percent-encoding in the userinfo");
        }
        url.user = std::move(*user);
        url.password = std::move(*password);
        url.has_userinfo = true;
    }
    if (!authority.empty() && authority.front() == '[') {
        return UrlProblem("IPv6 literal hosts are not supported; use a host name");
    }
    const auto colon = authority.rfind(':');
    const std::string_view host = authority.substr(0, colon);
    if (host.empty() || !std::all_of(host.begin(), host.end(), IsUrlHostChar)) {
        return UrlProblem(
            "the host is missing or has characters other than letters, digits, '.-_'");
    }
    url.host = std::string(host);
    url.port = url.https() ? 443 : 80;
    if (colon != std::string_view::npos) {
        const std::string_view port = authority.substr(colon + 1);
        int value = 0;
        const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (port.empty() || port.size() > 5 || ec != std::errc{} ||
            end != port.data() + port.size() || value < 1 || value > 65535) {
            return UrlProblem("the port must be a number from 1 to 65535");
        }
        url.port = value;
    }
    return url;
}

std::string LocationAuthority(std::string_view location) {
    if (location.empty()) {
        return "nowhere (no Location)";
    }
    const auto scheme = location.find("://");
    if (scheme == std::string_view::npos) {
        return "a path on the same host";
    }
    std::string_view authority = location.substr(scheme + 3);
    authority = authority.substr(0, authority.find_first_of("/?#"));
    if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
        authority = authority.substr(at + 1);
    }
    // Still the server's text: visible ASCII only, and short, for an error and a log line.
    constexpr std::size_t kMaxChars = 100;
    std::string out;
    for (const char c : authority.substr(0, kMaxChars)) {
        const auto byte = static_cast<unsigned char>(c);
        out += byte > 0x20 && byte < 0x7f ? c : '?';
    }
    if (authority.size() > kMaxChars) {
        out += "...";
    }
    return out.empty() ? "a path on the same host" : out;
}

}  // namespace fg::http
