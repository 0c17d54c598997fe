#include "adapters/amocrm/api/webhooks.hpp"

#include <algorithm>
#include <optional>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "adapters/amocrm/api/log.hpp"
#include "adapters/amocrm/api/mapping.hpp"

namespace fg::adapters::amocrm {
namespace {

Result<void> CheckUrl(const std::string& url) {
    const bool scheme = url.rfind("https://", 0) == 0 || url.rfind("http://", 0) == 0;
    const bool clean = std::all_of(url.begin(), url.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte > 0x20 && byte < 0x7f;
    });
    if (!scheme || !clean || url.size() > 2000) {
        return MakeError(ErrorCode::kInvalidInput,
                         "amocrm: the webhook URL must be an http(s) URL in printable ASCII");
    }
    return Ok{};
}

struct Registered {
    std::vector<std::string> settings{};
    bool disabled = false;
};

// The hooks of one GET /api/v4/webhooks answer (an empty array when there are none).
Result<nlohmann::json> GetHooks(Client& client, const ApiRequest& request) {
    auto response = client.Execute(request);
    if (!response) {
        return response.error();
    }
    const bool success = response->status >= 200 && response->status < 300;
    if (response->status == 204 || (success && response->body.empty())) {
        return nlohmann::json::array();
    }
    if (!success) {
        return client.StatusError(request, *response);
    }
    const nlohmann::json parsed = nlohmann::json::parse(response->body, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) {
        return MakeError(ErrorCode::kUnavailable, "amoCRM GET /api/v4/webhooks: not JSON");
    }
    const auto embedded = parsed.find("_embedded");
    if (embedded == parsed.end() || !embedded->is_object()) {
        return nlohmann::json::array();
    }
    const auto hooks = embedded->find("webhooks");
    if (hooks == embedded->end() || !hooks->is_array()) {
        return nlohmann::json::array();
    }
    return *hooks;
}

Result<std::optional<Registered>> FindHook(Client& client, const std::string& url) {
    const ApiRequest request{
        .method = "GET",
        .target = "/api/v4/webhooks?filter%5Bdestination%5D=" + QueryEncode(url),
        .redact = {url},
    };
    auto hooks = GetHooks(client, request);
    if (!hooks) {
        return hooks.error();
    }
    for (const nlohmann::json& hook : *hooks) {
        // The filter may be approximate: match the destination exactly here.
        if (StringMember(hook, "destination") != url) {
            continue;
        }
        Registered found;
        if (const auto settings = hook.find("settings");
            settings != hook.end() && settings->is_array()) {
            for (const nlohmann::json& setting : *settings) {
                if (setting.is_string()) {
                    found.settings.push_back(setting.get<std::string>());
                }
            }
        }
        if (const auto disabled = hook.find("disabled");
            disabled != hook.end() && disabled->is_boolean()) {
            found.disabled = disabled->get<bool>();
        }
        return std::optional<Registered>{std::move(found)};
    }
    return std::optional<Registered>{};
}

// "/hooks/amocrm/{tenant}/" of a hook URL: the part that is the same wherever funnelguard is
// reached; empty when the URL has no such part.
std::string OwnPathPart(const std::string& url) {
    const std::size_t start = url.rfind("/hooks/amocrm/");
    const std::size_t last = url.rfind('/');
    if (start == std::string::npos || last <= start + std::string_view("/hooks/amocrm/").size()) {
        return {};
    }
    return url.substr(start, last + 1 - start);
}

// Whether `destination` is funnelguard's hook for the same tenant at another address: its path
// ends in the same "/hooks/amocrm/{tenant}/" and one more segment (the secret).
bool IsOwnOtherHook(const std::string& destination, const std::string& hook_url,
                    const std::string& own_part) {
    if (own_part.empty() || destination == hook_url) {
        return false;
    }
    const std::size_t scheme = destination.find("://");
    // funnelguard's hook URLs never carry a query or a fragment.
    if (scheme == std::string::npos || destination.find_first_of("?#") != std::string::npos) {
        return false;
    }
    const std::size_t path = destination.find('/', scheme + 3);
    if (path == std::string::npos) {
        return false;
    }
    const std::size_t found = destination.rfind(own_part);
    if (found == std::string::npos || found < path) {
        return false;
    }
    const std::string_view secret = std::string_view(destination).substr(found + own_part.size());
    return !secret.empty() && secret.find('/') == std::string_view::npos;
}

// Every destination registered on the account (GET /api/v4/webhooks without a filter).
Result<std::vector<std::string>> ListDestinations(Client& client, const std::string& hook_url) {
    const ApiRequest request{.method = "GET", .target = "/api/v4/webhooks", .redact = {hook_url}};
    auto hooks = GetHooks(client, request);
    if (!hooks) {
        return hooks.error();
    }
    std::vector<std::string> destinations;
    for (const nlohmann::json& hook : *hooks) {
        if (std::string destination = StringMember(hook, "destination"); !destination.empty()) {
            destinations.push_back(std::move(destination));
        }
    }
    return destinations;
}

Result<void> DeleteHook(Client& client, const std::string& destination) {
    const nlohmann::json body = {{"destination", destination}};
    const ApiRequest request{.method = "DELETE",
                             .target = "/api/v4/webhooks",
                             .body = body.dump(),
                             .retry = true,
                             .redact = {destination}};
    auto response = client.Execute(request);
    if (!response) {
        return response.error();
    }
    if (response->status == 404 || (response->status >= 200 && response->status < 300)) {
        return Ok{};
    }
    return client.StatusError(request, *response);
}

// Removes funnelguard's earlier hooks for this tenant at other addresses (server.public_url or
// the secret changed): amoCRM would go on posting to them, and disable them as they fail. Other
// apps' hooks are never touched.
Result<int> RemoveStaleHooks(Client& client, const std::string& hook_url) {
    auto destinations = ListDestinations(client, hook_url);
    if (!destinations) {
        return destinations.error();
    }
    const std::string own_part = OwnPathPart(hook_url);
    int removed = 0;
    for (const std::string& destination : *destinations) {
        if (!IsOwnOtherHook(destination, hook_url, own_part)) {
            continue;
        }
        if (auto deleted = DeleteHook(client, destination); !deleted) {
            return deleted.error();
        }
        ++removed;
    }
    if (removed > 0) {
        Log().info(
            "amoCRM: funnelguard's earlier webhooks at another address removed. tenant={} "
            "removed={}",
            LogSafe(client.tenant()), removed);
    }
    return removed;
}

}  // namespace

Result<crm::Connection> ConnectWebhook(Client& client, const std::string& hook_url) {
    if (auto valid = CheckUrl(hook_url); !valid) {
        return valid.error();
    }
    auto removed = RemoveStaleHooks(client, hook_url);
    if (!removed) {
        return removed.error();
    }
    crm::Connection connection{.changed = *removed > 0, .earlier_removed = *removed};
    auto existing = FindHook(client, hook_url);
    if (!existing) {
        return existing.error();
    }
    std::vector<std::string> settings;
    if (*existing) {
        settings = (*existing)->settings;
    }
    bool complete = true;
    for (const std::string_view needed : kWebhookSettings) {
        if (std::find(settings.begin(), settings.end(), needed) == settings.end()) {
            settings.emplace_back(needed);
            complete = false;
        }
    }
    if (*existing && complete && !(*existing)->disabled) {
        Log().info("amoCRM webhook already registered. tenant={}", LogSafe(client.tenant()));
        return connection;
    }
    // POST with the same destination updates the subscription, and saving re-enables a hook
    // amoCRM disabled (reference §1.5), so this one call covers new, partial and disabled.
    const nlohmann::json body = {{"destination", hook_url}, {"settings", settings}};
    const ApiRequest request{.method = "POST",
                             .target = "/api/v4/webhooks",
                             .body = body.dump(),
                             .retry = true,  // the same subscription again changes nothing
                             .redact = {hook_url}};
    auto response = client.Execute(request);
    if (!response) {
        return response.error();
    }
    if (response->status < 200 || response->status >= 300) {
        return client.StatusError(request, *response);
    }
    Log().info("amoCRM webhook registered. tenant={} was_present={} was_disabled={}",
               LogSafe(client.tenant()), existing->has_value(),
               existing->has_value() && (*existing)->disabled);
    connection.changed = true;
    return connection;
}

Result<void> DisconnectWebhook(Client& client, const std::string& hook_url) {
    if (auto valid = CheckUrl(hook_url); !valid) {
        return valid;
    }
    auto existing = FindHook(client, hook_url);
    if (!existing) {
        return existing.error();
    }
    if (!*existing) {
        Log().info("amoCRM webhook not registered; nothing to remove. tenant={}",
                   LogSafe(client.tenant()));
        return Ok{};
    }
    if (auto deleted = DeleteHook(client, hook_url); !deleted) {
        return deleted;
    }
    Log().info("amoCRM webhook removed. tenant={}", LogSafe(client.tenant()));
    return Ok{};
}

}  // namespace fg::adapters::amocrm
