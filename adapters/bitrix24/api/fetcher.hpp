#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "adapters/bitrix24/api/catalog.hpp"
#include "adapters/bitrix24/api/client.hpp"
#include "adapters/bitrix24/api/mapping.hpp"
#include "src/crm/fetcher.hpp"

namespace fg::adapters::bitrix24 {

/// The batch commands that read a deal's to-dos, tasks and comments (per `deal_tasks`), keyed
/// `<prefix>_todos`, `<prefix>_tasks`, `<prefix>_comments`: what a fetched deal and the
/// reconciliation bring with every deal, so that it is judged with them.
std::vector<BatchCommand> DealChildrenCommands(const std::string& prefix, const std::string& deal,
                                               DealTasks deal_tasks);
/// The events of those commands' answers (missing or failed ones add nothing).
void MapDealChildren(const nlohmann::json& todos, const nlohmann::json& tasks,
                     const nlohmann::json& comments, const MapContext& context,
                     std::vector<domain::Event>& events);

/// Completes the decoder's references (references.hpp) through the portal: crm.deal.get (with
/// the deal's to-dos, tasks and comments), crm.activity.get, tasks.task.get and
/// crm.timeline.comment.get, all of one Fetch in as few `batch` requests as fit (50 sub-calls
/// each). A reference the portal answers "Not found" is kGone; a limit (QUERY_LIMIT_EXCEEDED,
/// OPERATION_TIME_LIMIT, in the batch or for it) or an unreachable portal kRetry with its wait; a
/// deal whose stage the directory lacks refreshes the directory once. Events carry the CRM's
/// times (DATE_MODIFY, LAST_UPDATED, changedDate, CREATED).
class Bitrix24Fetcher final : public crm::Fetcher {
public:
    Bitrix24Fetcher(std::shared_ptr<Client> client, std::shared_ptr<CatalogCache> catalog,
                    MapContext context, std::function<Result<void>()> refresh_catalog);

    std::vector<crm::Fetched> Fetch(const std::vector<std::string>& references) override;
    /// A deal takes 4 sub-calls: 12 deals fill a batch.
    std::size_t MaxBatch() const override { return 12; }

private:
    std::shared_ptr<Client> client_;
    std::shared_ptr<CatalogCache> catalog_;
    MapContext context_;
    std::function<Result<void>()> refresh_catalog_;
};

}  // namespace fg::adapters::bitrix24
