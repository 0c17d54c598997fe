#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "src/common/result.hpp"
#include "src/crm/adapter.hpp"
#include "src/domain/model.hpp"

namespace fg::adapters::bitrix24 {

/// The body's auth[application_token] (what the HTTP layer compares with the tenant's secret in
/// constant time), empty when there is none or the body is not a form.
std::string ApplicationToken(std::string_view body);

/// The body without any token in its `auth[...]` block (access_token, refresh_token, the
/// application token, and any other key naming a token): what is stored and logged. Other pairs
/// keep their bytes, so a scrubbed body decodes as the original did.
std::string ScrubTokens(std::string_view body);

/// Why `body`, an event whose application token is right, comes from another portal than the
/// tenant's, or empty when it does not: its auth[domain] names another host than `domain`
/// (compared case-insensitively), or its auth[member_id] is not `member_id` (compared in constant
/// time: it is the portal's secret-like id, never repeated). An expectation left empty, or a body
/// that names no domain or member_id, is not checked.
std::string ForeignPortal(std::string_view body, std::string_view domain,
                          std::string_view member_id);

/// Decodes Bitrix24's outbound events (reference/bitrix24.md §1): form-encoded with PHP bracket
/// keys, event names in any case. Events carry ids only, so most become references for the
/// fetch stage (crm::Decoded::fetch, see references.hpp):
/// - ONCRMDEALADD / UPDATE / MOVETOCATEGORY → "deal:<data[FIELDS][ID]>"; ONCRMDEALDELETE →
///   DealDeleted at `ts` directly (nothing is left to fetch).
/// - ONCRMACTIVITYADD / UPDATE → "activity:<id>"; DELETE → TaskDeleted "todo:<id>" at `ts`.
/// - ONTASKADD / UPDATE → "task:<data[FIELDS_AFTER][ID]>"; DELETE → TaskDeleted "task:<id>"
///   (from FIELDS_BEFORE) at `ts`.
/// - ONCRMTIMELINECOMMENTADD / UPDATE → "comment:<id>", the id from data[FIELDS][ID] (the server
///   code) or data[ID] (the docs).
/// - Leads, contacts, companies, quotes, invoices, smart processes, task comments, other
///   comment events and unknown events: ignored, counted by entity.
/// An element without a usable id is reported in Decoded::failed. The payload's auth[domain],
/// auth[client_endpoint] and auth[server_endpoint] are never read: calls go to the tenant's
/// configured portal only.
class Bitrix24Decoder final : public crm::WebhookDecoder {
public:
    std::string_view Name() const override { return "bitrix24"; }
    /// A form with an `event`.
    Result<void> Validate(std::string_view body) const override;
    /// The strict form: only bodies that need no fetching decode (the deletions);
    /// kUnavailable for one whose entity must be fetched first, kInvalidInput for a failure.
    Result<std::vector<domain::Event>> Decode(const crm::WebhookRequest& request) const override;
    Result<crm::Decoded> DecodeElements(const crm::WebhookRequest& request) const override;
    Result<std::optional<crm::Decoded>> ValidateAndDecode(
        const crm::WebhookRequest& request) const override;
    /// The event name, its ids and `ts`: Bitrix24 never resends, so two equal keys are one
    /// delivery stored twice.
    std::string DedupeKey(std::string_view body) const override;
};

}  // namespace fg::adapters::bitrix24
