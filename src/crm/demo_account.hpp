#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "src/common/clock.hpp"
#include "src/common/result.hpp"
#include "src/common/time.hpp"

namespace fg::crm {

/// A task the simulated account saw go overdue: what the demo's summary accounts for.
struct OverdueTaskFact {
    std::string task_id{};
    std::string deal_id{};
    Timestamp due{};
    Timestamp overdue_at{};  // the deadline, or the creation of a task already past it
    std::optional<Timestamp> closed_at{};       // done or deleted afterwards; nullopt: still open
    std::optional<Timestamp> deal_closed_at{};  // won, lost or deleted; nullopt: open at the end
};

struct DemoAccountOptions {
    std::uint64_t seed = 1;        // the account and the managers' behaviour
    int deals = 40;                // deals already in the account
    const Clock* clock = nullptr;  // the demo's stepped clock; must outlive the account
};

/// A simulated CRM account on loopback with simulated managers at work: what `funnelguard demo`
/// runs against. Its funnel has the stages and fields the demo's rules name
/// (src/demo/data/demo.toml). Not thread-safe: the demo drives it from one thread.
class DemoAccount {
public:
    virtual ~DemoAccount() = default;

    virtual Result<void> Start() = 0;
    /// The tenant's `[tenant.<crm>]` table (TOML) that points funnelguard at this account.
    virtual std::string ConfigSection() const = 0;
    /// How the demo's first line names it, e.g. "an amoCRM account (the built-in simulator on
    /// loopback) with 6 managers".
    virtual std::string Describe() const = 0;
    /// User id (as the adapter's events name Deal::responsible) -> display name.
    virtual std::map<std::string, std::string> UserNames() const = 0;
    virtual std::size_t DealCount() const = 0;
    /// Waits until the webhooks of every change so far were delivered; false after `timeout`.
    virtual bool WaitWebhooksIdle(std::chrono::milliseconds timeout) = 0;

    /// The managers begin work (seeded); then each Step does the next action, due at
    /// NextActionAt (nullopt: none left).
    virtual void StartManagers(std::uint64_t seed) = 0;
    virtual std::optional<Timestamp> NextActionAt() = 0;
    virtual void Step() = 0;
    virtual void StopManagers() = 0;

    /// Tasks whose deadline passed while open in [from, until).
    virtual std::vector<OverdueTaskFact> TasksGoneOverdue(Timestamp from,
                                                          Timestamp until) const = 0;
    /// Stops serving; Footer is still available afterwards.
    virtual void Stop() = 0;
    /// The summary's closing lines about the account: what the managers did, what it served.
    virtual std::vector<std::string> Footer() const = 0;
};

}  // namespace fg::crm
