#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adapters/amocrm/api/client.hpp"
#include "adapters/amocrm/wire/catalog.hpp"
#include "src/common/result.hpp"
#include "src/outbox/action.hpp"

namespace fg::adapters::amocrm {

/// Writes planned actions back to amoCRM:
/// - note   -> POST /api/v4/leads/notes [{entity_id, note_type:"common", params:{text}}]
/// - task   -> POST /api/v4/tasks, up to 50 per request (MaxBatch), each with a request_id that
///             maps the answer back: {text, complete_till (TaskBody::due), entity_type:"leads",
///             entity_id, responsible_user_id (TaskBody::responsible), task_type_id:1}
/// - revert -> PATCH /api/v4/leads [{id, pipeline_id, status_id}], the status looked up in the
///             catalog by (RevertBody::pipeline, ::to); the catalog is refreshed once when the
///             stage is unknown
/// - notify, escalate -> kRejected: chat messages go to a chat notifier's channel, never here.
///
/// Classification: 2xx kDelivered; 408/429/5xx, transport failures, a refused token and a
/// blocked account kRetry (with retry_after when amoCRM gave one); other 4xx kRejected with the
/// reason. Writes are sent once per call, never retried inside it. When a call's outcome was
/// ambiguous the next attempt (Action::attempt > 1) first looks for the write in the CRM (the
/// lead's notes with this exact text created since the violation opened; the lead's tasks with
/// this text; the lead at the target status) and reports kDelivered without writing again if
/// it is there. Errors never hold secrets.
///
/// Thread-compatible, as outbox::ActionSink requires; the client it uses is thread-safe.
class Writer final : public outbox::ActionSink {
public:
    /// `refresh_catalog` re-reads the catalog into `catalog` (Reader::FetchCatalog).
    Writer(Client& client, std::shared_ptr<CatalogCache> catalog,
           std::function<Result<void>()> refresh_catalog);

    outbox::DeliveryResult Deliver(const outbox::Action& action) override;
    std::size_t MaxBatch(outbox::ActionKind kind) const override;
    std::vector<outbox::DeliveryResult> DeliverBatch(
        const std::vector<outbox::Action>& actions) override;

    static constexpr std::size_t kTaskBatch = 50;  // amoCRM recommends <= 50 per write

private:
    outbox::DeliveryResult DeliverNote(const outbox::Action& action);
    outbox::DeliveryResult DeliverRevert(const outbox::Action& action);
    std::vector<outbox::DeliveryResult> DeliverTasks(const std::vector<outbox::Action>& actions);

    Client& client_;
    std::shared_ptr<CatalogCache> catalog_;
    std::function<Result<void>()> refresh_catalog_;
};

}  // namespace fg::adapters::amocrm
