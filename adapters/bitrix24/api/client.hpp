#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/bitrix24/api/limiter.hpp"
#include "src/common/clock.hpp"
#include "src/common/result.hpp"
#include "src/http/client.hpp"

namespace fg::adapters::bitrix24 {

/// How to reach one portal. Secrets (webhook_token, client_secret, the OAuth tokens) are never
/// logged or repeated in errors.
struct ClientOptions {
    std::string tenant{};      // for log lines only
    std::string portal_url{};  // "https://acme.bitrix24.ru": every call goes here, nowhere else
    // An inbound webhook: {portal_url}/rest/{webhook_user}/{webhook_token}/{method}.json
    std::int64_t webhook_user = 0;
    std::string webhook_token{};
    // Or a local OAuth app: {portal_url}/rest/{method}.json, auth=<access token> in the body;
    // tokens from token_file (0600), refreshed through oauth_url.
    std::string client_id{};
    std::string client_secret{};
    std::string token_file{};
    std::string oauth_url = "https://oauth.bitrix.info";
    std::string ca_file{};
    Duration connect_timeout{5};
    Duration read_timeout{60};    // one REST request may run 60 s in the cloud
    int max_attempts = 4;         // per retryable call, the first included
    double query_limit_hold = 1;  // seconds nobody calls after a QUERY_LIMIT_EXCEEDED (then ×2)
    Duration max_retry_wait{60};  // a longer wait ends the call instead (kUnavailable)
};

/// A call's answer: the envelope's parts (reference/bitrix24.md §2.2).
struct Envelope {
    nlohmann::json result{};
    std::optional<std::int64_t> total{};
    std::optional<std::int64_t> next{};
    nlohmann::json time{};
};

/// What a failed call says besides its Error.
struct CallInfo {
    int status = 0;                         // the HTTP status, 0 without an answer
    std::string code{};                     // Bitrix24's `error`
    std::optional<Duration> retry_after{};  // how long to wait before asking again
    bool not_sent = false;                  // the portal certainly did nothing with it
    bool refresh_failed = false;  // the OAuth refresh failed: its error is the call's, as is
};

/// One sub-call of a batch: its key and "method?query" (BuildQuery).
struct BatchCommand {
    std::string key{};
    std::string command{};
};

/// One sub-call's answer: its result, or its error (from result_error).
struct BatchItem {
    nlohmann::json result{};
    std::optional<std::int64_t> total{};
    std::optional<std::int64_t> next{};
    std::string error{};        // `error`; empty with a description for a "Not found" 400
    std::string description{};  // `error_description`
    bool failed = false;

    /// Bitrix24's CRM methods answer a missing entity with an empty code and "Not found".
    bool NotFound() const;
    bool LimitExceeded() const;  // QUERY_LIMIT_EXCEEDED or OPERATION_TIME_LIMIT inside the batch
};

/// A PHP empty array (`[]`) where an object is expected is an empty object: everything the
/// adapter reads goes through this.
const nlohmann::json& ObjectOr(const nlohmann::json& value);
/// A string or a number as text ("410" and 410 alike); "" for anything else.
std::string Text(const nlohmann::json& value);

/// Text(row[key]) of an object row ("" when it is absent or the row is not an object).
std::string FieldText(const nlohmann::json& row, const char* key);

/// `params` as PHP's http_build_query writes them (`filter[>ID]=5&select[0]=ID`), for batch
/// commands and OAuth's query.
std::string BuildQuery(const nlohmann::json& params);

/// The REST client of one portal, shared by its fetcher, reader and writer: one limiter (the
/// portal's leaky bucket, shared), one OAuth session, one http::Client.
///
/// Every call is a POST with a JSON body. Answers: 2xx → the envelope; 400 with "Not found" →
/// kNotFound; 401 expired_token → the token is refreshed once (OAuth) and the call repeated,
/// other 401/403 → kUnauthorized; 503 QUERY_LIMIT_EXCEEDED → every caller holds back, and a
/// retryable call waits and tries again (up to max_attempts); 429 OPERATION_TIME_LIMIT → the
/// method is blocked until `operating_reset_at` and the call fails kUnavailable with that wait;
/// ACCESS_DENIED, OVERLOAD_LIMIT or PORTAL_DELETED block the portal (Blocked);
/// 5xx and no answer → kUnavailable (retried when retryable); a 302 (a renamed portal) →
/// kInvalidInput naming the new host, never followed; other 4xx → kInvalidInput. Errors name
/// the method, never the webhook token, the access token or a body.
class Client {
public:
    Client(ClientOptions options, std::shared_ptr<PortalLimiter> limiter, const Clock& clock);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    /// `retry`: reads may be retried inside the call; writes are sent once.
    Result<Envelope> Call(const std::string& method, const nlohmann::json& params,
                          bool retry = true, CallInfo* info = nullptr);
    /// Up to 50 sub-calls in one request (halt=0): one BatchItem per command, in order.
    Result<std::vector<BatchItem>> Batch(const std::vector<BatchCommand>& commands,
                                         bool retry = true, CallInfo* info = nullptr);

    static constexpr std::size_t kMaxBatch = 50;

    const Clock& clock() const { return clock_; }
    PortalLimiter& limiter() { return *limiter_; }
    const std::string& tenant() const { return options_.tenant; }
    bool UsesOAuth() const { return options_.webhook_token.empty(); }
    /// `text` with every known secret replaced by "[redacted]".
    std::string Redact(std::string text) const;
    /// Empty while the portal can be called; otherwise why not: it answered ACCESS_DENIED (REST
    /// needs a commercial plan), OVERLOAD_LIMIT (blocked by Bitrix24's support for load) or
    /// PORTAL_DELETED, which no retry fixes. Every later call fails fast, sending nothing.
    std::string Blocked() const;

private:
    Result<Envelope> CallOnce(const std::string& method, const nlohmann::json& params,
                              CallInfo& info, bool& refreshed);
    Result<std::string> AccessToken();
    Result<void> Refresh(const std::string& rejected);
    Result<void> LoadTokens();
    Result<void> SaveTokens();

    ClientOptions options_;
    std::shared_ptr<PortalLimiter> limiter_;
    const Clock& clock_;
    std::unique_ptr<http::Client> http_;  // null: setup_error_ says why
    std::string setup_error_;
    std::mutex oauth_mutex_;
    std::string access_token_;
    std::string refresh_token_;
    mutable std::mutex secrets_mutex_;
    std::vector<std::string> secrets_;
    mutable std::mutex blocked_mutex_;
    std::string blocked_;
};

}  // namespace fg::adapters::bitrix24
