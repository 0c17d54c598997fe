#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "src/common/time.hpp"

namespace fg::storage {
class Db;
}

namespace fg::engine {

/// Process counters for /metrics. Gauges (inbox lag, open violations) are read from the
/// database at scrape time instead.
class Metrics {
public:
    void WebhookReceived(const std::string& crm);
    void WebhookRejected(const std::string& crm, const std::string& reason);
    void EventsApplied(std::int64_t n) { events_applied_ += n; }
    std::int64_t EventsApplied() const { return events_applied_.load(); }
    void ActionDelivered(const std::string& kind, const std::string& outcome);
    /// Inbox items processed, by crm and the state they settled in (applied, ignored, ...).
    void InboxSettled(const std::string& crm, const std::string& state, std::int64_t n);
    /// Webhook elements by crm and what became of them: "failed", or the entity of an ignored
    /// one ("contacts", "unsorted", ...).
    void WebhookElements(const std::string& crm, const std::string& what, std::int64_t n);
    /// The fetch stage's calls, by crm, what it fetched ("reference", "directory") and the
    /// outcome ("fetched", "retry", "gone", "failed"): one per reference or directory load.
    void Fetched(const std::string& crm, const std::string& what, const std::string& outcome,
                 std::int64_t n);

    /// Prometheus text lines for the counters.
    std::string Render() const;
    /// Prometheus text lines for the inbox gauges, read from `db` at `now`: pending items, lag,
    /// and items by tenant, state and reason.
    static std::string RenderInbox(storage::Db& db, Timestamp now);

private:
    mutable std::mutex mutex_;
    std::map<std::string, std::int64_t> received_;                           // by crm
    std::map<std::pair<std::string, std::string>, std::int64_t> rejected_;   // crm, reason
    std::map<std::pair<std::string, std::string>, std::int64_t> delivered_;  // kind, outcome
    std::map<std::pair<std::string, std::string>, std::int64_t> settled_;    // crm, state
    std::map<std::pair<std::string, std::string>, std::int64_t> elements_;   // crm, what
    std::map<std::tuple<std::string, std::string, std::string>, std::int64_t> fetched_;
    std::atomic<std::int64_t> events_applied_{0};
};

}  // namespace fg::engine
