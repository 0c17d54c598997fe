#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "adapters/bitrix24/api/catalog.hpp"
#include "adapters/bitrix24/api/client.hpp"
#include "adapters/bitrix24/api/mapping.hpp"
#include "adapters/bitrix24/api/pull.hpp"
#include "adapters/bitrix24/api/writer.hpp"
#include "src/crm/connector.hpp"

namespace fg::adapters::bitrix24 {

/// The events funnelguard needs from a portal (what Connect binds, and what an administrator
/// enters for an outbound webhook). ONCRMDEALMOVETOCATEGORY can be bound by an app only.
std::vector<std::string> NeededEvents(bool oauth_app);

/// One portal as the core sees it, sharing one client (limiter, OAuth session) and one catalog
/// with the tenant's fetcher:
/// - FetchDirectory: LoadCatalog into the cache, as a crm::Directory.
/// - Pull: a page is one `batch` of 50 crm.deal.list sub-calls chained by $result (order ID ASC,
///   filter >ID, start=-1: no count), up to 2,500 deals, then their to-dos, tasks and comments
///   read by deal-ID lists, 50 sub-calls a request (pull.hpp); then crm.stagehistory.list, 50
///   chained pages a request, for the transitions no event reported (pipeline moves
///   included), as StageObserved. `since` filters
///   both (>=DATE_MODIFY, >=CREATED_TIME). The cursor names the phase and the last ID read, so a
///   run resumes in another process.
/// - Connect / Disconnect: for an OAuth app event.bind / event.unbind of NeededEvents at the hook
///   URL (handlers of this tenant's hook path at another address are unbound); an inbound
///   webhook cannot bind, so Connect answers the outbound webhook's settings for the
///   administrator (Connection::manual) and Disconnect says to delete it by hand.
/// - Sink: the Writer. Blocked: Client::Blocked.
class Bitrix24Connector final : public crm::Connector {
public:
    Bitrix24Connector(std::shared_ptr<Client> client, std::shared_ptr<CatalogCache> catalog,
                      MapContext context, WriteTasksAs tasks_as);

    Result<crm::Directory> FetchDirectory() override;
    Result<crm::PullPage> Pull(const crm::PullRequest& request) override;
    Result<crm::Connection> Connect(const std::string& hook_url) override;
    Result<void> Disconnect(const std::string& hook_url) override;
    outbox::ActionSink& Sink() override { return writer_; }
    std::string Blocked() const override { return client_->Blocked(); }

    /// Reloads the catalog (what the fetcher and the writer call on an unknown stage).
    Result<void> RefreshCatalog();

private:
    Result<crm::PullPage> PullDeals(const crm::PullRequest& request, std::int64_t after);
    Result<crm::PullPage> PullHistory(const crm::PullRequest& request, std::int64_t after);
    MapContext ContextNow(std::shared_ptr<const Catalog>& hold) const;

    std::shared_ptr<Client> client_;
    std::shared_ptr<CatalogCache> catalog_;
    MapContext context_;
    Writer writer_;
    std::mutex density_mutex_;
    ChildDensity density_;  // the last page's children per deal: sizes the next page's lists
    // The next page's deals as the last page's children request read them ahead (ReadAhead),
    // for the Pull right after it: taken once, and only for the same cursor and list, soon.
    struct ReadAheadPage {
        std::int64_t after = 0;
        std::string list{};
        ChainedRows rows{};
        std::chrono::steady_clock::time_point at{};
    };
    std::optional<ReadAheadPage> read_ahead_;  // under density_mutex_
    std::optional<ChainedRows> TakeReadAhead(std::int64_t after, const ChainedList& list);
    void KeepReadAhead(ReadAhead& ahead);
};

}  // namespace fg::adapters::bitrix24
