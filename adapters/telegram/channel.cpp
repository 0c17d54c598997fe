#include "adapters/telegram/channel.hpp"

#include <fmt/format.h>

#include "adapters/telegram/listener.hpp"
#include "src/common/log.hpp"

namespace fg::adapters::telegram {
namespace {

spdlog::logger& Log() {
    static const std::shared_ptr<spdlog::logger> logger = ModuleLogger("telegram");
    return *logger;
}

bool StartsWith(std::string_view text, std::string_view prefix) {
    return text.substr(0, prefix.size()) == prefix;
}

bool IsParseError(const ApiAnswer& answer) {
    return answer.error_code == 400 &&
           StartsWith(answer.description, "Bad Request: can't parse entities");
}

bool IsKeyboardError(const ApiAnswer& answer) {
    return answer.error_code == 400 &&
           (answer.description == "Bad Request: BUTTON_DATA_INVALID" ||
            StartsWith(answer.description, "Bad Request: reply markup is too long") ||
            StartsWith(answer.description, "Bad Request: can't parse inline keyboard"));
}

nlohmann::json Keyboard(const std::vector<notify::Button>& buttons) {
    // One button a row: labels stay readable on a phone.
    nlohmann::json rows = nlohmann::json::array();
    for (const notify::Button& button : buttons) {
        nlohmann::json json = {{"text", button.label}};
        if (!button.url.empty()) {
            json["url"] = button.url;
        } else {
            json["callback_data"] = button.callback;
        }
        rows.push_back(nlohmann::json::array({std::move(json)}));
    }
    return {{"inline_keyboard", std::move(rows)}};
}

nlohmann::json ChatIdJson(const std::string& chat) {
    try {
        return std::stoll(chat);
    } catch (const std::exception&) {
        return chat;
    }
}

}  // namespace

bool IsGroup(const notify::Address& address) {
    return address.group || StartsWith(address.value, "-");
}

struct TelegramChannel::PartOutcome {
    bool delivered = false;
    ApiAnswer refusal{};  // when not delivered: the answer that ended the tries
};

TelegramChannel::TelegramChannel(std::string tenant, const TelegramSettings& settings,
                                 std::string locale, const Clock& clock, ChannelOptions options)
    : tenant_(std::move(tenant)),
      settings_(settings),
      locale_(std::move(locale)),
      clock_(clock),
      options_(options),
      pacer_(clock, options.pace) {
    if (settings_.bot_token.empty()) {
        setup_error_ = fmt::format("tenant {} has no telegram_bot_token", tenant_);
        return;
    }
    auto api = BotApi::Make(settings_.api_url, settings_.bot_token, clock_, options_.send_timeout);
    if (!api) {
        setup_error_ = fmt::format("the Telegram API of tenant {} cannot be used: {}", tenant_,
                                   api.error().message);
        return;
    }
    api_ = std::move(*api);
}

TelegramChannel::~TelegramChannel() { Stop(); }

Duration TelegramChannel::WaitFor(const notify::Address& to) {
    return pacer_.WaitFor(to.value, IsGroup(to));
}

std::string TelegramChannel::Check() {
    if (!api_) {
        return setup_error_;
    }
    const ApiAnswer answer = api_->Call("getMe", nlohmann::json::object());
    if (answer.ok) {
        const std::string username =
            answer.result.is_object() ? answer.result.value("username", "") : "";
        if (username.empty()) {
            return fmt::format("Telegram's getMe for tenant {} names no bot username", tenant_);
        }
        std::lock_guard lock(mutex_);
        username_ = username;
        return {};
    }
    if (!answer.answered) {
        return fmt::format("the Telegram API of tenant {} is unreachable ({}): {}", tenant_,
                           api_->Redact(settings_.api_url), answer.error);
    }
    if (answer.error_code == 401) {
        return fmt::format("the bot token of tenant {} is refused by Telegram (401 {})", tenant_,
                           answer.description.empty() ? "Unauthorized" : answer.description);
    }
    if (answer.error_code == 404) {
        return fmt::format(
            "the Telegram API of tenant {} answers 404 Not Found: check "
            "telegram_api_url ({})",
            tenant_, settings_.api_url);
    }
    return fmt::format("Telegram's getMe for tenant {} failed: {}", tenant_, answer.error);
}

std::string TelegramChannel::LinkUrl(std::string_view code) const {
    std::lock_guard lock(mutex_);
    if (username_.empty()) {
        return {};
    }
    return fmt::format("https://t.me/{}?start={}", username_, code);
}

notify::SendResult TelegramChannel::Failed(const ApiAnswer& answer, const std::string& chat,
                                           bool sent_any, const std::string& what) {
    using notify::Failure;
    using outbox::DeliveryStatus;
    notify::SendResult result;
    result.delivery.error = fmt::format("sendMessage to chat {}{}: {}", chat, what, answer.error);
    if (!answer.answered) {
        const http::Classification classified = http::ClassifyFailure(answer.failure);
        result.delivery.status = classified.verdict == http::Verdict::kRetry
                                     ? DeliveryStatus::kRetry
                                     : DeliveryStatus::kRejected;
        result.delivery.not_sent = classified.not_sent && !sent_any;
        return result;
    }
    const int code = answer.error_code != 0 ? answer.error_code : answer.status;
    if (code == 429) {
        result.delivery.status = DeliveryStatus::kRetry;
        result.delivery.retry_after = answer.retry_after;
        result.delivery.not_sent = !sent_any;
        pacer_.Refused(chat, answer.retry_after.value_or(Duration{1}));
        return result;
    }
    if (code >= 500 || code == 408) {
        result.delivery.status = DeliveryStatus::kRetry;
        result.delivery.retry_after = answer.retry_after;
        return result;
    }
    result.delivery.status = DeliveryStatus::kRejected;
    if (code == 403 || (code == 400 && answer.description == "Bad Request: chat not found")) {
        result.failure = Failure::kAddressGone;
    } else if (code == 401 || code == 404) {
        result.failure = Failure::kChannelGone;
    } else if (code == 400) {
        result.failure = Failure::kContent;
    }
    return result;
}

TelegramChannel::PartOutcome TelegramChannel::SendPart(std::string& chat, bool group,
                                                       const Part& part,
                                                       const notify::Message& message, bool last,
                                                       notify::SendResult& result) {
    bool html = true;
    bool keyboard = last && !message.buttons.empty();
    bool moved = false;
    while (true) {
        nlohmann::json body = {{"chat_id", ChatIdJson(chat)},
                               {"text", html ? part.html : part.plain},
                               {"link_preview_options", {{"is_disabled", true}}}};
        if (html) {
            body["parse_mode"] = "HTML";
        }
        if (message.silent) {
            body["disable_notification"] = true;
        }
        if (keyboard) {
            body["reply_markup"] = Keyboard(message.buttons);
        }
        pacer_.Take(chat, group);
        const ApiAnswer answer = api_->Call("sendMessage", body);
        if (answer.ok) {
            if (answer.result.is_object() && answer.result.contains("message_id")) {
                result.message_id = answer.result["message_id"].dump();
            }
            return PartOutcome{.delivered = true, .refusal = {}};
        }
        if (answer.migrate_to && !moved) {
            // The group became a supergroup: the same message goes to its new id at once, and
            // the core stores the new id.
            moved = true;
            const std::string to = std::to_string(*answer.migrate_to);
            Log().warn(
                "Telegram group was upgraded, sending to its new id. tenant={} chat={} "
                "new_chat={}",
                tenant_, chat, to);
            chat = to;
            result.moved_to = to;
            continue;
        }
        if (IsParseError(answer) && html) {
            Log().error(
                "Telegram could not parse the message's HTML, resending as plain text "
                "(an escaping bug). tenant={} chat={} error={}",
                tenant_, chat, LogSafe(answer.error));
            html = false;
            continue;
        }
        if (IsKeyboardError(answer) && keyboard) {
            Log().error(
                "Telegram refused the message's buttons, resending without them (a "
                "bug). tenant={} chat={} error={}",
                tenant_, chat, LogSafe(answer.error));
            keyboard = false;
            continue;
        }
        return PartOutcome{.delivered = false, .refusal = answer};
    }
}

notify::SendResult TelegramChannel::Send(const notify::Outgoing& outgoing) {
    notify::SendResult result;
    if (!api_) {
        result.delivery.status = outbox::DeliveryStatus::kRejected;
        result.delivery.error = setup_error_;
        result.failure = notify::Failure::kChannelGone;
        return result;
    }
    if (std::string problem = CheckChatId(outgoing.to.value); !problem.empty()) {
        result.delivery.status = outbox::DeliveryStatus::kRejected;
        result.delivery.error = "not a Telegram chat id: " + problem;
        result.failure = notify::Failure::kAddressGone;
        return result;
    }
    const bool group = IsGroup(outgoing.to);
    const std::vector<Part> parts = Render(outgoing.message, options_.parts);
    std::string chat = outgoing.to.value;
    bool sent_any = false;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        const bool last = i + 1 == parts.size();
        notify::SendResult attempt = result;
        const PartOutcome outcome =
            SendPart(chat, group, parts[i], outgoing.message, last, attempt);
        result.moved_to = attempt.moved_to;
        if (!outcome.delivered) {
            const std::string what =
                parts.size() == 1 ? "" : fmt::format(" (part {} of {})", i + 1, parts.size());
            notify::SendResult failed = Failed(outcome.refusal, chat, sent_any, what);
            failed.moved_to = result.moved_to;
            failed.message_id = result.message_id;
            if (failed.failure == notify::Failure::kContent) {
                Log().error(
                    "Telegram refused a message for good (a bug). tenant={} key={} "
                    "error={}",
                    tenant_, outgoing.key, LogSafe(failed.delivery.error));
            }
            return failed;
        }
        result.message_id = attempt.message_id;
        sent_any = true;
    }
    result.delivery.status = outbox::DeliveryStatus::kDelivered;
    return result;
}

void TelegramChannel::Listen(notify::Inbound& inbound) {
    if (!api_) {
        Log().error("Telegram listener not started. tenant={} error={}", tenant_, setup_error_);
        return;
    }
    Stop();
    ListenerSetup setup{.tenant = tenant_,
                        .settings = settings_,
                        .locale = locale_,
                        .clock = &clock_,
                        .options = options_,
                        .replies = api_,
                        .pacer = &pacer_};
    listener_ = std::make_unique<Listener>(std::move(setup), inbound);
    listener_->Start();
}

void TelegramChannel::Stop() {
    if (listener_) {
        listener_->Stop();
        listener_.reset();
    }
}

}  // namespace fg::adapters::telegram
