#include "adapters/telegram/bot_api.hpp"

#include <fmt/format.h>

namespace fg::adapters::telegram {

Result<std::unique_ptr<BotApi>> BotApi::Make(const std::string& api_url, std::string token,
                                             const Clock& clock, Duration read_timeout) {
    auto url = http::ParseUrl(api_url);
    if (!url) {
        return MakeError(ErrorCode::kInvalidInput, "telegram_api_url: {}", url.error().message);
    }
    http::ClientOptions options;
    options.connect_timeout = Duration{5};
    options.read_timeout = read_timeout;
    options.clock = &clock;
    options.max_idle = 4;
    auto client = http::Client::Make(*url, options);
    if (!client) {
        return client.error();
    }
    return std::unique_ptr<BotApi>(new BotApi(std::move(*client), std::move(token)));
}

BotApi::BotApi(std::unique_ptr<http::Client> client, std::string token)
    : client_(std::move(client)), token_(std::move(token)) {}

std::string BotApi::Redact(std::string text) const {
    if (token_.empty()) {
        return text;
    }
    for (auto at = text.find(token_); at != std::string::npos; at = text.find(token_, at)) {
        text.replace(at, token_.size(), "<token>");
    }
    return text;
}

ApiAnswer BotApi::Call(std::string_view method, const nlohmann::json& params) {
    http::Request request;
    request.method = "POST";
    request.target = fmt::format("/bot{}/{}", token_, method);
    request.body = params.dump();
    request.content_type = "application/json";
    const http::Outcome outcome = client_->Send(request);
    ApiAnswer answer;
    if (!outcome) {
        answer.failure = outcome.failure.kind;
        // Failure::Message() names the path, which holds the token: the reason alone.
        answer.error = Redact(outcome.failure.reason);
        return answer;
    }
    answer.answered = true;
    answer.status = outcome->status;
    answer.retry_after = outcome->retry_after;
    const auto body = nlohmann::json::parse(outcome->body, nullptr, false);
    if (body.is_object() && body.contains("ok") && body["ok"].is_boolean()) {
        answer.ok = body["ok"].get<bool>();
        answer.error_code = body.value("error_code", answer.ok ? 0 : outcome->status);
        answer.description = body.value("description", "");
        if (body.contains("result")) {
            answer.result = body["result"];
        }
        if (const auto parameters = body.find("parameters");
            parameters != body.end() && parameters->is_object()) {
            if (const auto retry = parameters->find("retry_after");
                retry != parameters->end() && retry->is_number_integer()) {
                answer.retry_after =
                    Duration{std::max<std::int64_t>(0, retry->get<std::int64_t>())};
            }
            if (const auto moved = parameters->find("migrate_to_chat_id");
                moved != parameters->end() && moved->is_number_integer()) {
                answer.migrate_to = moved->get<std::int64_t>();
            }
        }
    } else {
        answer.ok = false;
        answer.error_code = outcome->status;
        answer.description = fmt::format("HTTP {}", outcome->status);
    }
    if (answer.ok && (outcome->status < 200 || outcome->status >= 300)) {
        answer.ok = false;
    }
    if (!answer.ok) {
        answer.error =
            Redact(fmt::format("{} {}", answer.error_code, answer.description.substr(0, 300)));
    }
    return answer;
}

}  // namespace fg::adapters::telegram
