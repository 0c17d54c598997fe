#include "src/engine/metrics.hpp"

#include <fmt/format.h>

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

}  // namespace fg::engine
