#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "src/common/clock.hpp"
#include "src/common/result.hpp"
#include "src/common/time.hpp"
#include "src/http/client.hpp"

namespace fg::adapters::telegram {

/// One Bot API call's outcome: Telegram's envelope, or why there is none.
struct ApiAnswer {
    bool answered = false;  // false: no HTTP answer (see failure)
    http::FailureKind failure = http::FailureKind::kReceive;
    int status = 0;  // the HTTP status
    bool ok = false;
    int error_code = 0;
    std::string description{};  // Telegram's, or "HTTP <status>" for a body that is no envelope
    nlohmann::json result{};
    std::optional<Duration> retry_after{};  // parameters.retry_after, else the Retry-After header
    std::optional<std::int64_t> migrate_to{};
    /// What went wrong, for an error text: "403 Forbidden: bot was blocked by the user", or the
    /// transport's reason (the caller names the method). Never the token.
    std::string error{};
};

/// The Bot API of one bot: POST JSON to <api_url>/bot<token>/<method> through src/http's
/// client. The token is in every path, so nothing this returns repeats the path, and Redact
/// takes the token out of any text. Thread-safe.
class BotApi {
public:
    /// `read_timeout`: per read of the answer (a long poll needs its timeout and more).
    static Result<std::unique_ptr<BotApi>> Make(const std::string& api_url, std::string token,
                                                const Clock& clock, Duration read_timeout);

    ApiAnswer Call(std::string_view method, const nlohmann::json& params);
    std::string Redact(std::string text) const;

private:
    BotApi(std::unique_ptr<http::Client> client, std::string token);

    std::unique_ptr<http::Client> client_;
    std::string token_;
};

}  // namespace fg::adapters::telegram
