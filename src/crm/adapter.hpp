#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/common/result.hpp"
#include "src/domain/model.hpp"

namespace fg::crm {

/// A webhook as the HTTP layer received it (already authenticated).
struct WebhookRequest {
    std::string tenant{};
    std::string content_type{};
    std::string body{};
};

/// The inbound half of an adapter. Pure: no network, no database, no clock; safe to call
/// concurrently. CRM ids and JSON stay inside; only domain events come out.
class WebhookDecoder {
public:
    virtual ~WebhookDecoder() = default;
    /// Lower-case CRM name, the config value and the URL segment ("generic", "amocrm").
    virtual std::string_view Name() const = 0;
    /// Checks the body's shape without decoding it into events: run before the 200, so that a
    /// malformed body is refused with a reason (kInvalidInput) instead of being stored.
    virtual Result<void> Validate(std::string_view body) const = 0;
    /// Normalized events; kInvalidInput with a reason naming the offending element.
    virtual Result<std::vector<domain::Event>> Decode(const WebhookRequest& request) const = 0;
    /// A key that is equal for two deliveries of the same webhook (stored in the inbox).
    virtual std::string DedupeKey(std::string_view body) const = 0;

    /// Validate and Decode in one call, for callers that check a body before storing it and
    /// process it right after (the HTTP intake, replay): they hand the events on, so the body is
    /// parsed once. An error is Validate's: refuse the body. A value holds Decode's events, or
    /// nullopt when Decode fails although Validate passed (the body is stored and processing
    /// decodes it again: it records the reason, or parks the item until the CRM directory is
    /// refreshed on kUnavailable, as without this call). The default runs Validate, then Decode; an
    /// adapter whose Validate decodes anyway overrides it to parse once.
    virtual Result<std::optional<std::vector<domain::Event>>> ValidateAndDecode(
        const WebhookRequest& request) const {
        if (auto valid = Validate(request.body); !valid) {
            return valid.error();
        }
        auto events = Decode(request);
        if (!events) {
            return std::optional<std::vector<domain::Event>>{};
        }
        return std::optional<std::vector<domain::Event>>{std::move(events).value()};
    }
};

}  // namespace fg::crm
