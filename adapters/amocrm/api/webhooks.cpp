#include "adapters/amocrm/api/webhooks.hpp"

#include <algorithm>
#include <optional>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "adapters/amocrm/api/mapping.hpp"
#include "src/common/log.hpp"

namespace fg::adapters::amocrm {
namespace {

spdlog::logger& Log() {
    static const std::shared_ptr<spdlog::logger> logger = ModuleLogger("amocrm");
    return *logger;
}

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

Result<std::optional<Registered>> FindHook(Client& client, const std::string& url) {
    const ApiRequest request{
        .method = "GET",
        .target = "/api/v4/webhooks?filter%5Bdestination%5D=" + QueryEncode(url),
        .redact = {url},
    };
    auto response = client.Execute(request);
    if (!response) {
        return response.error();
    }
    if (response->status == 204 ||
        (response->status >= 200 && response->status < 300 && response->body.empty())) {
        return std::optional<Registered>{};
    }
    if (response->status < 200 || response->status >= 300) {
        return client.StatusError(request, *response);
    }
    const nlohmann::json parsed = nlohmann::json::parse(response->body, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) {
        return MakeError(ErrorCode::kUnavailable, "amoCRM GET /api/v4/webhooks: not JSON");
    }
    const auto embedded = parsed.find("_embedded");
    if (embedded == parsed.end() || !embedded->is_object()) {
        return std::optional<Registered>{};
    }
    const auto hooks = embedded->find("webhooks");
    if (hooks == embedded->end() || !hooks->is_array()) {
        return std::optional<Registered>{};
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

}  // namespace

Result<void> ConnectWebhook(Client& client, const std::string& hook_url) {
    if (auto valid = CheckUrl(hook_url); !valid) {
        return valid;
    }
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
        return Ok{};
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
    return Ok{};
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
    const nlohmann::json body = {{"destination", hook_url}};
    const ApiRequest request{.method = "DELETE",
                             .target = "/api/v4/webhooks",
                             .body = body.dump(),
                             .retry = true,
                             .redact = {hook_url}};
    auto response = client.Execute(request);
    if (!response) {
        return response.error();
    }
    if (response->status == 404 || (response->status >= 200 && response->status < 300)) {
        Log().info("amoCRM webhook removed. tenant={}", LogSafe(client.tenant()));
        return Ok{};
    }
    return client.StatusError(request, *response);
}

}  // namespace fg::adapters::amocrm
