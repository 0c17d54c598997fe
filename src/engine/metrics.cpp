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
