#pragma once

#include <memory>
#include <string>

#include "src/config/config.hpp"
#include "src/config/section.hpp"

namespace fg::adapters::bitrix24 {

/// What counts as a deal's task (`deal_tasks`).
enum class DealTasks { kTodos, kTasks, kBoth };
/// How funnelguard writes a task (`write_tasks_as`).
enum class WriteTasksAs { kTodo, kTask };

/// `[tenant.bitrix24]`: the portal, how funnelguard calls it (an inbound webhook or a local OAuth
/// app), and the pace of calls to it. Secrets (webhook_token, client_secret, the tokens in
/// token_file) are never repeated in a problem or a log line.
struct Bitrix24Settings final : config::CrmSettings {
    std::string portal_url{};  // "https://acme.bitrix24.ru", no trailing slash
    // An inbound webhook: {portal_url}/rest/{webhook_user}/{webhook_token}/{method}.json
    std::int64_t webhook_user = 0;
    std::string webhook_token{};
    // Or a local OAuth app: {portal_url}/rest/{method}.json with auth=<access token>.
    std::string client_id{};
    std::string client_secret{};
    std::string token_file{};  // absolute (resolved against the config file's folder)
    std::string oauth_url = "https://oauth.bitrix.info";
    double rate = 2;  // leaky bucket drain per second (Enterprise: 5)
    int burst = 50;   // bucket size (Enterprise: 250)
    std::string ca_file{};
    DealTasks deal_tasks = DealTasks::kBoth;
    WriteTasksAs write_tasks_as = WriteTasksAs::kTodo;
    // Who may send this tenant's events: the portal's name as auth[domain] carries it (`domain`,
    // by default portal_url's host when that is a name, not an address), and the portal's
    // auth[member_id] when `member_id` is set. Empty: not checked.
    std::string domain{};
    std::string member_id{};  // like a secret: never repeated

    bool UsesOAuth() const { return webhook_token.empty(); }
    /// A deal as people open it in the portal.
    std::string DealUrl() const override { return portal_url + "/crm/deal/details/{deal}/"; }
};

/// Reads `[tenant.bitrix24]` (required) through `tenant`, reporting every problem.
std::shared_ptr<const config::CrmSettings> ParseSettings(config::TableReader& tenant,
                                                         const std::string& base_dir);

/// The section's schema (what the adapter registers).
config::CrmSchema Schema();

/// The tenant's settings (empty ones when the tenant is not a Bitrix24 tenant).
const Bitrix24Settings& SettingsOf(const config::TenantConfig& tenant);

}  // namespace fg::adapters::bitrix24
