#include "src/engine/metrics.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "src/storage/inbox.hpp"

namespace fg::engine {

void Metrics::WebhookReceived(const std::string& crm) {
    std::lock_guard lock(mutex_);
    ++received_[crm];
}

void Metrics::WebhookRejected(const std::string& crm, const std::string& reason) {
    std::lock_guard lock(mutex_);
    ++rejected_[{crm, reason}];
}

void Metrics::ActionDelivered(const std::string& kind, const std::string& outcome) {
    std::lock_guard lock(mutex_);
    ++delivered_[{kind, outcome}];
}

void Metrics::InboxSettled(const std::string& crm, const std::string& state, std::int64_t n) {
    std::lock_guard lock(mutex_);
    settled_[{crm, state}] += n;
}

void Metrics::WebhookElements(const std::string& crm, const std::string& what, std::int64_t n) {
    std::lock_guard lock(mutex_);
    elements_[{crm, what}] += n;
}

void Metrics::Fetched(const std::string& crm, const std::string& what, const std::string& outcome,
                      std::int64_t n) {
    std::lock_guard lock(mutex_);
    fetched_[{crm, what, outcome}] += n;
}

std::string Metrics::Render() const {
    std::lock_guard lock(mutex_);
    std::string out;
    out += "# HELP funnelguard_webhooks_received_total Webhooks accepted and stored.\n";
    out += "# TYPE funnelguard_webhooks_received_total counter\n";
    for (const auto& [crm, n] : received_) {
        out += fmt::format("funnelguard_webhooks_received_total{{crm=\"{}\"}} {}\n", crm, n);
    }
    out += "# HELP funnelguard_webhooks_rejected_total Webhooks refused, by reason.\n";
    out += "# TYPE funnelguard_webhooks_rejected_total counter\n";
    for (const auto& [key, n] : rejected_) {
        out += fmt::format("funnelguard_webhooks_rejected_total{{crm=\"{}\",reason=\"{}\"}} {}\n",
                           key.first, key.second, n);
    }
    out +=
        "# HELP funnelguard_inbox_processed_total Inbox items processed, by the state they "
        "settled in.\n";
    out += "# TYPE funnelguard_inbox_processed_total counter\n";
    for (const auto& [key, n] : settled_) {
        out += fmt::format("funnelguard_inbox_processed_total{{crm=\"{}\",state=\"{}\"}} {}\n",
                           key.first, key.second, n);
    }
    out +=
        "# HELP funnelguard_webhook_elements_failed_total Webhook elements that could not be "
        "understood (the rest of their body was applied).\n";
    out += "# TYPE funnelguard_webhook_elements_failed_total counter\n";
    for (const auto& [key, n] : elements_) {
        if (key.second == "failed") {
            out += fmt::format("funnelguard_webhook_elements_failed_total{{crm=\"{}\"}} {}\n",
                               key.first, n);
        }
    }
    out +=
        "# HELP funnelguard_webhook_elements_ignored_total Webhook elements about entities the "
        "rules do not judge, by entity.\n";
    out += "# TYPE funnelguard_webhook_elements_ignored_total counter\n";
    for (const auto& [key, n] : elements_) {
        if (key.second != "failed") {
            out += fmt::format(
                "funnelguard_webhook_elements_ignored_total{{crm=\"{}\",entity=\"{}\"}} {}\n",
                key.first, key.second, n);
        }
    }
    out +=
        "# HELP funnelguard_fetches_total The fetch stage's work: references and directory loads, "
        "by outcome.\n";
    out += "# TYPE funnelguard_fetches_total counter\n";
    for (const auto& [key, n] : fetched_) {
        const auto& [crm, what, outcome] = key;
        out +=
            fmt::format("funnelguard_fetches_total{{crm=\"{}\",what=\"{}\",outcome=\"{}\"}} {}\n",
                        crm, what, outcome, n);
    }
    out += "# HELP funnelguard_events_applied_total Normalized events applied to the mirror.\n";
    out += "# TYPE funnelguard_events_applied_total counter\n";
    out += fmt::format("funnelguard_events_applied_total {}\n", events_applied_.load());
    out += "# HELP funnelguard_actions_total Outbox deliveries, by action kind and outcome.\n";
    out += "# TYPE funnelguard_actions_total counter\n";
    for (const auto& [key, n] : delivered_) {
        out += fmt::format("funnelguard_actions_total{{kind=\"{}\",outcome=\"{}\"}} {}\n",
                           key.first, key.second, n);
    }
    return out;
}

std::string Metrics::RenderInbox(storage::Db& db, Timestamp now) {
    const storage::InboxStats inbox = storage::GetInboxStats(db);
    std::string text;
    text += "# HELP funnelguard_inbox_pending Webhooks stored but not processed yet.\n";
    text += "# TYPE funnelguard_inbox_pending gauge\n";
    text += fmt::format("funnelguard_inbox_pending {}\n", inbox.pending);
    text += "# HELP funnelguard_inbox_lag_seconds Age of the oldest unprocessed webhook.\n";
    text += "# TYPE funnelguard_inbox_lag_seconds gauge\n";
    text += fmt::format(
        "funnelguard_inbox_lag_seconds {}\n",
        inbox.oldest_pending ? std::max<long long>(0, (now - *inbox.oldest_pending).count()) : 0);
    text +=
        "# HELP funnelguard_inbox_items Inbox items by tenant, state (stored, waiting, fetched, "
        "applied, ignored, failed) and reason (GET /api/v1/inbox lists them).\n";
    text += "# TYPE funnelguard_inbox_items gauge\n";
    for (const auto& [tenant, state, reason, count] : storage::InboxCountsByReason(db)) {
        text +=
            fmt::format("funnelguard_inbox_items{{tenant=\"{}\",state=\"{}\",reason=\"{}\"}} {}\n",
                        tenant, storage::InboxStateName(state), reason, count);
    }
    return text;
}

}  // namespace fg::engine
