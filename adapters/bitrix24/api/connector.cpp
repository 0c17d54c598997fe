#include "adapters/bitrix24/api/connector.hpp"

#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "adapters/bitrix24/api/directory.hpp"
#include "adapters/bitrix24/api/fetcher.hpp"

namespace fg::adapters::bitrix24 {
namespace {

using nlohmann::json;

constexpr std::int64_t kPage = 50;  // the portal's fixed page size

std::string CursorOf(const std::string& phase, std::int64_t after) {
    return json{{"phase", phase}, {"after", after}}.dump();
}

// The path of a hook URL: what tells this tenant's handlers from anyone else's.
std::string PathOf(const std::string& url) {
    const std::size_t scheme = url.find("://");
    const std::size_t path = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
    return path == std::string::npos ? "/" : url.substr(path);
}

}  // namespace

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
    json filter = {{">ID", after}};
    if (request.since) {
        filter[">=DATE_MODIFY"] = FormatIso8601(*request.since);
    }
    auto listed = client_->Call(
        "crm.deal.list",
        {{"order", {{"ID", "ASC"}}}, {"filter", filter}, {"select", {"*", "UF_*"}}, {"start", -1}});
    if (!listed) {
        return listed.error();
    }
    std::shared_ptr<const Catalog> hold;
    MapContext context = ContextNow(hold);
    crm::PullPage page;
    const json rows = listed->result.is_array() ? listed->result : json::array();
    std::vector<std::string> ids;
    bool refreshed = false;
    for (const json& row : rows) {
        auto deal = MapDeal(row, context);
        if (!deal && deal.error().code == ErrorCode::kUnavailable && !refreshed) {
            refreshed = true;
            if (auto fresh = RefreshCatalog(); !fresh) {
                return fresh.error();
            }
            context = ContextNow(hold);
            deal = MapDeal(row, context);
        }
        const std::string id = FieldText(row, "ID");
        after = std::max<std::int64_t>(after, id.empty() ? 0 : std::stoll(id));
        if (!deal) {
            continue;  // a deal of a stage the portal's own directory does not list
        }
        ids.push_back(id);
        page.events.push_back(std::move(deal).value());
    }
    // The deals' to-dos, tasks and comments: three sub-calls a deal, 50 a batch.
    std::vector<BatchCommand> commands;
    for (const std::string& id : ids) {
        for (BatchCommand& command : DealChildrenCommands("d" + id, id, context_.deal_tasks)) {
            commands.push_back(std::move(command));
        }
    }
    std::map<std::string, json> answers;
    for (std::size_t start = 0; start < commands.size(); start += Client::kMaxBatch) {
        const std::size_t end = std::min(commands.size(), start + Client::kMaxBatch);
        const std::vector<BatchCommand> chunk(commands.begin() + static_cast<std::ptrdiff_t>(start),
                                              commands.begin() + static_cast<std::ptrdiff_t>(end));
        auto items = client_->Batch(chunk);
        if (!items) {
            return items.error();
        }
        for (std::size_t i = 0; i < chunk.size(); ++i) {
            const BatchItem& item = (*items)[i];
            if (item.LimitExceeded()) {
                return MakeError(ErrorCode::kUnavailable, "{}: {}", chunk[i].command.substr(0, 40),
                                 item.error);
            }
            if (!item.failed) {
                answers[chunk[i].key] = item.result;
            }
        }
    }
    for (const std::string& id : ids) {
        const std::string key = "d" + id;
        MapDealChildren(answers[key + "_todos"], answers[key + "_tasks"],
                        answers[key + "_comments"], context, page.events);
    }
    page.progress = "deals";
    page.cursor = rows.size() < static_cast<std::size_t>(kPage) ? CursorOf("history", 0)
                                                                : CursorOf("deals", after);
    return page;
}

Result<crm::PullPage> Bitrix24Connector::PullHistory(const crm::PullRequest& request,
                                                     std::int64_t after) {
    json filter = {{">ID", after}};
    if (request.since) {
        filter[">=CREATED_TIME"] = FormatIso8601(*request.since);
    }
    auto listed = client_->Call(
        "crm.stagehistory.list",
        {{"entityTypeId", 2},
         {"order", {{"ID", "ASC"}}},
         {"filter", filter},
         {"select", {"ID", "TYPE_ID", "OWNER_ID", "CREATED_TIME", "CATEGORY_ID", "STAGE_ID"}},
         {"start", 0}});
    if (!listed) {
        return listed.error();
    }
    const json items = ObjectOr(listed->result).value("items", json::array());
    std::shared_ptr<const Catalog> hold;
    const MapContext context = ContextNow(hold);
    crm::PullPage page;
    page.events = MapStageHistory(items, context);
    for (const json& item : items.is_array() ? items : json::array()) {
        const std::string id = FieldText(item, "ID");
        after = std::max<std::int64_t>(after, id.empty() ? 0 : std::stoll(id));
    }
    page.progress = "stage history";
    page.done = !items.is_array() || items.size() < static_cast<std::size_t>(kPage);
    page.cursor = CursorOf("history", after);
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
