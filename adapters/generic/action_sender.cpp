#include "adapters/generic/action_sender.hpp"

#include <algorithm>
#include <charconv>
#include <exception>
#include <optional>
#include <utility>

#include <fmt/format.h>
#include <httplib.h>

#include "adapters/generic/safe_text.hpp"
#include "src/common/hex.hpp"
#include "src/outbox/action_codec.hpp"
#include "src/outbox/retry.hpp"
#include "src/tls/https_client.hpp"

namespace fg::adapters::generic {
namespace {

struct ParsedUrl {
    std::string scheme{};  // "http" or "https"
    std::string user{};
    std::string password{};
    bool has_userinfo = false;
    std::string host{};
    int port = 0;
    std::string target{};  // "/path?query", never empty
};

Error UrlError(std::string_view reason) {
    // The reason only: the URL itself may hold a password or a token.
    return MakeError(ErrorCode::kInvalidInput, "actions_url: {}", reason);
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

bool IsHostChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
}

Result<ParsedUrl> ParseUrl(std::string_view url) {
    for (const char c : url) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte <= 0x20 || byte >= 0x7f) {
            return UrlError(
                "must be ASCII without spaces or control characters (percent-encode the rest)");
        }
    }
    ParsedUrl out;
    const auto separator = url.find("://");
    if (separator == std::string_view::npos) {
        return UrlError("must start with http:// or https://");
    }
    for (const char c : url.substr(0, separator)) {
        out.scheme += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    if (out.scheme != "http" && out.scheme != "https") {
        return UrlError("scheme must be http or https");
    }
    std::string_view rest = url.substr(separator + 3);
    rest = rest.substr(0, rest.find('#'));  // a fragment is never sent
    const auto authority_end = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, authority_end);
    const std::string_view target =
        authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);

    if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
        const std::string_view userinfo = authority.substr(0, at);
        authority = authority.substr(at + 1);
        const auto colon = userinfo.find(':');
        auto user = PercentDecode(userinfo.substr(0, colon));
        auto password = PercentDecode(colon == std::string_view::npos ? std::string_view{}
                                                                      : userinfo.substr(colon + 1));
        if (!user || !password) {
            return UrlError("malformed percent-encoding in the userinfo");
        }
        out.user = std::move(*user);
        out.password = std::move(*password);
        out.has_userinfo = true;
    }
    if (!authority.empty() && authority.front() == '[') {
        return UrlError("IPv6 literal hosts are not supported; use a host name");
    }
    const auto colon = authority.rfind(':');
    const std::string_view host = authority.substr(0, colon);
    if (host.empty() || !std::all_of(host.begin(), host.end(), IsHostChar)) {
        return UrlError("the host is missing or has characters other than letters, digits, '.-_'");
    }
    out.host = std::string(host);
    out.port = out.scheme == "https" ? 443 : 80;
    if (colon != std::string_view::npos) {
        const std::string_view port = authority.substr(colon + 1);
        int value = 0;
        const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (port.empty() || port.size() > 5 || ec != std::errc{} ||
            end != port.data() + port.size() || value < 1 || value > 65535) {
            return UrlError("the port must be a number from 1 to 65535");
        }
        out.port = value;
    }
    out.target =
        target.empty() || target.front() == '?' ? "/" + std::string(target) : std::string(target);
    return out;
}

// A header value must not carry CR or LF (request splitting); httplib 0.11.4 does not check.
// Idempotency keys embed CRM ids, which come from webhooks, so encode everything but visible
// ASCII. The encoding is deterministic, so the key stays stable across attempts.
std::string HeaderSafe(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (const char c : value) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte > 0x20 && byte < 0x7f && c != '%') {
            out += c;
        } else {
            out += fmt::format("%{:02X}", byte);
        }
    }
    return out;
}

bool IsRetryableStatus(int status) { return status == 408 || status == 429 || status >= 500; }

// Where a redirect pointed, for the error message: its host only.
std::string LocationHost(std::string_view location) {
    const std::string_view authority = tls::LocationAuthority(location);
    return authority.empty() ? "a path on the same host" : SafeText(authority, 100);
}

struct Peer {
    const std::string& host;
    int port;
};

outbox::DeliveryResult Send(httplib::Client& client, const std::string& target,
                            const outbox::Action& action, const Clock& clock, const Peer& peer) {
    using outbox::DeliveryStatus;
    const httplib::Headers headers = {
        {"Idempotency-Key", HeaderSafe(action.idempotency_key())},
        {"X-Funnelguard-Attempt", std::to_string(action.attempt)},
    };
    const httplib::Result response =
        client.Post(target, headers, outbox::EncodeAction(action.body), "application/json");
    if (!response) {
        // Where and why ("127.0.0.1:9000: cannot connect: connection refused") or the
        // certificate's problem with the host, never the URL's path, query or userinfo.
        return {.status = DeliveryStatus::kRetry,
                .error = tls::DescribeFailure(client, response.error(), peer.host, peer.port)};
    }
    const int status = response->status;
    if (status >= 200 && status < 300) {
        return {.status = DeliveryStatus::kDelivered};
    }
    if (status >= 300 && status < 400) {
        const std::string location = response->get_header_value("Location");
        return {.status = DeliveryStatus::kRejected,
                .error = fmt::format("HTTP {}: a redirect to {}, not followed (actions go to "
                                     "actions_url only)",
                                     status,
                                     location.empty() ? std::string("nowhere (no Location)")
                                                      : LocationHost(location))};
    }
    std::string error = fmt::format("HTTP {}: {}", status, SafeText(response->body, 200));
    if (!IsRetryableStatus(status)) {
        return {.status = DeliveryStatus::kRejected, .error = std::move(error)};
    }
    std::optional<Duration> retry_after;
    if (response->has_header("Retry-After")) {
        retry_after =
            outbox::ParseRetryAfter(response->get_header_value("Retry-After"), clock.Now());
    }
    // A rate limit refuses before the receiver does anything: the write did not land.
    return {.status = DeliveryStatus::kRetry,
            .retry_after = retry_after,
            .error = std::move(error),
            .not_sent = status == 429};
}

const Clock& DefaultClock() {
    static const SystemClock clock;
    return clock;
}

}  // namespace

ActionSender::ActionSender(std::string_view actions_url, Duration connect_timeout,
                           Duration read_timeout, const Clock* clock)
    : ActionSender(actions_url, SenderOptions{.connect_timeout = connect_timeout,
                                              .read_timeout = read_timeout,
                                              .clock = clock}) {}

ActionSender::ActionSender(std::string_view actions_url, SenderOptions options)
    : clock_(options.clock != nullptr ? options.clock : &DefaultClock()) {
    const Duration connect_timeout = options.connect_timeout;
    const Duration read_timeout = options.read_timeout;
    auto url = ParseUrl(actions_url);
    if (!url) {
        setup_error_ = url.error().message;
        return;
    }
    target_ = url->target;
    host_ = url->host;
    port_ = url->port;
    if (!options.ca_file.empty()) {
        if (url->scheme != "https") {
            setup_error_ = "actions_url: ca_file is for an https:// URL; this one is http://";
            return;
        }
        auto extra = tls::CaCertificates::Load(options.ca_file);
        if (!extra) {
            setup_error_ = "actions_url: ca_file: " + extra.error().message;
            setup_retryable_ = true;
            return;
        }
        extra_ca_ = std::move(*extra);
    }
    try {
        client_ = std::make_unique<httplib::Client>(
            fmt::format("{}://{}:{}", url->scheme, url->host, url->port));
    } catch (const std::exception&) {
        // httplib throws std::invalid_argument for a scheme it was built without (https).
        setup_error_ = fmt::format("actions_url: {} is not supported by this build", url->scheme);
        return;
    }
    if (!client_->is_valid()) {
        client_.reset();
        setup_error_ = fmt::format("actions_url: {} is not supported by this build", url->scheme);
        return;
    }
    client_->set_connection_timeout(static_cast<time_t>(connect_timeout.count()), 0);
    client_->set_read_timeout(static_cast<time_t>(read_timeout.count()), 0);
    client_->set_write_timeout(static_cast<time_t>(read_timeout.count()), 0);
    // Without TCP_NODELAY, 0.11.4 stalls about 40 ms per keep-alive request (Nagle vs delayed
    // ACK; reliability.md key finding 3a).
    client_->set_tcp_nodelay(true);
    client_->set_keep_alive(true);
    if (url->has_userinfo) {
        client_->set_basic_auth(url->user, url->password);
    }
    // No redirects (one could take the payload and the Basic credentials elsewhere);
    // certificates verified.
    if (!tls::Secure(*client_, host_, extra_ca_.get())) {
        client_.reset();
        setup_error_ = "actions_url: ca_file: its certificates cannot be added (out of memory)";
        setup_retryable_ = true;
    }
}

ActionSender::~ActionSender() = default;

Result<void> ActionSender::ValidateUrl(std::string_view url) {
    auto parsed = ParseUrl(url);
    if (!parsed) {
        return parsed.error();
    }
    return Ok{};
}

outbox::DeliveryResult ActionSender::Deliver(const outbox::Action& action) {
    if (!client_) {
        return {.status = setup_retryable_ ? outbox::DeliveryStatus::kRetry
                                           : outbox::DeliveryStatus::kRejected,
                .error = setup_error_};
    }
    try {
        return Send(*client_, target_, action, *clock_, Peer{.host = host_, .port = port_});
    } catch (const std::exception& error) {
        // httplib reports failures as values; this is the adapter's boundary all the same.
        return {.status = outbox::DeliveryStatus::kRetry,
                .error = fmt::format("transport error: {}", SafeText(error.what(), 200))};
    }
}

}  // namespace fg::adapters::generic
