#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "src/common/result.hpp"
#include "src/common/time.hpp"
#include "src/domain/model.hpp"
#include "src/outbox/action.hpp"

namespace fg::crm {

/// What a CRM account looks like to the core, read through its API: the funnel the rules judge
/// against and the people deals belong to.
struct Directory {
    std::vector<domain::Pipeline> pipelines{};   // Deal::pipeline / Deal::stage name into these
    std::map<std::string, std::string> users{};  // user id (Deal::responsible) -> display name
    /// The names of the deals' custom fields (Deal::fields keys); nullopt: not known.
    std::optional<std::vector<std::string>> fields{};
};

/// One step of a reconciliation. `cursor` is opaque to the core: empty starts a run, and the
/// core persists the cursor of every page it has applied, so a killed run resumes from it.
struct PullRequest {
    std::optional<Timestamp> since{};  // changes at or after this CRM time; nullopt = everything
    std::string cursor{};
};

struct PullPage {
    /// Normalized events in the adapter's event id space: a deal, task or note as the CRM holds
    /// it now (ids stable per version, so a repeat of the same state is a duplicate), and the
    /// stage transitions the CRM's own event log reports, as upserts at their CRM time.
    std::vector<domain::Event> events{};
    std::string cursor{};  // where the next page starts
    bool done = false;     // true: nothing after this page
    /// What the page read, for the progress line on stderr, e.g. "leads" (the core adds the
    /// run's counts, the same ones its summary shows).
    std::string progress{};
};

/// What registering funnelguard's webhook did, for the operator.
struct Connection {
    bool changed = false;     // false: it was registered already, with everything it needs
    int earlier_removed = 0;  // funnelguard's own webhooks at an earlier address, removed
    /// Non-empty when the CRM's API cannot register it (Bitrix24's inbound webhooks cannot bind
    /// events): the exact settings the administrator must enter by hand, printed as they are.
    std::string manual{};
};

/// The outbound half of an adapter for one tenant's account: reading its state through the API,
/// registering funnelguard's webhook, and writing actions back. Implementations are thread-safe
/// and share one rate limiter per account between every caller.
class Connector {
public:
    virtual ~Connector() = default;

    virtual Result<Directory> FetchDirectory() = 0;
    virtual Result<PullPage> Pull(const PullRequest& request) = 0;

    /// Registers `hook_url` for the events funnelguard needs, and removes funnelguard's own
    /// webhooks at an earlier address; running it twice changes nothing.
    virtual Result<Connection> Connect(const std::string& hook_url) = 0;
    virtual Result<void> Disconnect(const std::string& hook_url) = 0;

    /// Writes actions back (notes, tasks, reverts). Shares the connector's rate limiter.
    virtual outbox::ActionSink& Sink() = 0;

    /// Empty while the account can be called; otherwise why not (e.g. the CRM blocked it with
    /// 403): every call fails fast until a restart, and health and metrics report it.
    virtual std::string Blocked() const = 0;
};

}  // namespace fg::crm
