#pragma once

#include <array>
#include <string>
#include <string_view>

#include "adapters/amocrm/api/client.hpp"
#include "src/common/result.hpp"
#include "src/crm/connector.hpp"

namespace fg::adapters::amocrm {

/// The webhook events funnelguard subscribes to (POST /api/v4/webhooks `settings`, reference
/// §1.2).
inline constexpr std::array<std::string_view, 10> kWebhookSettings = {
    "add_lead",         "update_lead", "status_lead", "delete_lead", "restore_lead",
    "responsible_lead", "note_lead",   "add_task",    "update_task", "delete_task"};

/// Registers `hook_url`. First removes funnelguard's earlier hooks for the same tenant at another
/// address (GET /api/v4/webhooks; DELETE {destination} for each destination whose path ends in
/// the same "/hooks/amocrm/{tenant}/" plus one segment, i.e. after server.public_url or the secret
/// changed; other apps' hooks are never touched). Then GET
/// /api/v4/webhooks?filter[destination]=URL, and when no enabled hook
/// with every needed setting is there, POST /api/v4/webhooks {destination, settings} (keeping
/// any other settings it had). Running it twice changes nothing. The URL holds the tenant's
/// secret: errors never repeat it.
Result<crm::Connection> ConnectWebhook(Client& client, const std::string& hook_url);

/// Removes `hook_url`: DELETE /api/v4/webhooks {destination} when it is registered; nothing
/// when it is not.
Result<void> DisconnectWebhook(Client& client, const std::string& hook_url);

}  // namespace fg::adapters::amocrm
