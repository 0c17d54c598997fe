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
/// The time given to deletions, which carry none (see AmoDecoder).
using DeletionClock = std::function<Timestamp()>;

/// Decodes amoCRM webhooks: x-www-form-urlencoded with PHP bracket keys, lead cards in the API v2
/// shape (reference/amocrm.md §1). Safe to call concurrently (the sources must be too).
///
/// Events, with their ids from event_ids.hpp and `at` in CRM time:
/// - `leads[add|update|status|responsible|restore][i]` → DealUpserted at `updated_at` (else
///   `last_modified`): id, name → title, pipeline_id → pipeline (decimal), (pipeline_id,
///   status_id) → stage = the status NAME from the catalog, responsible_user_id → responsible
///   (decimal), created_at (else date_create) → created_at, custom_fields → fields keyed by the
///   field's name as sent (else the catalog's name, else the id); a field's values joined with
///   ", ", each `[value]` (else `[enum]`), date fields without the `[value]` level as sent (unix
///   seconds). A restore is an upsert like any other. A `leads[status]` block whose
///   old_status_id differs also yields, one second before, an upsert of the same card at the old
///   stage (when the catalog knows it): it keeps a missed status webhook from looking like a
///   skipped stage. An absent pipeline_id is found from the status when one pipeline has it.
/// - `leads[delete][i][id]` → DealDeleted, `task[delete][i][id]` → TaskDeleted. amoCRM sends no
///   time with a deletion, so `at` comes from the DeletionClock.
/// - `task[add|update][i]` with element_type 2 (a lead) → TaskUpserted at `updated_at` (else
///   `last_modified`): element_id → deal, complete_before (unix) else complete_till → due,
///   status "1" (or is_completed) → done, text, responsible_user_id. Tasks of contacts,
///   companies and customers give nothing.
/// - `leads[note][i][note]` with note_type 4 (a text note) → NoteAdded at its `created_at` (else
///   date_create). Other note types (files, calls, system notes) give nothing.
/// - Any other entity (contacts, unsorted, customers, ...) or action: accepted, no events.
///
/// Times: unix seconds, or "YYYY-MM-DD HH:MM:SS" read in the tenant's time zone; where amoCRM
/// sends both (updated_at / last_modified, complete_before / complete_till) the unix one wins.
///
/// Errors: kInvalidInput names the key (`leads[status][0][id]: not a number ("x")`); Validate
/// finds every kInvalidInput Decode would, except an absent pipeline_id that the catalog cannot
/// settle. kUnavailable when the tenant's catalog does not know a lead's pipeline or (pipeline,
/// status) — a stage added since the last refresh — or is not loaded: the body is fine, so
/// refresh the catalog and decode the same body again later.
class AmoDecoder final : public crm::WebhookDecoder {
public:
    /// `time_zone` may be null (UTC); `deletion_clock` may be null (the system clock).
    AmoDecoder(CatalogSource catalog, TimeZoneSource time_zone, DeletionClock deletion_clock);

    std::string_view Name() const override { return "amocrm"; }
    /// The shape check before the 200: a form body with at least one amoCRM entity block
    /// (leads, task, contacts, companies, customers, unsorted, catalogs, message, talk), every
    /// key the decoder reads well formed. Needs no catalog.
    Result<void> Validate(std::string_view body) const override;
    /// Deal::tenant is `request.tenant`.
    Result<std::vector<domain::Event>> Decode(const crm::WebhookRequest& request) const override;
    /// Validate and Decode with one parse of the form body (the HTTP intake's path).
    Result<std::optional<std::vector<domain::Event>>> ValidateAndDecode(
        const crm::WebhookRequest& request) const override;
    /// Lower-case hex SHA-256 of the body: amoCRM retries send the same bytes.
    std::string DedupeKey(std::string_view body) const override;

private:
    CatalogSource catalog_;
    TimeZoneSource time_zone_;
    DeletionClock deletion_clock_;
};

}  // namespace fg::adapters::amocrm
