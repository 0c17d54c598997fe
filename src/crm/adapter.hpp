#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/common/result.hpp"
#include "src/common/time.hpp"
#include "src/domain/model.hpp"

namespace fg::crm {

/// A webhook as the HTTP layer received it (already authenticated).
struct WebhookRequest {
    std::string tenant{};
    std::string content_type{};
    std::string body{};
    /// When funnelguard received it: the time of what a body says without a time of its own. The
    /// same value at intake and when the stored body is decoded again, so event ids agree.
    Timestamp received_at{};
};

/// What a webhook body says, element by element (an element is one entity in one action block,
/// e.g. amoCRM's `leads[status][0]`).
struct Decoded {
    std::vector<domain::Event> events{};
    /// Elements that could not be understood, each "element: reason"; the rest of the body is
    /// applied all the same.
    std::vector<std::string> failed{};
    /// Elements about entities the rules do not judge (contacts, companies, unsorted...), by
    /// entity name: acknowledged and counted, nothing else.
    std::map<std::string, int> ignored{};
    /// Elements that carry only ids (Bitrix24's events): references, opaque to the core, that the
    /// tenant's crm::Fetcher turns into events. A body with any is applied once all are fetched
    /// (its complete events with them); distinct, in the order of the body.
    std::vector<std::string> fetch{};
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

    /// Decode, element by element, for processing: an adapter whose sender disables a webhook
    /// that keeps failing (the CRMs) applies what it understands and reports each element it
    /// cannot understand in Decoded::failed, instead of failing the body. An error fails the
    /// whole body, except kUnavailable: the tenant's CRM directory lacks what the body names, so
    /// the body waits for the fetch stage to load the directory, and is decoded again then. The
    /// default is Decode: all or nothing.
    virtual Result<Decoded> DecodeElements(const WebhookRequest& request) const {
        auto events = Decode(request);
        if (!events) {
            return events.error();
        }
        return Decoded{
            .events = std::move(events).value(), .failed = {}, .ignored = {}, .fetch = {}};
    }

    /// Validate and DecodeElements in one call, for callers that check a body before storing it
    /// and process it right after (the HTTP intake, replay): they hand the result on, so the body
    /// is parsed once. An error is Validate's: refuse the body. A value holds DecodeElements'
    /// result, or nullopt when it fails although Validate passed (the body is stored and
    /// processing decodes it again: it records the reason, or on kUnavailable hands the item to
    /// the fetch stage, which loads the CRM directory, as without this call). The default runs
    /// Validate, then DecodeElements; an adapter whose Validate decodes anyway overrides it to
    /// parse once.
    virtual Result<std::optional<Decoded>> ValidateAndDecode(const WebhookRequest& request) const {
        if (auto valid = Validate(request.body); !valid) {
            return valid.error();
        }
        auto decoded = DecodeElements(request);
        if (!decoded) {
            return std::optional<Decoded>{};
        }
        return std::optional<Decoded>{std::move(decoded).value()};
    }
};

}  // namespace fg::crm
