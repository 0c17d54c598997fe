#include "adapters/bitrix24/api/connector.hpp"

#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "adapters/bitrix24/api/directory.hpp"
#include "adapters/bitrix24/api/fetcher.hpp"
#include "adapters/bitrix24/api/pull.hpp"

namespace fg::adapters::bitrix24 {
namespace {

using nlohmann::json;

// How long deals read ahead for the next page stay good: the reconcile asks for it at once.
constexpr auto kReadAheadFresh = std::chrono::seconds{60};

std::string CursorOf(const std::string& phase, std::int64_t after) {
    return json{{"phase", phase}, {"after", after}}.dump();
}

// The path of a hook URL: what tells this tenant's handlers from anyone else's.
std::string PathOf(const std::string& url) {
    const std::size_t scheme = url.find("://");
    const std::size_t path = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
    return path == std::string::npos ? "/" : url.substr(path);
}

ChainedList DealList(const crm::PullRequest& request) {
    ChainedList list{.method = "crm.deal.list",
                     .params = {{"order", {{"ID", "ASC"}}}, {"select", {"*", "UF_*"}}},
                     .rows_path = "",
                     .id_key = "ID",
                     .id_filter = "ID"};
    if (request.since) {
        list.params["filter"][">=DATE_MODIFY"] = FormatIso8601(*request.since);
    }
    return list;
}

ChainedList HistoryList(const crm::PullRequest& request) {
    ChainedList list{
        .method = "crm.stagehistory.list",
        .params = {{"entityTypeId", 2},
                   {"order", {{"ID", "ASC"}}},
                   {"select",
                    {"ID", "TYPE_ID", "OWNER_ID", "CREATED_TIME", "CATEGORY_ID", "STAGE_ID"}}},
        .rows_path = "[items]",
        .id_key = "ID",
        .id_filter = "ID"};
    if (request.since) {
        list.params["filter"][">=CREATED_TIME"] = FormatIso8601(*request.since);
    }
    return list;
}

}  // namespace

std::optional<ChainedRows> Bitrix24Connector::TakeReadAhead(std::int64_t after,
                                                            const ChainedList& list) {
    const std::lock_guard lock(density_mutex_);
    std::optional<ChainedRows> rows;
    if (read_ahead_ && read_ahead_->after == after &&
        read_ahead_->list == list.method + list.params.dump() &&
        std::chrono::steady_clock::now() - read_ahead_->at < kReadAheadFresh) {
        rows = std::move(read_ahead_->rows);
    }
    read_ahead_.reset();
    return rows;
}

void Bitrix24Connector::KeepReadAhead(ReadAhead& ahead) {
    if (!ahead.rows || ahead.list == nullptr) {
        return;
    }
    const std::lock_guard lock(density_mutex_);
    read_ahead_ = ReadAheadPage{.after = ahead.after,
                                .list = ahead.list->method + ahead.list->params.dump(),
                                .rows = std::move(*ahead.rows),
                                .at = std::chrono::steady_clock::now()};
}

std::vector<std::string> NeededEvents(bool oauth_app) {
    std::vector<std::string> events = {
        "ONCRMDEALADD",        "ONCRMDEALUPDATE",        "ONCRMDEALDELETE", "ONCRMACTIVITYADD",
        "ONCRMACTIVITYUPDATE", "ONCRMACTIVITYDELETE",    "ONTASKADD",       "ONTASKUPDATE",
        "ONTASKDELETE",        "ONCRMTIMELINECOMMENTADD"};
    if (oauth_app) {
        events.emplace_back("ONCRMDEALMOVETOCATEGORY");
    }
    return events;
}

Bitrix24Connector::Bitrix24Connector(std::shared_ptr<Client> client,
                                     std::shared_ptr<CatalogCache> catalog, MapContext context,
                                     WriteTasksAs tasks_as)
    : client_(std::move(client)),
      catalog_(std::move(catalog)),
      context_(std::move(context)),
      writer_(
          *client_, catalog_, [this] { return RefreshCatalog(); }, tasks_as) {}

Result<void> Bitrix24Connector::RefreshCatalog() {
    auto loaded = LoadCatalog(*client_);
    if (!loaded) {
        return loaded.error();
    }
    catalog_->Set(std::move(loaded).value());
    return Ok{};
}

Result<crm::Directory> Bitrix24Connector::FetchDirectory() {
    if (auto refreshed = RefreshCatalog(); !refreshed) {
        return refreshed.error();
    }
    return catalog_->Get()->ToDirectory();
}

MapContext Bitrix24Connector::ContextNow(std::shared_ptr<const Catalog>& hold) const {
    hold = catalog_->Get();
    MapContext context = context_;
    context.catalog = hold.get();
    return context;
}

Result<crm::PullPage> Bitrix24Connector::Pull(const crm::PullRequest& request) {
    if (!catalog_->Get()->loaded) {
        if (auto refreshed = RefreshCatalog(); !refreshed) {
            return refreshed.error();
        }
    }
    std::string phase = "deals";
    std::int64_t after = 0;
    if (!request.cursor.empty()) {
        const json cursor = json::parse(request.cursor, nullptr, false);
        if (!cursor.is_object() || !cursor.contains("phase") ||
            !cursor["after"].is_number_integer()) {
            return MakeError(ErrorCode::kInvalidInput, "not a Bitrix24 reconciliation cursor");
        }
        phase = cursor["phase"].get<std::string>();
        after = cursor["after"].get<std::int64_t>();
    }
    return phase == "history" ? PullHistory(request, after) : PullDeals(request, after);
}

Result<crm::PullPage> Bitrix24Connector::PullDeals(const crm::PullRequest& request,
                                                   std::int64_t after) {
    const ChainedList list = DealList(request);
    std::optional<ChainedRows> read_ahead = TakeReadAhead(after, list);
    auto listed = read_ahead ? Result<ChainedRows>(std::move(*read_ahead))
                             : ReadChained(*client_, list, after);
    if (!listed) {
        return listed.error();
    }
    std::shared_ptr<const Catalog> hold;
    MapContext context = ContextNow(hold);
    crm::PullPage page;
    std::vector<std::string> ids;
    bool refreshed = false;
    for (const json& row : listed->rows) {
        auto deal = MapDeal(row, context);
        if (!deal && deal.error().code == ErrorCode::kUnavailable && !refreshed) {
            refreshed = true;
            if (auto fresh = RefreshCatalog(); !fresh) {
                return fresh.error();
            }
            context = ContextNow(hold);
            deal = MapDeal(row, context);
        }
        if (!deal) {
            continue;  // a deal of a stage the portal's own directory does not list
        }
        ids.push_back(FieldText(row, "ID"));
        page.events.push_back(std::move(deal).value());
    }
    ChildDensity density;
    {
        const std::lock_guard lock(density_mutex_);
        density = density_;
    }
    // The room the children's last request leaves reads the next page: more deals, or the
    // start of the stage history after the last deals.
    const ChainedList history = HistoryList(request);
    ReadAhead ahead{.list = listed->end ? &history : &list,
                    .after = listed->end ? 0 : listed->last_id,
                    .rows = {}};
    auto children = ReadChildren(*client_, ids, context_.deal_tasks, density, &ahead);
    if (!children) {
        return children.error();
    }
    {
        const std::lock_guard lock(density_mutex_);
        density_ = density;
    }
    KeepReadAhead(ahead);
    MapDealChildren(children->todos, json{{"tasks", children->tasks}}, children->comments, context,
                    page.events);
    page.progress = "deals";
    page.cursor = listed->end ? CursorOf("history", 0) : CursorOf("deals", listed->last_id);
    return page;
}

Result<crm::PullPage> Bitrix24Connector::PullHistory(const crm::PullRequest& request,
                                                     std::int64_t after) {
    const ChainedList list = HistoryList(request);
    std::optional<ChainedRows> read_ahead = TakeReadAhead(after, list);
    if (read_ahead && !read_ahead->end) {
        // History pages have no children to share a request with: a page read ahead goes on
        // with a whole chain, so that each request still reads its 50 pages.
        auto more = ReadChained(*client_, list, read_ahead->last_id);
        if (!more) {
            return more.error();
        }
        read_ahead->rows.insert(read_ahead->rows.end(), more->rows.begin(), more->rows.end());
        read_ahead->last_id = more->last_id;
        read_ahead->end = more->end;
    }
    auto listed = read_ahead ? Result<ChainedRows>(std::move(*read_ahead))
                             : ReadChained(*client_, list, after);
    if (!listed) {
        return listed.error();
    }
    std::shared_ptr<const Catalog> hold;
    const MapContext context = ContextNow(hold);
    crm::PullPage page;
    page.events = MapStageHistory(json(listed->rows), context);
    page.progress = "stage history";
    page.done = listed->end;
    page.cursor = CursorOf("history", listed->last_id);
    return page;
}

Result<crm::Connection> Bitrix24Connector::Connect(const std::string& hook_url) {
    const std::vector<std::string> events = NeededEvents(client_->UsesOAuth());
    if (!client_->UsesOAuth()) {
        std::string manual = fmt::format(
            "In the portal: Developer resources → Other → Outbound webhook, then set\n"
            "  Handler URL: {}\n  Events:\n",
            hook_url);
        for (const std::string& event : events) {
            manual += "    " + event + "\n";
        }
        manual +=
            "Save it, and put the webhook's Application token in this tenant's `secret` (the\n"
            "events carry it in auth[application_token]). Deals moved to another pipeline fire no\n"
            "event for an outbound webhook: the nightly reconciliation picks them up.";
        return crm::Connection{.changed = false, .earlier_removed = 0, .manual = manual};
    }
    auto bound = client_->Call("event.get", json::object());
    if (!bound) {
        return bound.error();
    }
    const std::string path = PathOf(hook_url);
    crm::Connection connection;
    std::set<std::string> present;
    for (const json& handler : bound->result.is_array() ? bound->result : json::array()) {
        const std::string event = FieldText(handler, "event");
        const std::string url = FieldText(handler, "handler");
        if (url == hook_url) {
            present.insert(event);
        } else if (PathOf(url) == path) {
            // Ours, at an earlier address (the public URL changed).
            if (auto unbound =
                    client_->Call("event.unbind", {{"event", event}, {"handler", url}}, false);
                !unbound) {
                return unbound.error();
            }
            ++connection.earlier_removed;
            connection.changed = true;
        }
    }
    for (const std::string& event : events) {
        if (present.count(event) != 0) {
            continue;
        }
        if (auto done =
                client_->Call("event.bind", {{"event", event}, {"handler", hook_url}}, false);
            !done) {
            return done.error();
        }
        connection.changed = true;
    }
    return connection;
}

Result<void> Bitrix24Connector::Disconnect(const std::string& hook_url) {
    if (!client_->UsesOAuth()) {
        return MakeError(ErrorCode::kInvalidInput,
                         "an inbound webhook cannot unbind events: delete the outbound webhook to "
                         "{} in the portal (Developer resources → Integrations)",
                         hook_url);
    }
    for (const std::string& event : NeededEvents(true)) {
        auto done = client_->Call("event.unbind", {{"event", event}, {"handler", hook_url}}, false);
        if (!done && done.error().code != ErrorCode::kNotFound) {
            return done.error();
        }
    }
    return Ok{};
}

}  // namespace fg::adapters::bitrix24
