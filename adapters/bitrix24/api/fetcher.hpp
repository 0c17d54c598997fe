#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "adapters/bitrix24/api/catalog.hpp"
#include "adapters/bitrix24/api/client.hpp"
#include "adapters/bitrix24/api/mapping.hpp"
#include "src/crm/fetcher.hpp"

namespace fg::adapters::bitrix24 {

/// A deal's lists the fetcher (and a deal's reconciliation) read with it.
enum class DealChild { kTodos, kTasks, kComments };

/// The batch commands that read the first page of a deal's to-dos, tasks and comments (per
/// `deal_tasks`), keyed `<prefix>_todos`, `<prefix>_tasks`, `<prefix>_comments`.
std::vector<BatchCommand> DealChildrenCommands(const std::string& prefix, const std::string& deal,
                                               DealTasks deal_tasks);
/// One page of a deal's list: 50 rows in ID order after `after` (0: from the start), start=-1.
/// A full page goes on after its largest ID.
std::string DealChildCommand(DealChild child, const std::string& deal, std::int64_t after);
/// A page's rows in `result` (tasks.task.list's are under `tasks`); none for anything else.
const nlohmann::json& DealChildRows(DealChild child, const nlohmann::json& result);
/// The events of those lists' rows (missing or failed ones add nothing): `tasks` is
/// tasks.task.list's result ({"tasks": [...]}).
void MapDealChildren(const nlohmann::json& todos, const nlohmann::json& tasks,
                     const nlohmann::json& comments, const MapContext& context,
                     std::vector<domain::Event>& events);

/// Completes the decoder's references (references.hpp) through the portal: crm.deal.get (with
/// the deal's to-dos, tasks and comments), crm.activity.get, tasks.task.get and
/// crm.timeline.comment.get, all of one Fetch in as few `batch` requests as fit (50 sub-calls
/// each). A deal's lists are read whole: the first page travels with the deal, and every list
/// that filled its page goes on in follow-up batches shared by all the deals of the Fetch (a
/// deal of 120 activities costs two more requests, twelve such deals too). A deal is judged
/// with all its children or not at all: a limit while reading them is kRetry. A reference the
/// portal answers "Not found" is kGone; a limit (QUERY_LIMIT_EXCEEDED, OPERATION_TIME_LIMIT, in the
/// batch or for it) or an unreachable portal kRetry with its wait; a deal whose stage the directory
/// lacks refreshes the directory once. Events carry the CRM's times (DATE_MODIFY, LAST_UPDATED,
/// changedDate, CREATED).
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
