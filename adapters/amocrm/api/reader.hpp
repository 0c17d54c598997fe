#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "adapters/amocrm/api/client.hpp"
#include "adapters/amocrm/wire/catalog.hpp"
#include "src/common/result.hpp"
#include "src/crm/connector.hpp"

namespace fg::adapters::amocrm {

/// Where a reconciliation run stands. Serialized as the opaque PullRequest/PullPage cursor:
/// `{"v":1,"phase":"leads","page":12,"since":1767225600,"until":1767312000,"count":2750}`
/// (`since` null = everything).
struct PullCursor {
    std::string phase = "catalog";  // catalog, leads, deleted_leads, tasks, notes, events
    int page = 1;                   // the next page of the phase to fetch
    std::optional<std::int64_t> since{};
    std::int64_t until = 0;  // the run's start (events after it are left to webhooks)
    std::int64_t count = 0;  // items of this phase seen so far
};

std::string EncodeCursor(const PullCursor& cursor);
Result<PullCursor> DecodeCursor(std::string_view text);

/// Reads an account through the API: the catalog (pipelines with statuses, lead custom fields,
/// users) and the reconciliation pull. Thread-safe (the client is; the reader keeps no state
/// besides the shared catalog cache).
class Reader {
public:
    Reader(Client& client, std::shared_ptr<CatalogCache> catalog);

    /// GET /api/v4/leads/pipelines, /api/v4/leads/custom_fields (paged) and /api/v4/users
    /// (paged). Users need admin rights: a 403 there degrades to no user names. The result is
    /// stored in the cache.
    Result<Catalog> FetchCatalog();

    /// One page of a reconciliation run: phases catalog -> leads -> deleted_leads -> tasks ->
    /// notes -> events; each call fetches one page (the catalog phase fetches the catalog) and
    /// returns its events, the next cursor and a progress line. An empty cursor starts a run
    /// with `request.since`; a non-empty one resumes with the since it recorded.
    Result<crm::PullPage> Pull(const crm::PullRequest& request);

private:
    std::shared_ptr<const Catalog> EnsureCatalog(Result<void>& status);

    Client& client_;
    std::shared_ptr<CatalogCache> catalog_;
};

}  // namespace fg::adapters::amocrm
