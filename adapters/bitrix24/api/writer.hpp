#pragma once

#include <functional>
#include <memory>

#include "adapters/bitrix24/api/catalog.hpp"
#include "adapters/bitrix24/api/client.hpp"
#include "adapters/bitrix24/config.hpp"
#include "src/outbox/action.hpp"

namespace fg::adapters::bitrix24 {

/// Writes planned actions back to the portal:
/// - note   -> crm.timeline.comment.add {fields: {ENTITY_TYPE: deal, ENTITY_ID, COMMENT}}
/// - task   -> crm.activity.todo.add {ownerTypeId: 2, ownerId, deadline, title, description,
///             responsibleId} (write_tasks_as = "todo"), or tasks.task.add {fields: {TITLE,
///             DEADLINE, RESPONSIBLE_ID, UF_CRM_TASK: ["D_<deal>"]}} ("task")
/// - revert -> crm.deal.update {id, fields: {STAGE_ID}}, the STATUS_ID of (RevertBody::pipeline,
///             ::to) from the catalog (refreshed once when it lacks the stage)
/// - messages -> kRejected: chat goes to a chat notifier's channel.
/// Several actions of one kind go in one `batch` (MaxBatch 50), each answered from its own
/// result or result_error. Classification: 2xx delivered; a limit, 5xx, no answer or a refused
/// token kRetry (with the wait, and not_sent where the portal did nothing); "Not found" and
/// other 4xx kRejected. Each write is sent once per call; an attempt after an ambiguous failure
/// first looks for the write in the portal (the deal's comments, to-dos or tasks with this
/// text; the deal at the stage) and reports it delivered instead of writing it twice. The texts
/// written are the action's text as it is, so that their events come back with the text the
/// engine recorded as its own write (storage's own-write fingerprints).
class Writer final : public outbox::ActionSink {
public:
    Writer(Client& client, std::shared_ptr<CatalogCache> catalog,
           std::function<Result<void>()> refresh_catalog, WriteTasksAs tasks_as);

    outbox::DeliveryResult Deliver(const outbox::Action& action) override;
    std::size_t MaxBatch(outbox::ActionKind kind) const override;
    std::vector<outbox::DeliveryResult> DeliverBatch(
        const std::vector<outbox::Action>& actions) override;

private:
    /// The method and parameters of the write, or the reason it cannot be written.
    Result<std::pair<std::string, nlohmann::json>> WriteOf(const outbox::Action& action);
    /// Whether an earlier attempt's write is in the portal already.
    bool AlreadyWritten(const outbox::Action& action);

    Client& client_;
    std::shared_ptr<CatalogCache> catalog_;
    std::function<Result<void>()> refresh_catalog_;
    WriteTasksAs tasks_as_;
};

}  // namespace fg::adapters::bitrix24
