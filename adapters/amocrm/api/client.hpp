#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/amocrm/api/oauth.hpp"
#include "src/common/clock.hpp"
#include "src/common/result.hpp"
#include "src/common/time.hpp"
#include "src/http/client.hpp"
#include "src/outbox/retry.hpp"

namespace fg::adapters::amocrm {

/// How to reach one amoCRM account. Secrets (token, client_secret) are never logged or
/// repeated in errors.
struct ClientOptions {
    std::string tenant{};     // for log lines only
    std::string base_url{};   // "http(s)://host[:port][/prefix]"; wins over subdomain (tests, sim)
    std::string subdomain{};  // otherwise https://{subdomain}.amocrm.ru
    /// PEM certificates of a private CA, trusted besides the system store (https only).
    std::string ca_file{};
    std::string token{};                // a long-lived token; when set, OAuth is not used
    std::optional<OAuthApp> oauth{};    // OAuth 2.0; tokens come from token_store
    TokenStore* token_store = nullptr;  // must outlive the client
    const Clock* clock = nullptr;       // nullptr: the system clock; must outlive the client
    double rps = 6;                     // amoCRM allows 7 per second
    /// Added to the limiter's one-second window, so that jitter between here and amoCRM cannot
    /// squeeze rps+1 requests into one of its seconds.
    std::chrono::milliseconds rate_guard{50};
    Duration connect_timeout{5};
    Duration read_timeout{20};
    int max_attempts = 5;          // per read (or otherwise retryable) call, the first included
    Duration backoff_base{1};      // full-jitter backoff between those attempts...
    Duration backoff_cap{30};      // ...capped here
    Duration max_retry_wait{60};   // a longer Retry-After ends the call instead (kUnavailable)
    Duration refresh_margin{300};  // refresh an OAuth access token this long before it expires
    /// Waits between retries (not the rate limiter's pacing, which always uses real time).
    /// Empty: std::this_thread::sleep_for. Tests record the waits instead of sleeping.
    std::function<void(std::chrono::milliseconds)> sleep{};
};

/// One API call. `target` is the path and query ("/api/v4/leads?page=2"), relative to the base.
struct ApiRequest {
    std::string method = "GET";  // GET, POST, PATCH or DELETE
    std::string target{};
    std::string body{};     // JSON; sent with Content-Type: application/json when not empty
    bool retry = true;      // retry 408/429/5xx and transport failures inside the call
    bool authorize = true;  // send the Bearer token (false for the OAuth token endpoint)
    /// A 403 here means "no rights for this resource" (GET /api/v4/users needs an admin), never
    /// an account block.
    bool forbidden_means_no_rights = false;
    std::vector<std::string> redact{};  // more secrets to keep out of errors (a hook URL)
};

/// Any HTTP answer (2xx or not). Transport failures, a 401 and a blocked account are errors.
struct ApiResponse {
    int status = 0;
    std::string body{};
    std::optional<Duration> retry_after{};  // Retry-After header or JSON `retry_after`
    std::string location{};                 // a 3xx's Location header; never followed
};

/// One page of a list: `_embedded.<key>` and where `_links.next` points (its path and query).
/// A 204, an empty body or an empty list is the end: `next` is then empty.
struct Page {
    std::vector<nlohmann::json> items{};
    std::optional<std::string> next{};
};

/// Paces every request of one account, whoever makes it: a token bucket (outbox::RateLimiter,
/// `rps` per second, burst 1) spaces requests 1/rps apart, and a sliding window lets at most
/// max(1, floor(rps)) requests start in any window of 1 s plus `guard` (so that scheduling and
/// network jitter cannot squeeze rps+1 requests into one second at the CRM). Thread-safe.
class AccountLimiter {
public:
    explicit AccountLimiter(double rps,
                            std::chrono::milliseconds guard = std::chrono::milliseconds{50});
    /// Blocks (real time) until a request may start.
    void Acquire();
    /// The account answered 429: it counts more than this limiter does (other clients, a
    /// lower limit). No request of any caller starts for one window, so the account's window
    /// empties instead of every caller's next request being refused too.
    void HoldAfterRefusal();

private:
    outbox::RateLimiter bucket_;
    std::mutex mutex_;
    std::deque<std::chrono::steady_clock::time_point> starts_;
    std::size_t window_count_;
    std::chrono::steady_clock::duration window_;
    std::chrono::steady_clock::time_point held_until_{};
};

/// The API client of one amoCRM account, shared by its reader, writer and webhook registration.
/// Thread-safe: one limiter, one OAuth session and one http::Client (its keep-alive connection
/// pool) for all callers.
///
/// Behaviour: requests go out no faster than `rps`; with `ApiRequest::retry`, 408/429/5xx and
/// transport failures are retried up to `max_attempts` with capped full-jitter backoff, or
/// after the server's Retry-After / `retry_after` when it gives one (HTML 429 bodies give none).
/// A 401 refreshes an OAuth token once and repeats the request. A 403 whose body is not a JSON
/// answer (amoCRM's block page is nginx HTML) or that speaks of a block marks the account
/// blocked: it is logged once as an error, and every later call fails fast with kUnavailable
/// until a restart. Errors name the method and path, never the query, the body or a secret.
///
/// Transport (http::Client): https verifies the certificate chain (system store plus `ca_file`)
/// and the host name; a failure is kUnavailable "certificate verify failed: <reason>", is not
/// retried inside the call (a certificate does not fix itself within a minute) and sends
/// nothing. Plain http is accepted for a loopback host only (a simulator, a local proxy): a
/// token never crosses a network unencrypted. A 3xx is never followed: the token and the body
/// go to base_url's host or nowhere.
class Client {
public:
    explicit Client(ClientOptions options);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    /// kInvalidInput when the address, ca_file or credentials cannot work; the reason names the
    /// option.
    static Result<void> Validate(const ClientOptions& options);

    Result<ApiResponse> Execute(const ApiRequest& request);
    /// The same, and whether amoCRM certainly did nothing with the request (a write needs no
    /// check before it goes again): every attempt failed before a byte was sent (no
    /// connection, TLS refused, blocked, no token) or was refused unprocessed (429, 401).
    Result<ApiResponse> Execute(const ApiRequest& request, bool& not_sent);

    /// GET with retries; a 2xx body as JSON (204 or an empty body: null). Other statuses:
    /// 401 kUnauthorized, 403 kUnauthorized ("no rights"), 404 kNotFound, 408/429/5xx
    /// kUnavailable, other 4xx kInvalidInput.
    Result<nlohmann::json> GetJson(const std::string& target);
    /// One page of a list endpoint whose items sit in `_embedded.<key>`.
    Result<Page> GetPage(const std::string& target, std::string_view key,
                         bool forbidden_means_no_rights = false);
    /// Every page, following `_links.next` until a 204, an empty page or no `next`.
    Result<std::vector<nlohmann::json>> GetAll(const std::string& target, std::string_view key,
                                               int max_pages = 10000,
                                               bool forbidden_means_no_rights = false);

    /// Exchanges an authorization code and saves the tokens (see AuthorizeWithCode).
    Result<void> ExchangeCode(std::string_view code);

    /// Empty while the account can be called; otherwise why not.
    std::string Blocked() const;
    const Clock& clock() const { return *clock_; }
    const std::string& tenant() const { return options_.tenant; }

    /// `text` with every known secret replaced by "[redacted]".
    std::string Redact(std::string_view text, const std::vector<std::string>& extra = {}) const;
    /// The error for a non-2xx answer, classified as GetJson documents; a 3xx is kInvalidInput
    /// naming the status and the Location's host.
    Error StatusError(const ApiRequest& request, const ApiResponse& response) const;

private:
    /// What one attempt learnt besides its result.
    struct Attempt {
        bool no_retry = false;  // the failure must not be retried inside the call
        bool not_sent = false;  // amoCRM certainly did nothing with it
    };
    Result<ApiResponse> ExecuteOnce(const ApiRequest& request, Attempt& attempt);
    Result<ApiResponse> Exchange(const ApiRequest& request, const std::string& token,
                                 Attempt& attempt);
    Result<std::string> AccessToken();
    Result<void> RefreshAfterUnauthorized(const std::string& rejected_token);
    Result<void> RefreshLocked();
    Result<void> RequestTokens(std::string_view grant, const std::string& value);
    void MarkBlocked(const std::string& reason);
    void Wait(Duration wait);

    ClientOptions options_;
    const Clock* clock_;
    std::unique_ptr<http::Client> http_;  // null when setup_error_ says why
    std::string setup_error_;
    AccountLimiter limiter_;

    std::mutex oauth_mutex_;  // serializes refreshes
    std::optional<OAuthTokens> tokens_;
    mutable std::mutex secrets_mutex_;
    std::vector<std::string> known_secrets_;  // tokens seen so far, for Redact

    mutable std::mutex blocked_mutex_;
    std::string blocked_;
    std::atomic<bool> is_blocked_{false};

    std::mutex random_mutex_;
    std::mt19937_64 random_;
};

/// The path and query of a `_links` href ("https://x.amocrm.ru/api/v4/leads?page=2" ->
/// "/api/v4/leads?page=2"); nullopt unless it is an /api/v4/ path. Only the path is used, so a
/// link can never send a request (or the token) to another host.
std::optional<std::string> LinkTarget(std::string_view href);

/// Percent-encodes a query value (RFC 3986 unreserved characters stay).
std::string QueryEncode(std::string_view value);

}  // namespace fg::adapters::amocrm
