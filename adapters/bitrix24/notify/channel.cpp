#include "adapters/bitrix24/notify/channel.hpp"

#include <array>
#include <cmath>

#include <fmt/format.h>

#include "adapters/bitrix24/notify/config.hpp"
#include "src/common/log.hpp"

namespace fg::adapters::bitrix24::notify {
namespace {

using fg::notify::Failure;
using fg::notify::SendResult;
using outbox::DeliveryStatus;

constexpr const char* kClientId = "funnelguard";

spdlog::logger& Log() {
    static const std::shared_ptr<spdlog::logger> logger = ModuleLogger("bitrix24.notify");
    return *logger;
}

bool OneOf(const std::string& code, std::initializer_list<std::string_view> codes) {
    return std::any_of(codes.begin(), codes.end(),
                       [&](std::string_view one) { return code == one; });
}

std::string TagOf(const fg::notify::Outgoing& outgoing, std::size_t part) {
    const std::string& stable =
        outgoing.message.reference.empty() ? outgoing.key : outgoing.message.reference;
    return part == 0 ? fmt::format("FG|{}", stable) : fmt::format("FG|{}|{}", stable, part + 1);
}

// What the portal's refusal means for this message (chat.md §4.2, §4.3).
SendResult Classify(const Error& error, const CallInfo& info, bool blocked) {
    SendResult result;
    result.delivery.error = error.message;
    result.delivery.status = DeliveryStatus::kRejected;
    const std::string& code = info.code;
    if (code == "QUERY_LIMIT_EXCEEDED" || code == "OPERATION_TIME_LIMIT") {
        result.delivery.status = DeliveryStatus::kRetry;
        result.delivery.retry_after = info.retry_after;
        result.delivery.not_sent = true;
        return result;
    }
    if (blocked) {
        // ACCESS_DENIED (no REST on this plan), OVERLOAD_LIMIT, PORTAL_DELETED: nothing reaches
        // anyone until an administrator acts.
        result.failure = Failure::kChannelGone;
        return result;
    }
    if (OneOf(code, {"USER_ID_EMPTY", "ACCESS_ERROR", "USER_NOT_FOUND", "ERROR_USER_NOT_FOUND"}) ||
        (info.status == 400 && code.empty() && error.code == ErrorCode::kNotFound)) {
        result.failure = Failure::kAddressGone;
        return result;
    }
    if (OneOf(code, {"MESSAGE_EMPTY", "ATTACH_OVERSIZE", "ATTACH_ERROR", "PARAMS_ERROR"})) {
        result.failure = Failure::kContent;
        return result;
    }
    if (code == "WRONG_AUTH_TYPE") {
        result.delivery.error = fmt::format(
            "{} (the portal refuses {} for this kind of authorization: use an inbound webhook "
            "with the im permission, or a local app with the im scope, in [tenant.bitrix24])",
            error.message, kMethod);
        result.failure = Failure::kChannelGone;
        return result;
    }
    if (error.code == ErrorCode::kUnauthorized) {
        // NO_AUTH_FOUND, insufficient_scope, an OAuth session that cannot be refreshed: the
        // tenant's credentials, not this person.
        result.failure = Failure::kChannelGone;
        return result;
    }
    if (error.code == ErrorCode::kUnavailable) {
        result.delivery.status = DeliveryStatus::kRetry;
        result.delivery.retry_after = info.retry_after;
        result.delivery.not_sent = info.not_sent;
        return result;
    }
    if (info.status == 0 || (info.status >= 300 && info.status < 400) ||
        code == "ERROR_METHOD_NOT_FOUND") {
        // No client (a bad portal_url), a renamed portal, a portal without im: the channel.
        result.failure = Failure::kChannelGone;
    }
    return result;
}

}  // namespace

NotifyChannel::NotifyChannel(std::string tenant, std::shared_ptr<Client> client, std::string locale,
                             RenderLimits limits)
    : tenant_(std::move(tenant)),
      client_(std::move(client)),
      locale_(std::move(locale)),
      limits_(limits) {}

Duration NotifyChannel::WaitFor(const fg::notify::Address& to) {
    (void)to;  // one bucket for the whole portal, whoever the notification is for
    const double seconds = client_->limiter().WaitSeconds();
    const Duration bucket{static_cast<Duration::rep>(std::ceil(std::max(0.0, seconds)))};
    return std::max(bucket, client_->limiter().MethodBlockedFor(kMethod));
}

std::string NotifyChannel::Check() {
    CallInfo info;
    auto answer = client_->Call("user.current", nlohmann::json::object(), true, &info);
    if (answer) {
        return {};
    }
    return fmt::format(
        "Bitrix24 notifications of tenant \"{}\": the portal refused the "
        "credentials check: {}",
        tenant_, answer.error().message);
}

SendResult NotifyChannel::Send(const fg::notify::Outgoing& outgoing) {
    SendResult result;
    if (std::string problem = CheckUserId(outgoing.to.value); !problem.empty()) {
        result.delivery.status = DeliveryStatus::kRejected;
        result.delivery.error = "not a Bitrix24 user id: " + problem;
        result.failure = Failure::kAddressGone;
        return result;
    }
    const std::int64_t user = std::stoll(outgoing.to.value);
    const std::vector<Notification> parts = Render(outgoing.message, locale_, limits_);
    for (std::size_t i = 0; i < parts.size(); ++i) {
        nlohmann::json params = {{"USER_ID", user},
                                 {"MESSAGE", parts[i].message},
                                 {"MESSAGE_OUT", parts[i].message_out},
                                 {"TAG", TagOf(outgoing, i)}};
        if (!client_->UsesOAuth()) {
            // Through a webhook the TAG counts only with a CLIENT_ID (chat.md §3.1).
            params["CLIENT_ID"] = kClientId;
        }
        CallInfo info;
        // Sent once: the outbox decides about retries, with what the portal said.
        auto answer = client_->Call(kMethod, params, /*retry=*/false, &info);
        if (!answer) {
            SendResult failed = Classify(answer.error(), info, !client_->Blocked().empty());
            const std::string what =
                parts.size() == 1 ? "" : fmt::format(" (part {} of {})", i + 1, parts.size());
            failed.delivery.error = fmt::format("to Bitrix24 user {}{}: {}", user, what,
                                                client_->Redact(failed.delivery.error));
            if (failed.failure == Failure::kContent) {
                Log().error(
                    "Bitrix24 refused a notification for good (a bug). tenant={} key={} error={}",
                    tenant_, outgoing.key, failed.delivery.error);
            }
            return failed;
        }
        if (answer->result.is_boolean() && !answer->result.get<bool>()) {
            // `false`: the portal created nothing and says no more; the same body would fare
            // no better.
            result.delivery.status = DeliveryStatus::kRejected;
            result.delivery.error =
                fmt::format("to Bitrix24 user {}: {} created no notification", user, kMethod);
            return result;
        }
        result.message_id = Text(answer->result);
    }
    result.delivery.status = DeliveryStatus::kDelivered;
    return result;
}

}  // namespace fg::adapters::bitrix24::notify
