#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "src/common/clock.hpp"
#include "src/common/result.hpp"
#include "src/common/time.hpp"
#include "src/http/client.hpp"
#include "src/outbox/action.hpp"

namespace fg::adapters::generic {

struct SenderOptions {
    Duration connect_timeout{5};
    Duration read_timeout{10};
    /// For HTTP-date Retry-After values; must outlive the sender. nullptr: the system clock.
    const Clock* clock = nullptr;
    /// PEM certificates of a private CA, trusted besides the system store (https only).
    std::string ca_file{};
};

/// Delivers actions to a tenant's `actions_url` as `POST <path>` with the action as JSON
/// (outbox::EncodeAction), `Idempotency-Key` and `X-Funnelguard-Attempt` headers, through an
/// http::Client (keep-alive connections reused across deliveries).
///
/// Classification (http::Classify): 2xx is kDelivered; 408, 429 and 5xx are kRetry with
/// `retry_after` from a Retry-After header; transport failures (refused, reset, timeout) are
/// kRetry; any other status is kRejected with "HTTP <status>: <start of the body>"; a 3xx is
/// never followed (kRejected, naming the Location's host only). A 429 (refused before the
/// receiver did anything) and a failure before anything was sent are `not_sent`: certainly not
/// landed. Errors name the host and port ("transport error: 127.0.0.1:9000: cannot connect:
/// connection refused") but never the rest of the URL, so its userinfo (sent as Basic auth),
/// path and query (sent as is) may carry secrets.
///
/// https verifies the certificate chain (system store plus `ca_file`) and the host name; a
/// failure is kRetry with "https://<host>:<port>: certificate verify failed: <reason>" and
/// nothing of the action is sent. An https URL never falls back to http.
///
/// Thread-compatible: one instance per worker, as outbox::ActionSink requires.
class ActionSender final : public outbox::ActionSink {
public:
    /// `actions_url` should have passed ValidateUrl; if it did not, every delivery is kRejected.
    /// `clock` (for HTTP-date Retry-After values) must outlive the sender; nullptr means the
    /// system clock.
    explicit ActionSender(std::string_view actions_url, Duration connect_timeout = Duration{5},
                          Duration read_timeout = Duration{10}, const Clock* clock = nullptr);
    /// A `ca_file` that cannot be loaded makes every delivery kRetry with the reason (config
    /// check reports it first; a retry finds the file once it is back).
    ActionSender(std::string_view actions_url, SenderOptions options);
    ~ActionSender() override;
    ActionSender(const ActionSender&) = delete;
    ActionSender& operator=(const ActionSender&) = delete;

    /// Accepts `http://host[:port][/path][?query]` and the https form, with optional
    /// `user:password@` (sent as Basic auth). kInvalidInput otherwise; the reason never repeats
    /// the URL's userinfo or query.
    static Result<void> ValidateUrl(std::string_view url);

    outbox::DeliveryResult Deliver(const outbox::Action& action) override;

private:
    void SetUp();

    http::Url url_;
    http::ClientOptions client_options_;
    std::unique_ptr<http::Client> client_;  // null when setup_error_ says why
    std::string setup_error_;
    bool setup_retryable_ = false;  // a missing ca_file may come back: SetUp again
};

}  // namespace fg::adapters::generic
