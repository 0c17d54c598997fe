#include "adapters/generic/action_sender.hpp"

#include <utility>

#include <fmt/format.h>

#include "adapters/generic/safe_text.hpp"
#include "src/outbox/action_codec.hpp"

namespace fg::adapters::generic {
namespace {

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

outbox::DeliveryStatus StatusOf(http::Verdict verdict) {
    switch (verdict) {
        case http::Verdict::kDelivered:
            return outbox::DeliveryStatus::kDelivered;
        case http::Verdict::kRetry:
            break;
        case http::Verdict::kRejected:
            return outbox::DeliveryStatus::kRejected;
    }
    return outbox::DeliveryStatus::kRetry;
}

}  // namespace

ActionSender::ActionSender(std::string_view actions_url, Duration connect_timeout,
                           Duration read_timeout, const Clock* clock)
    : ActionSender(actions_url, SenderOptions{.connect_timeout = connect_timeout,
                                              .read_timeout = read_timeout,
                                              .clock = clock}) {}

ActionSender::ActionSender(std::string_view actions_url, SenderOptions options)
    : client_options_{
          .connect_timeout = options.connect_timeout,
          .read_timeout = options.read_timeout,
          .ca_file = options.ca_file,
          .clock = options.clock,
      } {
    auto url = http::ParseUrl(actions_url);
    if (!url) {
        setup_error_ = "actions_url: " + url.error().message;
        return;
    }
    url_ = std::move(*url);
    SetUp();
}

void ActionSender::SetUp() {
    auto client = http::Client::Make(url_, client_options_);
    if (!client) {
        setup_error_ = "actions_url: " + client.error().message;
        setup_retryable_ = client.error().code == ErrorCode::kUnavailable;
        return;
    }
    client_ = std::move(*client);
    setup_error_.clear();
    setup_retryable_ = false;
}

ActionSender::~ActionSender() = default;

Result<void> ActionSender::ValidateUrl(std::string_view url) {
    auto parsed = http::ParseUrl(url);
    if (!parsed) {
        return MakeError(ErrorCode::kInvalidInput, "actions_url: {}", parsed.error().message);
    }
    return Ok{};
}

outbox::DeliveryResult ActionSender::Deliver(const outbox::Action& action) {
    if (!client_ && setup_retryable_) {
        SetUp();  // the ca_file may be back
    }
    if (!client_) {
        return {.status = setup_retryable_ ? outbox::DeliveryStatus::kRetry
                                           : outbox::DeliveryStatus::kRejected,
                .error = setup_error_};
    }
    // The URL itself (empty target): its path and query, as the tenant wrote them.
    const http::Outcome outcome = client_->Send({
        .method = "POST",
        .headers = {{"Idempotency-Key", HeaderSafe(action.idempotency_key())},
                    {"X-Funnelguard-Attempt", std::to_string(action.attempt)}},
        .body = outbox::EncodeAction(action.body),
        .content_type = "application/json",
    });
    const http::Classification verdict = http::Classify(outcome);
    outbox::DeliveryResult result{.status = StatusOf(verdict.verdict),
                                  .not_sent = verdict.not_sent};
    if (!outcome) {
        // Where and why ("127.0.0.1:9000: cannot connect: connection refused") or the
        // certificate's problem with the host: never the method and path (Message()), as the
        // URL's path may itself be a secret, nor its query or userinfo.
        result.error = outcome.failure.reason;
        return result;
    }
    const int status = outcome->status;
    if (status >= 300 && status < 400) {
        result.error =
            fmt::format("HTTP {}: a redirect to {}, not followed (actions go to actions_url only)",
                        status, http::LocationAuthority(outcome->location));
    } else if (verdict.verdict != http::Verdict::kDelivered) {
        result.error = fmt::format("HTTP {}: {}", status, SafeText(outcome->body, 200));
        result.retry_after = outcome->retry_after;
    }
    return result;
}

}  // namespace fg::adapters::generic
