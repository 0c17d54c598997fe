#include "adapters/amocrm/api/client.hpp"

#include <algorithm>
#include <cmath>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "adapters/amocrm/api/log.hpp"
#include "adapters/amocrm/api/text.hpp"
#include "src/tls/trust.hpp"

namespace fg::adapters::amocrm {
namespace {

const Clock& DefaultClock() {
    static const SystemClock clock;
    return clock;
}

std::string_view PathOf(std::string_view target) { return target.substr(0, target.find('?')); }

bool IsSubdomainChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

// The account's address: base_url (a simulator, a proxy) or https://{subdomain}.amocrm.ru.
Result<http::Url> ParseBase(const ClientOptions& options) {
    if (options.base_url.empty()) {
        if (options.subdomain.empty() ||
            !std::all_of(options.subdomain.begin(), options.subdomain.end(), IsSubdomainChar)) {
            return MakeError(ErrorCode::kInvalidInput,
                             "amocrm: set base_url, or subdomain as letters, digits and '-'");
        }
        return http::ParseUrl(fmt::format("https://{}.amocrm.ru", options.subdomain));
    }
    auto url = http::ParseUrl(options.base_url);
    if (!url) {
        return MakeError(ErrorCode::kInvalidInput, "amocrm: base_url: {}", url.error().message);
    }
    if (url->has_userinfo || !url->query.empty() ||
        options.base_url.find('#') != std::string::npos) {
        // The token is the only credential; a query would ride along on every call.
        return MakeError(ErrorCode::kInvalidInput,
                         "amocrm: base_url takes no userinfo, query or fragment");
    }
    if (!url->https() && !tls::IsLoopbackHost(url->host)) {
        // amoCRM accounts are HTTPS only; plain http elsewhere would carry the token in clear.
        return MakeError(ErrorCode::kInvalidInput,
                         "amocrm: base_url http://{} would send the token unencrypted: use "
                         "https://, or http:// to a loopback address only (a simulator, a local "
                         "proxy)",
                         url->host);
    }
    if (!url->https() && !options.ca_file.empty()) {
        return MakeError(ErrorCode::kInvalidInput,
                         "amocrm: ca_file is for an https:// base_url; this one is http://");
    }
    return url;
}

// amoCRM's block page is nginx HTML (reference §4, issue #434); a JSON problem document with a
// 403 is a permission answer about one resource, unless it speaks of a block itself.
bool LooksLikeBlock(const std::string& body) {
    nlohmann::json parsed = nlohmann::json::parse(body, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) {
        return true;
    }
    std::string text;
    for (const char* key : {"title", "detail", "message", "error"}) {
        if (const auto it = parsed.find(key); it != parsed.end() && it->is_string()) {
            text += it->get<std::string>();
            text += ' ';
        }
    }
    std::string lower;
    for (const char c : text) {
        lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    return lower.find("block") != std::string::npos ||
           lower.find("\xd0\xb7\xd0\xb0\xd0\xb1\xd0\xbb\xd0\xbe\xd0\xba") !=
               std::string::npos;  // "заблок"
}

// A short human reason from an error body: the problem document's detail or title, else the
// start of the body.
std::string BodyReason(const std::string& body) {
    if (body.empty()) {
        return "(empty body)";
    }
    nlohmann::json parsed = nlohmann::json::parse(body, nullptr, false);
    if (!parsed.is_discarded() && parsed.is_object()) {
        std::string reason;
        for (const char* key : {"title", "detail", "hint"}) {
            if (const auto it = parsed.find(key); it != parsed.end() && it->is_string()) {
                reason += reason.empty() ? "" : ": ";
                reason += it->get<std::string>();
            }
        }
        if (const auto it = parsed.find("validation-errors");
            it != parsed.end() && it->is_array()) {
            reason += reason.empty() ? "" : ": ";
            reason += it->dump();
        }
        if (!reason.empty()) {
            return Snippet(reason, 300);
        }
    }
    if (body.find("<html") != std::string::npos || body.find("<HTML") != std::string::npos) {
        return "(HTML page)";
    }
    return Snippet(body, 200);
}

}  // namespace

// ---------------------------------------------------------------------------- AccountLimiter

AccountLimiter::AccountLimiter(double rps, std::chrono::milliseconds guard)
    : bucket_(rps, 1),
      window_count_(rps >= 1 ? static_cast<std::size_t>(std::floor(rps)) : 1),
      window_(std::chrono::seconds{1} + guard) {}

void AccountLimiter::Acquire() {
    using Steady = std::chrono::steady_clock;
    for (;;) {
        Steady::duration wait{};
        {
            std::lock_guard lock(mutex_);
            const Steady::time_point now = Steady::now();
            while (!starts_.empty() && now - starts_.front() >= window_) {
                starts_.pop_front();
            }
            if (now < held_until_) {
                wait = held_until_ - now;
            } else if (starts_.size() >= window_count_) {
                wait = starts_.front() + window_ - now;
            } else {
                const double seconds =
                    std::chrono::duration<double>(now.time_since_epoch()).count();
                if (const std::optional<double> later = bucket_.TryAcquire(seconds)) {
                    wait = std::chrono::duration_cast<Steady::duration>(
                        std::chrono::duration<double>(*later));
                } else {
                    starts_.push_back(now);
                    return;
                }
            }
        }
        std::this_thread::sleep_for(
            std::max(wait, Steady::duration{std::chrono::microseconds{100}}));
    }
}

void AccountLimiter::HoldAfterRefusal() {
    std::lock_guard lock(mutex_);
    held_until_ = std::max(held_until_, std::chrono::steady_clock::now() + window_);
}

// ---------------------------------------------------------------------------- Client

Client::Client(ClientOptions options)
    : options_(std::move(options)),
      clock_(options_.clock != nullptr ? options_.clock : &DefaultClock()),
      limiter_(options_.rps, options_.rate_guard),
      random_(std::random_device{}()) {
    if (auto valid = Validate(options_); !valid) {
        setup_error_ = valid.error().message;
        return;
    }
    if (!options_.token.empty()) {
        known_secrets_.push_back(options_.token);
    }
    if (options_.oauth && !options_.oauth->client_secret.empty()) {
        known_secrets_.push_back(options_.oauth->client_secret);
    }
    auto base = ParseBase(options_);
    auto http = http::Client::Make(*base, http::ClientOptions{
                                              .connect_timeout = options_.connect_timeout,
                                              .read_timeout = options_.read_timeout,
                                              .ca_file = options_.ca_file,
                                              .clock = clock_,
                                          });
    if (!http) {
        setup_error_ = "amocrm: " + http.error().message;
        return;
    }
    http_ = std::move(*http);
}

Client::~Client() = default;

Result<void> Client::Validate(const ClientOptions& options) {
    if (auto base = ParseBase(options); !base) {
        return base.error();
    }
    if (!options.ca_file.empty()) {
        if (auto checked = tls::CheckCaFile(options.ca_file); !checked) {
            return MakeError(ErrorCode::kInvalidInput, "amocrm: ca_file: {}",
                             checked.error().message);
        }
    }
    if (options.token.empty()) {
        if (!options.oauth) {
            return MakeError(ErrorCode::kInvalidInput,
                             "amocrm: set a long-lived token or the OAuth client (client_id, "
                             "client_secret, redirect_uri)");
        }
        if (options.oauth->client_id.empty() || options.oauth->client_secret.empty() ||
            options.oauth->redirect_uri.empty()) {
            return MakeError(ErrorCode::kInvalidInput,
                             "amocrm: OAuth needs client_id, client_secret and redirect_uri");
        }
        if (options.token_store == nullptr) {
            return MakeError(ErrorCode::kInvalidInput, "amocrm: OAuth needs a token store");
        }
    }
    if (!(options.rps > 0) || options.rps > 1000) {
        return MakeError(ErrorCode::kInvalidInput, "amocrm: rps must be above 0");
    }
    return Ok{};
}

std::string Client::Blocked() const {
    if (!is_blocked_.load()) {
        return {};
    }
    std::lock_guard lock(blocked_mutex_);
    return blocked_;
}

void Client::MarkBlocked(const std::string& reason) {
    std::lock_guard lock(blocked_mutex_);
    if (is_blocked_.load()) {
        return;
    }
    blocked_ = reason;
    is_blocked_.store(true);
    Log().error(
        "amoCRM blocked this account's API access; every call now fails until a restart. Only "
        "amoCRM support can lift the block (give them the server IP, subdomain and account "
        "id). tenant={} error={}",
        LogSafe(options_.tenant), reason);
}

std::string Client::Redact(std::string_view text, const std::vector<std::string>& extra) const {
    std::string out(text);
    auto scrub = [&out](const std::string& secret) {
        if (secret.size() < 4) {
            return;  // too short to be a credential; replacing it would mangle the text
        }
        for (auto at = out.find(secret); at != std::string::npos; at = out.find(secret, at)) {
            out.replace(at, secret.size(), "[redacted]");
        }
    };
    {
        std::lock_guard lock(secrets_mutex_);
        for (const std::string& secret : known_secrets_) {
            scrub(secret);
        }
    }
    for (const std::string& secret : extra) {
        scrub(secret);
    }
    return out;
}

Error Client::StatusError(const ApiRequest& request, const ApiResponse& response) const {
    const int status = response.status;
    ErrorCode code = ErrorCode::kInvalidInput;
    if (status == 401 || status == 403) {
        code = ErrorCode::kUnauthorized;
    } else if (status == 404) {
        code = ErrorCode::kNotFound;
    } else if (http::IsRetryableStatus(status)) {
        code = ErrorCode::kUnavailable;
    }
    if (status >= 300 && status < 400) {
        return MakeError(ErrorCode::kInvalidInput,
                         "amoCRM {} {}: HTTP {}: a redirect to {}, not followed (requests and "
                         "the token go to base_url's host only; check base_url)",
                         request.method, PathOf(request.target), status,
                         http::LocationAuthority(response.location));
    }
    std::string reason = Redact(BodyReason(response.body), request.redact);
    if (status == 403) {
        reason = "no rights for this resource: " + reason;
    }
    if (response.retry_after) {
        reason += fmt::format(" (retry after {}s)", response.retry_after->count());
    }
    return MakeError(code, "amoCRM {} {}: HTTP {}: {}", request.method, PathOf(request.target),
                     status, reason);
}

void Client::Wait(Duration wait) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(wait);
    if (options_.sleep) {
        options_.sleep(ms);
    } else {
        std::this_thread::sleep_for(ms);
    }
}

Result<ApiResponse> Client::Exchange(const ApiRequest& request, const std::string& token,
                                     Attempt& attempt) {
    if (is_blocked_.load()) {
        attempt.not_sent = true;
        return MakeError(ErrorCode::kUnavailable, "{}", Blocked());
    }
    limiter_.Acquire();
    http::Request call{.method = request.method,
                       .target = request.target,
                       .headers = {{"Accept", "application/json"}},
                       .body = request.body,
                       .content_type = "application/json",
                       .body_retry_after = true};
    if (!token.empty()) {
        call.headers.emplace_back("Authorization", "Bearer " + token);
    }
    http::Outcome outcome = http_->Send(call);
    if (!outcome) {
        const http::Classification verdict = http::Classify(outcome);
        attempt.not_sent = verdict.not_sent;
        // A certificate does not fix itself within a minute, nor does a request that cannot
        // be made: neither is retried inside the call.
        attempt.no_retry = outcome.failure.kind == http::FailureKind::kTls ||
                           verdict.verdict == http::Verdict::kRejected;
        // Where and why ("host:port: cannot connect: connection refused") or the certificate's
        // problem and the host, never the path's query or a header.
        return MakeError(verdict.verdict == http::Verdict::kRejected ? ErrorCode::kInvalidInput
                                                                     : ErrorCode::kUnavailable,
                         "amoCRM {}", Redact(outcome.failure.Message(), request.redact));
    }
    http::Response& answer = *outcome.response;
    if (answer.status == 429) {
        limiter_.HoldAfterRefusal();
    }
    attempt.not_sent = http::ClassifyStatus(answer.status).not_sent;
    return ApiResponse{.status = answer.status,
                       .body = std::move(answer.body),
                       .retry_after = answer.retry_after,
                       .location = std::move(answer.location)};
}

Result<ApiResponse> Client::ExecuteOnce(const ApiRequest& request, Attempt& attempt) {
    std::string token;
    if (request.authorize) {
        auto access = AccessToken();
        if (!access) {
            attempt.no_retry = true;  // a refresh retried on its own already
            attempt.not_sent = true;
            return access.error();
        }
        token = std::move(*access);
    }
    auto response = Exchange(request, token, attempt);
    if (!response) {
        return response;
    }
    if (response->status == 401 && request.authorize && options_.token.empty()) {
        // An access token can die before its expiry (revoked, rotated elsewhere): one refresh,
        // one repeat. A 401 means the request was not processed, so repeating a write is safe.
        if (auto refreshed = RefreshAfterUnauthorized(token); !refreshed) {
            attempt.no_retry = true;
            attempt.not_sent = true;
            return refreshed.error();
        }
        auto access = AccessToken();
        if (!access) {
            attempt.no_retry = true;
            attempt.not_sent = true;
            return access.error();
        }
        token = std::move(*access);
        response = Exchange(request, token, attempt);
        if (!response) {
            return response;
        }
    }
    if (response->status == 401 && request.authorize) {
        attempt.not_sent = true;  // refused before anything was done
        return MakeError(ErrorCode::kUnauthorized,
                         "amoCRM {} {}: HTTP 401: the {} was refused (expired or revoked)",
                         request.method, PathOf(request.target),
                         options_.token.empty() ? "OAuth access token" : "long-lived token");
    }
    if (response->status == 403 && !request.forbidden_means_no_rights &&
        LooksLikeBlock(response->body)) {
        attempt.not_sent = true;
        MarkBlocked(fmt::format("amoCRM answered 403 to {} {}: the account or IP is blocked; {}",
                                request.method, PathOf(request.target),
                                Redact(BodyReason(response->body), request.redact)));
        return MakeError(ErrorCode::kUnavailable, "{}", Blocked());
    }
    return response;
}

Result<ApiResponse> Client::Execute(const ApiRequest& request) {
    bool not_sent = false;
    return Execute(request, not_sent);
}

Result<ApiResponse> Client::Execute(const ApiRequest& request, bool& not_sent) {
    not_sent = true;
    if (!setup_error_.empty()) {
        return MakeError(ErrorCode::kInvalidInput, "{}", setup_error_);
    }
    const int max_attempts = std::max(1, options_.max_attempts);
    for (int attempt = 1;; ++attempt) {
        Attempt once;
        auto response = ExecuteOnce(request, once);
        not_sent = not_sent && once.not_sent;
        Duration wait{0};
        if (!response) {
            if (!request.retry || once.no_retry ||
                response.error().code != ErrorCode::kUnavailable || is_blocked_.load() ||
                attempt >= max_attempts) {
                return response;
            }
            std::lock_guard lock(random_mutex_);
            wait = outbox::Backoff(attempt, random_, options_.backoff_base, options_.backoff_cap);
            Log().warn(
                "amoCRM call failed, will retry. tenant={} method={} path={} attempt={} "
                "wait_s={} error={}",
                LogSafe(options_.tenant), request.method, LogSafe(PathOf(request.target)), attempt,
                wait.count(), LogSafe(response.error().message));
        } else {
            if (!http::IsRetryableStatus(response->status) || !request.retry ||
                attempt >= max_attempts) {
                return response;
            }
            if (response->retry_after) {
                wait = *response->retry_after;
            } else {
                std::lock_guard lock(random_mutex_);
                wait =
                    outbox::Backoff(attempt, random_, options_.backoff_base, options_.backoff_cap);
            }
            if (wait > options_.max_retry_wait) {
                return response;  // the caller reschedules; the status error says how long
            }
            Log().warn(
                "amoCRM answered with a retryable status, will retry. tenant={} method={} "
                "path={} status={} attempt={} wait_s={}",
                LogSafe(options_.tenant), request.method, LogSafe(PathOf(request.target)),
                response->status, attempt, wait.count());
        }
        Wait(wait);
    }
}

Result<nlohmann::json> Client::GetJson(const std::string& target) {
    const ApiRequest request{.method = "GET", .target = target};
    auto response = Execute(request);
    if (!response) {
        return response.error();
    }
    if (response->status < 200 || response->status >= 300) {
        return StatusError(request, *response);
    }
    if (response->status == 204 || response->body.empty()) {
        return nlohmann::json();
    }
    nlohmann::json parsed = nlohmann::json::parse(response->body, nullptr, false);
    if (parsed.is_discarded()) {
        return MakeError(ErrorCode::kUnavailable, "amoCRM GET {}: the answer is not JSON",
                         PathOf(target));
    }
    return parsed;
}

Result<Page> Client::GetPage(const std::string& target, std::string_view key,
                             bool forbidden_means_no_rights) {
    const ApiRequest request{
        .method = "GET", .target = target, .forbidden_means_no_rights = forbidden_means_no_rights};
    auto response = Execute(request);
    if (!response) {
        return response.error();
    }
    if (response->status < 200 || response->status >= 300) {
        return StatusError(request, *response);
    }
    Page page;
    if (response->status == 204 || response->body.empty()) {
        return page;  // amoCRM's "nothing here", also after a _links.next (reference §2.1)
    }
    nlohmann::json parsed = nlohmann::json::parse(response->body, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) {
        return MakeError(ErrorCode::kUnavailable, "amoCRM GET {}: the answer is not a JSON object",
                         PathOf(target));
    }
    if (const auto embedded = parsed.find("_embedded");
        embedded != parsed.end() && embedded->is_object()) {
        if (const auto items = embedded->find(key); items != embedded->end() && items->is_array()) {
            page.items.reserve(items->size());
            for (auto& item : *items) {
                page.items.push_back(std::move(item));
            }
        }
    }
    if (page.items.empty()) {
        return page;
    }
    if (const auto links = parsed.find("_links"); links != parsed.end() && links->is_object()) {
        if (const auto next = links->find("next"); next != links->end() && next->is_object()) {
            if (const auto href = next->find("href"); href != next->end() && href->is_string()) {
                page.next = LinkTarget(href->get<std::string>());
            }
        }
    }
    return page;
}

Result<std::vector<nlohmann::json>> Client::GetAll(const std::string& target, std::string_view key,
                                                   int max_pages, bool forbidden_means_no_rights) {
    std::vector<nlohmann::json> all;
    std::string current = target;
    for (int page_number = 0; page_number < max_pages; ++page_number) {
        auto page = GetPage(current, key, forbidden_means_no_rights);
        if (!page) {
            return page.error();
        }
        for (auto& item : page->items) {
            all.push_back(std::move(item));
        }
        if (!page->next || *page->next == current) {
            return all;
        }
        current = *page->next;
    }
    Log().warn("amoCRM list cut at the page limit. tenant={} path={} pages={}",
               LogSafe(options_.tenant), LogSafe(PathOf(target)), max_pages);
    return all;
}

// ---------------------------------------------------------------------------- OAuth

Result<std::string> Client::AccessToken() {
    if (!options_.token.empty()) {
        return options_.token;
    }
    if (!options_.oauth || options_.token_store == nullptr) {
        return MakeError(ErrorCode::kUnauthorized, "amocrm: no credentials configured");
    }
    std::lock_guard lock(oauth_mutex_);
    if (!tokens_) {
        auto loaded = options_.token_store->Load();
        if (!loaded) {
            return loaded.error();
        }
        if (!*loaded) {
            return MakeError(ErrorCode::kUnauthorized,
                             "amocrm: no OAuth tokens stored for tenant {}; run `funnelguard "
                             "amocrm auth --tenant {} --code CODE`",
                             options_.tenant, options_.tenant);
        }
        tokens_ = std::move(**loaded);
        std::lock_guard secrets(secrets_mutex_);
        known_secrets_.push_back(tokens_->access_token);
        known_secrets_.push_back(tokens_->refresh_token);
    }
    if (clock_->Now() + options_.refresh_margin >= tokens_->expires_at) {
        if (auto refreshed = RefreshLocked(); !refreshed) {
            if (clock_->Now() >= tokens_->expires_at) {
                return refreshed.error();
            }
            Log().warn(
                "Proactive OAuth refresh failed; the current access token still works. "
                "tenant={} error={}",
                LogSafe(options_.tenant), refreshed.error().message);
        }
    }
    return tokens_->access_token;
}

Result<void> Client::RefreshAfterUnauthorized(const std::string& rejected_token) {
    std::lock_guard lock(oauth_mutex_);
    if (tokens_ && tokens_->access_token != rejected_token) {
        return Ok{};  // another caller refreshed meanwhile
    }
    return RefreshLocked();
}

Result<void> Client::RefreshLocked() {
    if (!tokens_ || tokens_->refresh_token.empty()) {
        return MakeError(ErrorCode::kUnauthorized,
                         "amocrm: no refresh token for tenant {}; run `funnelguard amocrm auth`",
                         options_.tenant);
    }
    auto refreshed = RequestTokens("refresh_token", tokens_->refresh_token);
    if (refreshed) {
        Log().info("OAuth tokens refreshed. tenant={}", LogSafe(options_.tenant));
    }
    return refreshed;
}

Result<void> Client::RequestTokens(std::string_view grant, const std::string& value) {
    const ApiRequest request{
        .method = "POST",
        .target = "/oauth2/access_token",
        .body = TokenRequestBody(*options_.oauth, grant, value),
        .retry = true,  // a lost answer leaves the old refresh token valid (reference §3)
        .authorize = false,
        .forbidden_means_no_rights = true,
        .redact = {value},
    };
    auto response = Execute(request);
    if (!response) {
        return response.error();
    }
    if (response->status < 200 || response->status >= 300) {
        Error error = StatusError(request, *response);
        if (response->status >= 400 && !http::IsRetryableStatus(response->status)) {
            error.code = ErrorCode::kUnauthorized;
            error.message += grant == "refresh_token"
                                 ? "; the refresh token was refused: authorize again with "
                                   "`funnelguard amocrm auth`"
                                 : "; the authorization code was refused (it lives 20 minutes "
                                   "and works once)";
        }
        return error;
    }
    auto tokens = ParseTokenResponse(response->body, clock_->Now());
    if (!tokens) {
        return tokens.error();
    }
    {
        std::lock_guard secrets(secrets_mutex_);
        known_secrets_.push_back(tokens->access_token);
        known_secrets_.push_back(tokens->refresh_token);
    }
    // Refresh tokens rotate: the new pair is durable before anything uses it. If saving fails
    // the old pair stays in use (amoCRM keeps it valid until the new one is used).
    if (auto saved = options_.token_store->Save(*tokens); !saved) {
        // kInternal: not the remote's fault, so not retried inside the call.
        return MakeError(ErrorCode::kInternal, "amocrm: new OAuth tokens not saved: {}",
                         saved.error().message);
    }
    tokens_ = std::move(*tokens);
    return Ok{};
}

Result<void> Client::ExchangeCode(std::string_view code) {
    if (!setup_error_.empty()) {
        return MakeError(ErrorCode::kInvalidInput, "{}", setup_error_);
    }
    if (!options_.oauth || options_.token_store == nullptr) {
        return MakeError(ErrorCode::kInvalidInput,
                         "amocrm: the OAuth client and a token store are needed to authorize");
    }
    if (code.empty()) {
        return MakeError(ErrorCode::kInvalidInput, "amocrm: the authorization code is empty");
    }
    std::lock_guard lock(oauth_mutex_);
    return RequestTokens("authorization_code", std::string(code));
}

// ---------------------------------------------------------------------------- helpers

std::optional<std::string> LinkTarget(std::string_view href) {
    std::string_view rest = href;
    if (const auto scheme = rest.find("://"); scheme != std::string_view::npos) {
        rest = rest.substr(scheme + 3);
        const auto slash = rest.find('/');
        if (slash == std::string_view::npos) {
            return std::nullopt;
        }
        rest = rest.substr(slash);
    }
    rest = rest.substr(0, rest.find('#'));
    const auto api = rest.find("/api/v4/");
    if (api == std::string_view::npos || api > rest.find('?')) {
        return std::nullopt;
    }
    for (const char c : rest) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte <= 0x20 || byte >= 0x7f) {
            return std::nullopt;
        }
    }
    return std::string(rest.substr(api));
}

std::string QueryEncode(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (const char c : value) {
        const auto byte = static_cast<unsigned char>(c);
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            out += c;
        } else {
            out += fmt::format("%{:02X}", byte);
        }
    }
    return out;
}

}  // namespace fg::adapters::amocrm
