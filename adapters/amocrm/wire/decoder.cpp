#include "adapters/amocrm/wire/decoder.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <exception>
#include <optional>
#include <utility>
#include <variant>

#include <date/date.h>
#include <date/tz.h>
#include <fmt/format.h>
#include <openssl/evp.h>

#include "adapters/amocrm/wire/elements.hpp"
#include "adapters/amocrm/wire/event_ids.hpp"

namespace fg::adapters::amocrm {
namespace {

using elements::Decimal;
using elements::FieldValue;
using elements::Item;
using elements::LeadCard;
using elements::LeadDeletion;
using elements::NoteCard;
using elements::TaskCard;
using elements::TaskDeletion;

// Maps checked items to domain events for one tenant; fetches the catalog and the zone lazily.
class Mapper {
public:
    Mapper(const crm::WebhookRequest& request, const CatalogSource& catalog,
           const TimeZoneSource& time_zone)
        : tenant_(request.tenant),
          received_at_(request.received_at),
          catalog_source_(catalog),
          time_zone_source_(time_zone) {}

    /// kUnavailable when an item needs a catalog that is not there (the whole body waits);
    /// items that cannot be mapped otherwise fail alone, into `out.failed`.
    Result<void> MapAll(std::vector<Item>& items, crm::Decoded& out) {
        out.events.reserve(items.size());
        for (Item& item : items) {
            if (auto mapped = Map(item, out.events); !mapped) {
                if (mapped.error().code == ErrorCode::kUnavailable) {
                    return mapped.error();
                }
                out.failed.push_back(std::move(mapped.error().message));
            }
        }
        return Ok{};
    }

private:
    Result<void> Map(Item& item, std::vector<domain::Event>& out) {
        if (auto* lead = std::get_if<LeadCard>(&item)) {
            return MapLead(*lead, out);
        }
        if (const auto* deletion = std::get_if<LeadDeletion>(&item)) {
            out.push_back({.id = LeadDeletedEventId(deletion->id),
                           .at = received_at_,
                           .body = domain::DealDeleted{.deal_id = Decimal(deletion->id)}});
            return Ok{};
        }
        if (auto* task = std::get_if<TaskCard>(&item)) {
            MapTask(*task, out);
            return Ok{};
        }
        if (const auto* deletion = std::get_if<TaskDeletion>(&item)) {
            out.push_back({.id = TaskDeletedEventId(deletion->id),
                           .at = received_at_,
                           .body = domain::TaskDeleted{.task_id = Decimal(deletion->id)}});
            return Ok{};
        }
        auto& note = std::get<NoteCard>(item);
        const Timestamp at = Resolve(note.created);
        out.push_back({.id = NoteEventId(note.id),
                       .at = at,
                       .body = domain::NoteAdded{.note = {.id = note.id,
                                                          .deal_id = Decimal(note.lead_id),
                                                          .at = at,
                                                          .text = std::move(note.text)}}});
        return Ok{};
    }

    Result<const Catalog*> GetCatalog() {
        if (!catalog_) {
            catalog_ = catalog_source_ ? catalog_source_(tenant_) : nullptr;
            if (!catalog_) {
                return MakeError(ErrorCode::kUnavailable,
                                 "the amoCRM catalog of tenant {} is not loaded yet", tenant_);
            }
        }
        return catalog_.get();
    }

    // The one pipeline that has `status_id` (ids other than 142/143 are account-wide).
    static std::vector<std::int64_t> PipelinesWith(const Catalog& catalog, std::int64_t status_id) {
        std::vector<std::int64_t> found;
        for (const PipelineInfo& pipeline : catalog.pipelines) {
            if (catalog.FindStatus(pipeline.id, status_id) != nullptr) {
                found.push_back(pipeline.id);
            }
        }
        return found;
    }

    Result<std::int64_t> PipelineOf(const Catalog& catalog, const LeadCard& lead) {
        if (lead.pipeline_id) {
            if (catalog.FindPipeline(*lead.pipeline_id) == nullptr) {
                return MakeError(ErrorCode::kUnavailable,
                                 "{}: pipeline {} is not in the amoCRM catalog of tenant {} "
                                 "(added since the last refresh?)",
                                 lead.path, *lead.pipeline_id, tenant_);
            }
            return *lead.pipeline_id;
        }
        const std::vector<std::int64_t> pipelines = PipelinesWith(catalog, lead.status_id);
        if (pipelines.size() == 1) {
            return pipelines.front();
        }
        if (pipelines.empty()) {
            return MakeError(ErrorCode::kUnavailable,
                             "{}: status {} is in no pipeline of the amoCRM catalog of tenant {} "
                             "(added since the last refresh?)",
                             lead.path, lead.status_id, tenant_);
        }
        return MakeError(ErrorCode::kInvalidInput,
                         "{}[pipeline_id]: required: status {} is in {} pipelines", lead.path,
                         lead.status_id, pipelines.size());
    }

    Result<void> MapLead(LeadCard& lead, std::vector<domain::Event>& out) {
        auto catalog = GetCatalog();
        if (!catalog) {
            return catalog.error();
        }
        const Catalog& known = **catalog;
        auto pipeline = PipelineOf(known, lead);
        if (!pipeline) {
            return pipeline.error();
        }
        const Status* status = known.FindStatus(*pipeline, lead.status_id);
        if (status == nullptr) {
            return MakeError(ErrorCode::kUnavailable,
                             "{}: status {} of pipeline {} is not in the amoCRM catalog of tenant "
                             "{} (added since the last refresh?)",
                             lead.path, lead.status_id, *pipeline, tenant_);
        }
        const Timestamp at = lead.updated ? Resolve(*lead.updated) : received_at_;
        domain::Deal deal{
            .tenant = tenant_,
            .id = Decimal(lead.id),
            .title = std::move(lead.name),
            .pipeline = Decimal(*pipeline),
            .stage = StageName(*status),
            .responsible = lead.responsible.value_or(0) != 0 ? Decimal(*lead.responsible) : "",
            .fields = {},
            .created_at = lead.created ? std::min(Resolve(*lead.created), at) : at,
            .updated_at = at,
        };
        for (FieldValue& field : lead.fields) {
            // The name as sent, else the catalog's, else the code (UTM_SOURCE, PHONE), else the
            // id in decimal.
            std::string name = std::move(field.name);
            if (name.empty() && field.id) {
                name = known.FieldName(*field.id);
                if (name == Decimal(*field.id) && !field.code.empty()) {
                    name = std::move(field.code);
                }
            } else if (name.empty()) {
                name = std::move(field.code);
            }
            deal.fields.insert_or_assign(std::move(name), std::move(field.value));
        }
        if (lead.status_change || !lead.has_card) {
            if (lead.old_status_id) {
                if (auto prior = PriorStage(known, lead, *pipeline, deal, at)) {
                    out.push_back(std::move(*prior));
                }
            }
        }
        const std::string id = LeadVersionEventId(lead.id, ToEpoch(at), lead.status_id);
        if (!lead.has_card) {
            out.push_back({.id = id,
                           .at = at,
                           .body = domain::StageObserved{.deal_id = std::move(deal.id),
                                                         .pipeline = std::move(deal.pipeline),
                                                         .stage = std::move(deal.stage)}});
            return Ok{};
        }
        out.push_back({.id = id, .at = at, .body = domain::DealUpserted{.deal = std::move(deal)}});
        return Ok{};
    }

    // The stage the lead left, a second before it moved; nothing when the webhook names no other
    // stage or the catalog does not know it (a hint, not worth a retry).
    std::optional<domain::Event> PriorStage(const Catalog& catalog, const LeadCard& lead,
                                            std::int64_t pipeline, const domain::Deal& deal,
                                            Timestamp at) {
        const std::int64_t old_status = *lead.old_status_id;
        std::int64_t old_pipeline = lead.old_pipeline_id.value_or(pipeline);
        if (old_status == lead.status_id && old_pipeline == pipeline) {
            return std::nullopt;
        }
        const Status* status = catalog.FindStatus(old_pipeline, old_status);
        if (status == nullptr && !lead.old_pipeline_id) {
            // Moved from another pipeline, which compact payloads do not name.
            const std::vector<std::int64_t> pipelines = PipelinesWith(catalog, old_status);
            if (pipelines.size() == 1) {
                old_pipeline = pipelines.front();
                status = catalog.FindStatus(old_pipeline, old_status);
            }
        }
        if (status == nullptr) {
            return std::nullopt;
        }
        const Timestamp prior_at = at - Duration{1};
        const std::string id =
            LeadPriorStageEventId(lead.id, ToEpoch(at), lead.status_id, old_status);
        if (!lead.has_card) {
            return domain::Event{.id = id,
                                 .at = prior_at,
                                 .body = domain::StageObserved{.deal_id = deal.id,
                                                               .pipeline = Decimal(old_pipeline),
                                                               .stage = StageName(*status)}};
        }
        domain::Deal prior = deal;
        prior.pipeline = Decimal(old_pipeline);
        prior.stage = StageName(*status);
        prior.updated_at = prior_at;
        prior.created_at = std::min(prior.created_at, prior_at);
        return domain::Event{
            .id = id, .at = prior_at, .body = domain::DealUpserted{.deal = std::move(prior)}};
    }

    static std::string StageName(const Status& status) {
        return status.name.empty() ? Decimal(status.id) : status.name;
    }

    void MapTask(TaskCard& task, std::vector<domain::Event>& out) {
        const Timestamp at = task.updated ? Resolve(*task.updated) : received_at_;
        domain::Task mapped{
            .id = task.id,
            .deal_id = Decimal(task.lead_id),
            .due = {},
            .done = task.done,
            .deleted = false,
            .responsible = task.responsible.value_or(0) != 0 ? Decimal(*task.responsible) : "",
            .text = std::move(task.text),
            .created_at = task.created ? std::min(Resolve(*task.created), at) : at,
            .updated_at = at,
        };
        if (task.due) {
            mapped.due = Resolve(*task.due);
        }
        out.push_back({.id = TaskVersionEventId(task.id, ToEpoch(at)),
                       .at = at,
                       .body = domain::TaskUpserted{.task = std::move(mapped)}});
    }

    Timestamp Resolve(const std::optional<elements::CrmTime>& time) {
        return time ? Resolve(*time) : received_at_;
    }

    Timestamp Resolve(const elements::CrmTime& time) {
        if (!time.local) {
            return time.value;
        }
        if (!zone_loaded_) {
            zone_loaded_ = true;
            const std::string name = time_zone_source_ ? time_zone_source_(tenant_) : "";
            try {
                zone_ = name.empty() ? nullptr : date::locate_zone(name);
            } catch (const std::exception&) {
                zone_ = nullptr;  // config check rejects unknown zones; UTC is the fallback
            }
        }
        if (zone_ == nullptr) {
            return time.value;
        }
        // A time that a DST change skipped or repeated takes the earlier reading.
        return zone_->to_sys(date::local_seconds{time.value.time_since_epoch()},
                             date::choose::earliest);
    }

    const std::string& tenant_;
    const Timestamp received_at_;
    const CatalogSource& catalog_source_;
    const TimeZoneSource& time_zone_source_;
    std::shared_ptr<const Catalog> catalog_{};
    bool zone_loaded_ = false;
    const date::time_zone* zone_ = nullptr;
};

}  // namespace

AmoDecoder::AmoDecoder(CatalogSource catalog, TimeZoneSource time_zone)
    : catalog_(std::move(catalog)), time_zone_(std::move(time_zone)) {}

Result<void> AmoDecoder::Validate(std::string_view body) const {
    try {
        auto parsed = elements::ParseForm(body);
        if (!parsed) {
            return parsed.error();
        }
        return Ok{};
    } catch (const std::exception& error) {
        return MakeError(ErrorCode::kInternal, "amoCRM webhook could not be checked: {}",
                         error.what());
    }
}

Result<crm::Decoded> AmoDecoder::DecodeElements(const crm::WebhookRequest& request) const {
    try {
        auto parsed = elements::ParseForm(request.body);
        if (!parsed) {
            return parsed.error();
        }
        elements::Extracted extracted = elements::Extract(*parsed);
        crm::Decoded decoded{.events = {},
                             .failed = std::move(extracted.failed),
                             .ignored = std::move(extracted.ignored),
                             .fetch = {}};
        if (auto mapped = Mapper(request, catalog_, time_zone_).MapAll(extracted.items, decoded);
            !mapped) {
            return mapped.error();
        }
        return decoded;
    } catch (const std::exception& error) {
        // Only allocation failures or a broken tz database get here (convention 3).
        return MakeError(ErrorCode::kInternal, "amoCRM webhook could not be decoded: {}",
                         error.what());
    }
}

Result<std::vector<domain::Event>> AmoDecoder::Decode(const crm::WebhookRequest& request) const {
    auto decoded = DecodeElements(request);
    if (!decoded) {
        return decoded.error();
    }
    if (!decoded->failed.empty()) {
        return MakeError(ErrorCode::kInvalidInput, "{}", decoded->failed.front());
    }
    return std::move(decoded->events);
}

Result<std::optional<crm::Decoded>> AmoDecoder::ValidateAndDecode(
    const crm::WebhookRequest& request) const {
    auto decoded = DecodeElements(request);
    if (!decoded) {
        if (decoded.error().code == ErrorCode::kInvalidInput) {
            return decoded.error();  // not a form: refused before it is stored
        }
        // Stored all the same: its processing decodes it again and keeps the reason, or parks
        // it until the catalog is refreshed.
        return std::optional<crm::Decoded>{};
    }
    return std::optional<crm::Decoded>{std::move(decoded).value()};
}

std::string AmoDecoder::DedupeKey(std::string_view body) const {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    if (EVP_Digest(body.data(), body.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) {
        return {};  // allocation failure inside OpenSSL: the delivery counts as new (safe side)
    }
    static constexpr std::string_view kHex = "0123456789abcdef";
    std::string hex;
    hex.reserve(length * 2);
    for (unsigned int i = 0; i < length; ++i) {
        hex += kHex[digest[i] >> 4];
        hex += kHex[digest[i] & 0x0F];
    }
    return hex;
}

}  // namespace fg::adapters::amocrm
