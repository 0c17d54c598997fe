#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/amocrm/wire/catalog.hpp"
#include "src/common/result.hpp"
#include "src/common/time.hpp"
#include "src/crm/adapter.hpp"
#include "src/domain/model.hpp"

namespace fg::adapters::amocrm {

/// Where the decoder finds a tenant's current catalog (the lead wires one CatalogCache per
/// tenant). May return nullptr when none is loaded. Called at most once per Decode, and only
/// when the body holds a lead card.
using CatalogSource = std::function<std::shared_ptr<const Catalog>(const std::string& tenant)>;
/// The tenant's IANA time zone ("Europe/Moscow"); empty or unknown means UTC. Called at most
/// once per Decode, and only when the body holds a date string without a zone.
using TimeZoneSource = std::function<std::string(const std::string& tenant)>;

/// Decodes amoCRM webhooks: x-www-form-urlencoded with PHP bracket keys, lead cards in the API v2
/// shape (reference/amocrm.md §1). Safe to call concurrently (the sources must be too).
///
/// amoCRM disables a webhook that keeps failing, and real accounts send more shapes than the
/// docs show (Digital Pipeline triggers, older accounts), so the decoder is tolerant: a body that
/// parses as a form is accepted (Validate), and each element (`leads[status][0]`, `task[add][1]`,
/// ...) is read on its own: one it cannot understand fails alone, with its reason
/// (crm::Decoded::failed), and the rest of the body is applied.
///
/// Events, with their ids from event_ids.hpp and `at` in CRM time:
/// - `leads[add|update|status|responsible|restore][i]` → DealUpserted at `updated_at` (else
///   `last_modified`, else the time of receipt): id, name → title, pipeline_id → pipeline
///   (decimal), (pipeline_id, status_id) → stage = the status NAME from the catalog,
///   responsible_user_id → responsible (decimal), created_at (else date_create) → created_at,
///   custom_fields → fields keyed by the field's name as sent (else the catalog's name, else its
///   code, else the id); a field's values joined with ", ", each `[value]` (else `[enum]`), date
///   fields without the `[value]` level as sent (unix seconds); a field without values is empty.
///   A restore is an upsert like any other. A `leads[status]` block whose old_status_id differs
///   also yields, one second before, an upsert of the same card at the old stage (when the
///   catalog knows it): it keeps a missed status webhook from looking like a skipped stage. An
///   absent pipeline_id is found from the status when one pipeline has it.
///   A compact element that carries no card (no name, responsible, price, custom fields or
///   creation date: the Digital Pipeline shape `id, status_id, pipeline_id, old_status_id,
///   old_pipeline_id`) yields StageObserved
///   instead, so that it moves the stage history without blanking the card.
/// - `leads[delete][i][id]` (or `leads[delete][i]=<id>`) → DealDeleted, `task[delete][i][id]` →
///   TaskDeleted, at the time of receipt (amoCRM sends none with a deletion).
/// - `task[add|update][i]` with element_type 2 (a lead) → TaskUpserted at `updated_at` (else
///   `last_modified`, else the time of receipt): element_id → deal, complete_before (unix) else
///   complete_till → due, status "1" (or is_completed) → done, text, responsible_user_id. Tasks
///   of contacts, companies and customers are ignored (counted in Decoded::ignored).
/// - `leads[note][i][note]` with note_type 4 (a text note) → NoteAdded at its `created_at` (else
///   date_create, else the time of receipt). Other note types are ignored.
/// - Contacts, companies, customers, unsorted, catalogs, chats and unknown lead actions: ignored,
///   counted by entity in Decoded::ignored.
///
/// Values: numbers and times may come in literal double quotes (`"142"`), which are dropped;
/// text is kept as sent. An element without an id gets a stable one derived from its content
/// ("x" and 16 hex digits of a SHA-256), except a lead card or a deletion, which cannot be
/// placed without it. Times are unix seconds, or "YYYY-MM-DD HH:MM:SS" read in the tenant's time
/// zone; where amoCRM sends both (updated_at / last_modified, complete_before / complete_till)
/// the unix one wins.
///
/// Errors: Validate refuses only what is not a form at all (kInvalidInput: broken
/// percent-encoding, unbalanced brackets, nothing in it). DecodeElements answers kUnavailable
/// when the tenant's catalog does not know a lead's pipeline or (pipeline, status) — a stage
/// added since the last refresh — or is not loaded: the body is fine, so refresh the catalog and
/// decode the same body again later. Decode is the strict form for tests and tools: the first
/// failed element is its kInvalidInput error.
class AmoDecoder final : public crm::WebhookDecoder {
public:
    /// `time_zone` may be null (UTC).
    AmoDecoder(CatalogSource catalog, TimeZoneSource time_zone);

    std::string_view Name() const override { return "amocrm"; }
    /// The check before the 200: the body parses as a form and holds something.
    Result<void> Validate(std::string_view body) const override;
    /// Deal::tenant is `request.tenant`.
    Result<std::vector<domain::Event>> Decode(const crm::WebhookRequest& request) const override;
    Result<crm::Decoded> DecodeElements(const crm::WebhookRequest& request) const override;
    /// Validate and DecodeElements with one parse of the form body (the HTTP intake's path).
    Result<std::optional<crm::Decoded>> ValidateAndDecode(
        const crm::WebhookRequest& request) const override;
    /// Lower-case hex SHA-256 of the body: amoCRM retries send the same bytes.
    std::string DedupeKey(std::string_view body) const override;

private:
    CatalogSource catalog_;
    TimeZoneSource time_zone_;
};

}  // namespace fg::adapters::amocrm
