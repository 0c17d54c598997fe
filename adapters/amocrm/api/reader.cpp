#include "adapters/amocrm/api/reader.hpp"

#include <array>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "adapters/amocrm/api/log.hpp"
#include "adapters/amocrm/api/mapping.hpp"
#include "adapters/amocrm/api/text.hpp"

namespace fg::adapters::amocrm {
namespace {

constexpr std::array<std::string_view, 6> kPhases = {"catalog", "leads", "deleted_leads",
                                                     "tasks",   "notes", "events"};

// Query keys with their brackets percent-encoded: filter[updated_at][from] and friends.
constexpr std::string_view kUpdatedFrom = "filter%5Bupdated_at%5D%5Bfrom%5D";
constexpr int kPageSize = 250;
constexpr int kEventsPageSize = 100;  // the RU docs cap events at 100 (reference §2.7)

std::optional<std::string_view> NextPhase(std::string_view phase) {
    for (std::size_t i = 0; i + 1 < kPhases.size(); ++i) {
        if (kPhases[i] == phase) {
            return kPhases[i + 1];
        }
    }
    return std::nullopt;
}

bool KnownPhase(std::string_view phase) {
    for (const std::string_view known : kPhases) {
        if (known == phase) {
            return true;
        }
    }
    return false;
}

std::string SinceFilter(std::string_view key, const std::optional<std::int64_t>& since) {
    return since ? fmt::format("&{}={}", key, *since) : std::string{};
}

std::string PhaseTarget(const PullCursor& cursor) {
    if (cursor.phase == "leads") {
        return fmt::format("/api/v4/leads?limit={}&page={}&order%5Bupdated_at%5D=asc{}", kPageSize,
                           cursor.page, SinceFilter(kUpdatedFrom, cursor.since));
    }
    if (cursor.phase == "deleted_leads") {
        return fmt::format("/api/v4/leads?with=only_deleted&limit={}&page={}{}", kPageSize,
                           cursor.page, SinceFilter(kUpdatedFrom, cursor.since));
    }
    if (cursor.phase == "tasks") {
        return fmt::format(
            "/api/v4/tasks?filter%5Bentity_type%5D=leads&limit={}&page={}&order%5Bid%5D=asc{}",
            kPageSize, cursor.page, SinceFilter(kUpdatedFrom, cursor.since));
    }
    if (cursor.phase == "notes") {
        return fmt::format("/api/v4/leads/notes?limit={}&page={}{}", kPageSize, cursor.page,
                           SinceFilter(kUpdatedFrom, cursor.since));
    }
    // events: transitions up to the run's start only. A later one may be newer than the card the
    // leads phase read, and an upsert carrying only the stage would then replace that card.
    return fmt::format(
        "/api/v4/events?filter%5Btype%5D=lead_status_changed&limit={}&page={}{}"
        "&filter%5Bcreated_at%5D%5Bto%5D={}",
        kEventsPageSize, cursor.page, SinceFilter("filter%5Bcreated_at%5D%5Bfrom%5D", cursor.since),
        cursor.until);
}

std::string_view EmbeddedKey(std::string_view phase) {
    if (phase == "leads" || phase == "deleted_leads") {
        return "leads";
    }
    return phase;  // tasks, notes, events
}

std::string_view PhaseLabel(std::string_view phase) {
    if (phase == "deleted_leads") {
        return "deleted leads";
    }
    if (phase == "events") {
        return "stage change events";
    }
    return phase;
}

}  // namespace

std::string EncodeCursor(const PullCursor& cursor) {
    nlohmann::json document = {{"v", 1},
                               {"phase", cursor.phase},
                               {"page", cursor.page},
                               {"until", cursor.until},
                               {"count", cursor.count}};
    document["since"] = cursor.since ? nlohmann::json(*cursor.since) : nlohmann::json();
    return document.dump();
}

Result<PullCursor> DecodeCursor(std::string_view text) {
    const nlohmann::json parsed = nlohmann::json::parse(text, nullptr, false);
    auto bad = [] {
        return MakeError(ErrorCode::kInvalidInput,
                         "amoCRM reconciliation cursor is not valid; start a new run");
    };
    if (parsed.is_discarded() || !parsed.is_object() || IntMember(parsed, "v") != 1) {
        return bad();
    }
    PullCursor cursor;
    cursor.phase = StringMember(parsed, "phase");
    const std::optional<std::int64_t> page = IntMember(parsed, "page");
    const std::optional<std::int64_t> until = IntMember(parsed, "until");
    if (!KnownPhase(cursor.phase) || !page || *page < 1 || *page > 1000000 || !until) {
        return bad();
    }
    cursor.page = static_cast<int>(*page);
    cursor.until = *until;
    cursor.count = IntMember(parsed, "count").value_or(0);
    if (const auto since = parsed.find("since"); since != parsed.end() && !since->is_null()) {
        cursor.since = IntOf(*since);
        if (!cursor.since) {
            return bad();
        }
    }
    return cursor;
}

Reader::Reader(Client& client, std::shared_ptr<CatalogCache> catalog)
    : client_(client), catalog_(std::move(catalog)) {}

Result<Catalog> Reader::FetchCatalog() {
    Catalog catalog;
    auto pipelines = client_.GetAll("/api/v4/leads/pipelines", "pipelines", 10);
    if (!pipelines) {
        return pipelines.error();
    }
    for (const nlohmann::json& item : *pipelines) {
        if (auto pipeline = ParsePipeline(item)) {
            catalog.pipelines.push_back(std::move(*pipeline));
        }
    }
    auto fields = client_.GetAll("/api/v4/leads/custom_fields?limit=250", "custom_fields", 100);
    if (!fields) {
        return fields.error();
    }
    for (const nlohmann::json& item : *fields) {
        if (auto field = ParseCustomField(item)) {
            catalog.lead_fields.push_back(std::move(*field));
        }
    }
    // GET /api/v4/users needs admin rights (reference §2.8): without them, no names.
    auto users = client_.GetAll("/api/v4/users?limit=250", "users", 100,
                                /*forbidden_means_no_rights=*/true);
    if (users) {
        for (const nlohmann::json& item : *users) {
            if (auto user = ParseUser(item)) {
                catalog.users.push_back(std::move(*user));
            }
        }
    } else if (users.error().code == ErrorCode::kUnauthorized &&
               users.error().message.find("HTTP 403") != std::string::npos) {
        Log().warn("amoCRM user list needs admin rights; people show as ids. tenant={} error={}",
                   LogSafe(client_.tenant()), users.error().message);
    } else {
        return users.error();
    }
    catalog_->Set(catalog);
    return catalog;
}

std::shared_ptr<const Catalog> Reader::EnsureCatalog(Result<void>& status) {
    std::shared_ptr<const Catalog> catalog = catalog_->Get();
    if (catalog->pipelines.empty()) {
        // A run resumed in a fresh process: stage names need the catalog first.
        auto fetched = FetchCatalog();
        if (!fetched) {
            status = fetched.error();
            return nullptr;
        }
        catalog = catalog_->Get();
    }
    return catalog;
}

Result<crm::PullPage> Reader::Pull(const crm::PullRequest& request) {
    PullCursor cursor;
    if (request.cursor.empty()) {
        if (request.since) {
            cursor.since = ToEpoch(*request.since);
        }
        cursor.until = ToEpoch(client_.clock().Now());
    } else {
        auto decoded = DecodeCursor(request.cursor);
        if (!decoded) {
            return decoded.error();
        }
        cursor = std::move(*decoded);
    }

    crm::PullPage page;
    auto advance = [&cursor, &page] {
        const std::optional<std::string_view> next = NextPhase(cursor.phase);
        if (!next) {
            page.done = true;
            return;
        }
        cursor.phase = std::string(*next);
        cursor.page = 1;
        cursor.count = 0;
    };

    if (cursor.phase == "catalog") {
        auto catalog = FetchCatalog();
        if (!catalog) {
            return catalog.error();
        }
        page.progress =
            fmt::format("catalog: {} pipelines, {} fields, {} users", catalog->pipelines.size(),
                        catalog->lead_fields.size(), catalog->users.size());
        advance();
        page.cursor = EncodeCursor(cursor);
        return page;
    }

    Result<void> status;
    const std::shared_ptr<const Catalog> catalog = EnsureCatalog(status);
    if (!catalog) {
        return status.error();
    }
    auto fetched = client_.GetPage(PhaseTarget(cursor), EmbeddedKey(cursor.phase));
    if (!fetched) {
        return fetched.error();
    }
    std::size_t skipped = 0;
    for (const nlohmann::json& item : fetched->items) {
        std::optional<domain::Event> event;
        if (cursor.phase == "leads" || cursor.phase == "deleted_leads") {
            event = MapLead(item, *catalog, client_.tenant());
        } else if (cursor.phase == "tasks") {
            event = MapTask(item);
        } else if (cursor.phase == "notes") {
            event = MapNote(item);
        } else {
            std::vector<domain::Event> observed = MapStatusEvent(item, *catalog, client_.tenant());
            if (observed.empty()) {
                ++skipped;
            }
            for (domain::Event& one : observed) {
                page.events.push_back(std::move(one));
            }
            continue;
        }
        if (event) {
            page.events.push_back(std::move(*event));
        } else {
            ++skipped;  // a call note, a malformed item: nothing the rules read
        }
    }
    if (skipped > 0) {
        Log().debug("amoCRM items skipped while reconciling. tenant={} phase={} page={} count={}",
                    LogSafe(client_.tenant()), cursor.phase, cursor.page, skipped);
    }
    cursor.count += static_cast<std::int64_t>(fetched->items.size());
    // What the page read; the counts are the core's (ReconcileReport), so that the progress
    // lines and the summary add up.
    page.progress = std::string(PhaseLabel(cursor.phase));
    if (fetched->next && !fetched->items.empty()) {
        ++cursor.page;
    } else {
        advance();
    }
    page.cursor = EncodeCursor(cursor);
    return page;
}

}  // namespace fg::adapters::amocrm
