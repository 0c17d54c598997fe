#include "adapters/bitrix24/api/client.hpp"

#include <cstdio>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/http/url.hpp"

namespace fg::adapters::bitrix24 {
namespace {

using nlohmann::json;

std::string Encode(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (std::isalnum(byte) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
            out += c;
        } else {
            out += '%';
            out += kHex[byte >> 4];
            out += kHex[byte & 0xF];
        }
    }
    return out;
}

void AppendQuery(const json& value, const std::string& prefix, std::string& out) {
    if (value.is_object() || value.is_array()) {
        std::size_t index = 0;
        for (auto it = value.begin(); it != value.end(); ++it, ++index) {
            const std::string key = value.is_object() ? it.key() : std::to_string(index);
            AppendQuery(*it, prefix.empty() ? key : prefix + "[" + key + "]", out);
        }
        return;
    }
    if (value.is_null()) {
        return;
    }
    if (!out.empty()) {
        out += '&';
    }
    out += Encode(prefix);
    out += '=';
    out += Encode(value.is_boolean() ? (value.get<bool>() ? "1" : "0") : Text(value));
}

std::optional<std::int64_t> IntegerOf(const json& value) {
    if (value.is_number_integer()) {
        return value.get<std::int64_t>();
    }
    if (value.is_string()) {
        const std::string text = value.get<std::string>();
        if (!text.empty() && text.size() < 19 &&
            text.find_first_not_of("-0123456789") == std::string::npos) {
            return std::stoll(text);
        }
    }
    return std::nullopt;
}

std::optional<std::int64_t> FindInteger(const json& object, const char* key) {
    const json& map = ObjectOr(object);  // `object` outlives the call
    const auto found = map.find(key);
    return found == map.end() ? std::nullopt : IntegerOf(*found);
}

// What a non-2xx body says: Bitrix24's {error, error_description}.
struct PortalError {
    std::string code{};
    std::string description{};
};

PortalError ErrorOf(const std::string& body) {
    const json parsed = json::parse(body, nullptr, false);
    if (!parsed.is_object()) {
        return {};
    }
    return {.code = Text(parsed.value("error", json())),
            .description = Text(parsed.value("error_description", json()))};
}

bool IsNotFound(const std::string& code, const std::string& description) {
    return code.empty() && description.find("Not found") != std::string::npos;
}

}  // namespace

const json& ObjectOr(const json& value) {
    static const json kEmpty = json::object();
    return value.is_object() ? value : kEmpty;
}

std::string Text(const json& value) {
    if (value.is_string()) {
        return value.get<std::string>();
    }
    if (value.is_number_integer()) {
        return std::to_string(value.get<std::int64_t>());
    }
    if (value.is_number()) {
        return fmt::format("{}", value.get<double>());
    }
    return {};
}

std::string FieldText(const json& row, const char* key) {
    const json& object = ObjectOr(row);
    const auto found = object.find(key);
    return found == object.end() ? std::string{} : Text(*found);
}

std::string BuildQuery(const json& params) {
    std::string out;
    AppendQuery(params, "", out);
    return out;
}

bool BatchItem::NotFound() const { return failed && IsNotFound(error, description); }
bool BatchItem::LimitExceeded() const {
    return failed && (error == "QUERY_LIMIT_EXCEEDED" || error == "OPERATION_TIME_LIMIT");
}

Client::Client(ClientOptions options, std::shared_ptr<PortalLimiter> limiter, const Clock& clock)
    : options_(std::move(options)), limiter_(std::move(limiter)), clock_(clock) {
    // The webhook token sits in the URL's path, which no error of http::Client repeats.
    const std::string base = options_.webhook_token.empty()
                                 ? options_.portal_url + "/rest"
                                 : fmt::format("{}/rest/{}/{}", options_.portal_url,
                                               options_.webhook_user, options_.webhook_token);
    secrets_ = {options_.webhook_token, options_.client_secret};
    auto url = http::ParseUrl(base);
    if (!url) {
        setup_error_ = "portal_url: " + url.error().message;
        return;
    }
    auto made = http::Client::Make(*url, {.connect_timeout = options_.connect_timeout,
                                          .read_timeout = options_.read_timeout,
                                          .ca_file = options_.ca_file,
                                          .max_idle = 8,
                                          .user_agent = "funnelguard",
                                          .clock = &clock_});
    if (!made) {
        setup_error_ = made.error().message;
        return;
    }
    http_ = std::move(made).value();
}

Client::~Client() = default;

std::string Client::Redact(std::string text) const {
    const std::lock_guard lock(secrets_mutex_);
    for (const std::string& secret : secrets_) {
        if (secret.size() < 4) {
            continue;
        }
        for (std::size_t at = text.find(secret); at != std::string::npos;
             at = text.find(secret, at)) {
            text.replace(at, secret.size(), "[redacted]");
        }
    }
    return text;
}

std::string Client::Blocked() const {
    const std::lock_guard lock(blocked_mutex_);
    return blocked_;
}

Result<Envelope> Client::Call(const std::string& method, const json& params, bool retry,
                              CallInfo* info_out) {
    CallInfo info;
    bool refreshed = false;
    double backoff = options_.query_limit_hold;
    for (int attempt = 1;; ++attempt) {
        info = CallInfo{};
        Result<Envelope> result = CallOnce(method, params, info, refreshed);
        // A failed refresh is not repeated within the call: the stale token would only fetch
        // another expired_token, hiding the refresh's reason.
        const bool retryable = !result && result.error().code == ErrorCode::kUnavailable && retry &&
                               !info.refresh_failed && attempt < options_.max_attempts &&
                               Blocked().empty();
        const Duration wait =
            info.retry_after.value_or(Duration{static_cast<std::int64_t>(std::ceil(backoff))});
        if (!retryable || wait > options_.max_retry_wait) {
            if (info_out != nullptr) {
                *info_out = info;
            }
            return result;
        }
        limiter_->Sleep(static_cast<double>(wait.count()));
        backoff *= 2;
    }
}

Result<Envelope> Client::CallOnce(const std::string& method, const json& params, CallInfo& info,
                                  bool& refreshed) {
    if (!http_) {
        info.not_sent = true;
        return MakeError(ErrorCode::kInvalidInput, "{}: {}", method, setup_error_);
    }
    if (const std::string blocked = Blocked(); !blocked.empty()) {
        info.not_sent = true;
        return MakeError(ErrorCode::kUnavailable, "{}: the portal is blocked: {}", method, blocked);
    }
    if (const Duration blocked = limiter_->MethodBlockedFor(method); blocked > Duration{0}) {
        info.code = "OPERATION_TIME_LIMIT";
        info.retry_after = blocked;
        info.not_sent = true;
        return MakeError(ErrorCode::kUnavailable,
                         "{}: blocked by the portal's operation time limit for {} s more", method,
                         blocked.count());
    }
    for (;;) {
        json body = params.is_object() ? params : json::object();
        std::string token;
        if (UsesOAuth()) {
            auto access = AccessToken();
            if (!access) {
                info.not_sent = true;
                return access.error();
            }
            token = *access;
            body["auth"] = token;
        }
        limiter_->Acquire();
        const http::Outcome outcome = http_->Send({.method = "POST",
                                                   .target = "/" + method + ".json",
                                                   .headers = {},
                                                   .body = body.dump(),
                                                   .content_type = "application/json",
                                                   .body_retry_after = false});
        if (!outcome) {
            const http::Classification classification = http::ClassifyFailure(outcome.failure.kind);
            info.not_sent = classification.not_sent;
            return Error{classification.verdict == http::Verdict::kRejected
                             ? ErrorCode::kInvalidInput
                             : ErrorCode::kUnavailable,
                         Redact(fmt::format("{}: {}", method, outcome.failure.reason))};
        }
        const http::Response& response = *outcome;
        info.status = response.status;
        info.retry_after = response.retry_after;
        if (response.status >= 200 && response.status < 300) {
            const json parsed = json::parse(response.body, nullptr, false);
            if (!parsed.is_object() || !parsed.contains("result")) {
                return MakeError(ErrorCode::kUnavailable, "{}: HTTP {} without a Bitrix24 envelope",
                                 method, response.status);
            }
            return Envelope{.result = parsed["result"],
                            .total = FindInteger(parsed, "total"),
                            .next = FindInteger(parsed, "next"),
                            .time = parsed.value("time", json::object())};
        }
        if (response.status >= 300 && response.status < 400) {
            return MakeError(ErrorCode::kInvalidInput,
                             "{}: HTTP {}: the portal moved to {} (renamed? set portal_url to "
                             "its new address); not followed",
                             method, response.status, http::LocationAuthority(response.location));
        }
        const PortalError error = ErrorOf(response.body);
        info.code = error.code;
        const std::string said =
            Redact(fmt::format("{}: HTTP {} {}{}{}", method, response.status, error.code,
                               error.code.empty() || error.description.empty() ? "" : ": ",
                               error.description.substr(0, 200)));
        if (response.status == 401 && error.code == "expired_token" && UsesOAuth() && !refreshed) {
            refreshed = true;
            if (auto fresh = Refresh(token); !fresh) {
                info.not_sent = true;
                info.refresh_failed = true;
                return fresh.error();
            }
            continue;
        }
        if (error.code == "QUERY_LIMIT_EXCEEDED") {
            limiter_->HoldAfterQueryLimit(options_.query_limit_hold);
            info.not_sent = true;
            if (!info.retry_after) {
                info.retry_after = Duration{
                    static_cast<std::int64_t>(std::ceil(std::max(1.0, options_.query_limit_hold)))};
            }
            return Error{ErrorCode::kUnavailable, said};
        }
        if (error.code == "OPERATION_TIME_LIMIT") {
            const json parsed = json::parse(response.body, nullptr, false);
            const std::optional<std::int64_t> reset =
                parsed.is_object() ? FindInteger(parsed.value("time", json()), "operating_reset_at")
                                   : std::nullopt;
            const Timestamp until = reset ? Timestamp{Duration{*reset}}
                                          : clock_.Now() + info.retry_after.value_or(Duration{60});
            limiter_->BlockMethod(method, until);
            info.retry_after = std::max(Duration{1}, until - clock_.Now());
            info.not_sent = true;
            return Error{ErrorCode::kUnavailable, said};
        }
        if (error.code == "ACCESS_DENIED" || error.code == "OVERLOAD_LIMIT" ||
            error.code == "PORTAL_DELETED") {
            const std::lock_guard lock(blocked_mutex_);
            if (blocked_.empty()) {
                blocked_ = said;
            }
            return Error{ErrorCode::kUnavailable, said};
        }
        const http::Classification classification = http::ClassifyStatus(response.status);
        info.not_sent = classification.not_sent;
        if (response.status == 400 && IsNotFound(error.code, error.description)) {
            return Error{ErrorCode::kNotFound, said};
        }
        if (response.status == 401 || response.status == 403) {
            return Error{ErrorCode::kUnauthorized, said};
        }
        return Error{classification.verdict == http::Verdict::kRetry ? ErrorCode::kUnavailable
                                                                     : ErrorCode::kInvalidInput,
                     said};
    }
}

Result<std::vector<BatchItem>> Client::Batch(const std::vector<BatchCommand>& commands, bool retry,
                                             CallInfo* info) {
    if (commands.size() > kMaxBatch) {
        return MakeError(ErrorCode::kInvalidInput, "batch: {} commands, at most {}",
                         commands.size(), kMaxBatch);
    }
    std::vector<BatchItem> items(commands.size());
    if (commands.empty()) {
        return items;
    }
    json cmd = json::object();
    for (const BatchCommand& command : commands) {
        cmd[command.key] = command.command;
    }
    auto envelope = Call("batch", {{"halt", 0}, {"cmd", cmd}}, retry, info);
    if (!envelope) {
        return envelope.error();
    }
    const json& outer = ObjectOr(envelope->result);
    // Copies: value() answers a temporary, and PHP's [] stands for any empty map here.
    const json results = ObjectOr(outer.value("result", json()));
    const json errors = ObjectOr(outer.value("result_error", json()));
    const json totals = ObjectOr(outer.value("result_total", json()));
    const json nexts = ObjectOr(outer.value("result_next", json()));
    for (std::size_t i = 0; i < commands.size(); ++i) {
        const std::string& key = commands[i].key;
        BatchItem& item = items[i];
        if (const auto error = errors.find(key); error != errors.end()) {
            item.failed = true;
            const json& said = ObjectOr(*error);
            item.error = Text(said.value("error", json()));
            item.description = Text(said.value("error_description", json()));
            continue;
        }
        if (const auto result = results.find(key); result != results.end()) {
            item.result = *result;
        } else {
            item.failed = true;
            item.description = "no result";
        }
        if (const auto total = totals.find(key); total != totals.end()) {
            item.total = IntegerOf(*total);
        }
        if (const auto next = nexts.find(key); next != nexts.end()) {
            item.next = IntegerOf(*next);
        }
    }
    return items;
}

Result<std::string> Client::AccessToken() {
    const std::lock_guard lock(oauth_mutex_);
    if (access_token_.empty()) {
        if (auto loaded = LoadTokens(); !loaded) {
            return loaded.error();
        }
    }
    return access_token_;
}

Result<void> Client::LoadTokens() {
    std::ifstream in(options_.token_file);
    if (!in) {
        return MakeError(ErrorCode::kUnauthorized,
                         "token_file {}: cannot be read (the OAuth app's tokens go there)",
                         options_.token_file);
    }
    std::stringstream text;
    text << in.rdbuf();
    const json tokens = json::parse(text.str(), nullptr, false);
    if (!tokens.is_object() || Text(tokens.value("refresh_token", json())).empty()) {
        return MakeError(ErrorCode::kUnauthorized,
                         "token_file {}: no refresh_token in it (a JSON object with "
                         "access_token and refresh_token)",
                         options_.token_file);
    }
    access_token_ = Text(tokens.value("access_token", json()));
    refresh_token_ = Text(tokens["refresh_token"]);
    const std::lock_guard secrets(secrets_mutex_);
    secrets_.push_back(access_token_);
    secrets_.push_back(refresh_token_);
    return Ok{};
}

Result<void> Client::SaveTokens() {
    const std::string temp = options_.token_file + ".tmp";
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        return MakeError(ErrorCode::kUnavailable, "token_file {}: cannot be written",
                         options_.token_file);
    }
    const std::string text =
        json{{"access_token", access_token_}, {"refresh_token", refresh_token_}}.dump();
    const bool written =
        ::fchmod(fd, 0600) == 0 &&
        ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
        ::fsync(fd) == 0;
    ::close(fd);
    if (!written || std::rename(temp.c_str(), options_.token_file.c_str()) != 0) {
        std::remove(temp.c_str());
        return MakeError(ErrorCode::kUnavailable, "token_file {}: cannot be written",
                         options_.token_file);
    }
    return Ok{};
}

Result<void> Client::Refresh(const std::string& rejected) {
    const std::lock_guard lock(oauth_mutex_);
    if (access_token_ != rejected && !access_token_.empty()) {
        return Ok{};  // another caller refreshed it meanwhile
    }
    if (refresh_token_.empty()) {
        if (auto loaded = LoadTokens(); !loaded) {
            return loaded.error();
        }
    }
    auto url = http::ParseUrl(options_.oauth_url);
    if (!url) {
        return MakeError(ErrorCode::kInvalidInput, "oauth_url: {}", url.error().message);
    }
    // An on-premise portal refreshes its tokens itself (oauth_url = portal_url), under the
    // private CA ca_file names; the CA only adds to the system store, so the cloud's
    // oauth.bitrix.info verifies as before.
    auto client = http::Client::Make(*url, {.connect_timeout = options_.connect_timeout,
                                            .read_timeout = Duration{20},
                                            .ca_file = url->https() ? options_.ca_file : "",
                                            .max_idle = 1,
                                            .user_agent = "funnelguard",
                                            .clock = &clock_});
    if (!client) {
        return MakeError(ErrorCode::kInvalidInput, "oauth_url: {}", client.error().message);
    }
    const std::string query = BuildQuery({{"grant_type", "refresh_token"},
                                          {"client_id", options_.client_id},
                                          {"client_secret", options_.client_secret},
                                          {"refresh_token", refresh_token_}});
    const http::Outcome outcome = (*client)->Send({.method = "GET",
                                                   .target = "/oauth/token/?" + query,
                                                   .headers = {},
                                                   .body = {},
                                                   .content_type = {},
                                                   .body_retry_after = false});
    if (!outcome) {
        return MakeError(ErrorCode::kUnavailable, "OAuth token refresh: {}",
                         Redact(outcome.failure.reason));
    }
    if (outcome->status >= 300 && outcome->status < 400) {
        // The query carries client_secret and the refresh token: never to another host.
        return MakeError(ErrorCode::kInvalidInput,
                         "OAuth token refresh: HTTP {}: a redirect to {}, not followed (set "
                         "oauth_url to the OAuth server's address)",
                         outcome->status, http::LocationAuthority(outcome->location));
    }
    const json answer = json::parse(outcome->body, nullptr, false);
    const std::string access = answer.is_object() ? Text(answer.value("access_token", json())) : "";
    const std::string refresh =
        answer.is_object() ? Text(answer.value("refresh_token", json())) : "";
    if (outcome->status != 200 || access.empty()) {
        const std::string code = answer.is_object() ? Text(answer.value("error", json())) : "";
        return MakeError(
            outcome->status >= 500 ? ErrorCode::kUnavailable : ErrorCode::kUnauthorized,
            "OAuth token refresh: HTTP {} {}{}", outcome->status, code,
            code == "invalid_grant" ? " (the refresh token expired: authorize the "
                                      "app again)"
                                    : "");
    }
    access_token_ = access;
    if (!refresh.empty()) {
        refresh_token_ = refresh;  // rotated: the old one is spent
    }
    {
        const std::lock_guard secrets(secrets_mutex_);
        secrets_.push_back(access_token_);
        secrets_.push_back(refresh_token_);
    }
    return SaveTokens();
}

}  // namespace fg::adapters::bitrix24
