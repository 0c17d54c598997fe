#pragma once

#include <string>
#include <string_view>

#include "src/common/result.hpp"

namespace fg::http {

/// An absolute http(s) URL split into what an outbound client needs. The userinfo and the
/// query may be credentials (Basic auth, a token parameter) and the path may be one too (a
/// Slack-style webhook): none of them is ever repeated in an error.
struct Url {
    std::string scheme{};  // "http" or "https", lower-case
    bool has_userinfo = false;
    std::string user{};      // percent-decoded
    std::string password{};  // percent-decoded
    std::string host{};      // a name or an IPv4 address
    int port = 0;            // the scheme's default when the URL names none
    std::string path{};      // "" or starting with '/', as written
    std::string query{};     // "" or starting with '?', as written; the fragment is dropped

    bool https() const { return scheme == "https"; }
    /// The request-target of the URL itself: its path ("/" when empty) and query.
    std::string Target() const;
    /// "host:port": what an error may name.
    std::string Authority() const;
};

/// Parses `http://[user[:password]@]host[:port][/path][?query][#fragment]` (the scheme in any
/// case). kInvalidInput with a reason that never repeats the URL: it is not ASCII without
/// spaces or control characters, has another scheme, malformed percent-encoding in the
/// userinfo, an IPv6 literal (not supported), no host or one with other characters than
/// letters, digits and ".-_", or a port outside 1..65535. Pure.
Result<Url> ParseUrl(std::string_view text);

/// The "host[:port]" of a Location header, without userinfo, path or query (they may carry
/// secrets), made printable: what an error about a redirect may say. "a path on the same host"
/// for a relative Location, "nowhere (no Location)" for none.
std::string LocationAuthority(std::string_view location);

}  // namespace fg::http
