#include "adapters/bitrix24/config.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include <fmt/format.h>

#include "src/tls/trust.hpp"

namespace fg::adapters::bitrix24 {
namespace {

std::string WithoutTrailingSlashes(std::string url) {
    while (!url.empty() && url.back() == '/') {
        url.pop_back();
    }
    return url;
}

// Plain http carries the webhook token (in the path) or the access token in clear, so it is for
// a loopback address only (the simulator, a local proxy).
bool SecureEnough(const std::string& url) {
    const config::UrlParts parts = config::PartsOf(url);
    return parts.https || tls::IsLoopbackHost(parts.host);
}

// An http(s) URL under `key`, without its trailing slashes; nullopt (with a problem) otherwise.
std::optional<std::string> ReadUrl(config::TableReader& reader, const char* key) {
    auto url = reader.String(key);
    if (!url) {
        return std::nullopt;
    }
    if (!config::IsHttpUrl(*url) || config::PartsOf(*url).has_userinfo) {
        reader.Problem(key, "must be an http:// or https:// URL without user:password@");
        return std::nullopt;
    }
    if (!SecureEnough(*url)) {
        reader.Problem(key,
                       "http:// would send the token unencrypted: use https://, or http:// to a "
                       "loopback address only (the simulator, a local proxy)");
        return std::nullopt;
    }
    return WithoutTrailingSlashes(*url);
}

void ReadCredentials(config::TableReader& reader, const toml::table& table,
                     Bitrix24Settings& config, const std::string& base_dir) {
    const bool webhook = table.get("webhook_user") != nullptr || table.get("webhook_token");
    const bool oauth =
        table.get("client_id") != nullptr || table.get("client_secret") || table.get("token_file");
    if (auto user = reader.Integer("webhook_user")) {
        if (*user <= 0) {
            reader.Problem("webhook_user",
                           "must be a positive user id (the number in "
                           "/rest/<user>/<token>/ of the inbound webhook)");
        } else {
            config.webhook_user = *user;
        }
    }
    // A secret's value is never repeated: a problem names its key only.
    for (const auto& [key, field] : {std::pair{"webhook_token", &config.webhook_token},
                                     std::pair{"client_id", &config.client_id},
                                     std::pair{"client_secret", &config.client_secret}}) {
        if (auto value = reader.String(key)) {
            if (value->empty()) {
                reader.Problem(key, "must not be empty");
            } else if (std::string_view(key) == "webhook_token" &&
                       value->find_first_of("/?#% ") != std::string::npos) {
                reader.Problem(key,
                               "must be the token of the inbound webhook URL alone (the "
                               "part after /rest/<user>/), not the URL");
            } else {
                *field = *value;
            }
        }
    }
    if (auto file = reader.String("token_file")) {
        if (file->empty()) {
            reader.Problem("token_file", "must not be empty");
        } else {
            std::filesystem::path path(*file);
            config.token_file =
                path.is_absolute()
                    ? *file
                    : (std::filesystem::path(base_dir) / path).lexically_normal().string();
        }
    }
    if (auto url = ReadUrl(reader, "oauth_url")) {
        config.oauth_url = *url;
    }
    if (webhook && oauth) {
        reader.Problem(table.get("webhook_token") != nullptr ? "webhook_token" : "webhook_user",
                       "set either webhook_user and webhook_token (an inbound webhook) or "
                       "client_id, client_secret and token_file (a local OAuth app), not both");
        return;
    }
    const auto require = [&](std::initializer_list<const char*> keys, const char* what) {
        for (const char* key : keys) {
            if (table.get(key) == nullptr) {
                reader.Problem(key, fmt::format("required for {}", what));
            }
        }
    };
    if (webhook) {
        require({"webhook_user", "webhook_token"},
                "an inbound webhook (with webhook_user and webhook_token)");
    } else if (oauth) {
        require({"client_id", "client_secret", "token_file"},
                "a local OAuth app (with client_id, client_secret and token_file)");
    } else {
        reader.Problem("webhook_token",
                       "required: webhook_user and webhook_token (an inbound webhook), or "
                       "client_id, client_secret and token_file (a local OAuth app)");
    }
}

// A host name a portal can be known by: not an IP address (nor localhost), which events'
// auth[domain] never carries.
bool IsPortalName(const std::string& host) {
    if (host.empty() || tls::IsLoopbackHost(host) || host.find(':') != std::string::npos) {
        return false;
    }
    return host.find_first_not_of("0123456789.") != std::string::npos;
}

void ReadIdentity(config::TableReader& reader, Bitrix24Settings& config) {
    if (!config.portal_url.empty()) {
        const std::string host = config::PartsOf(config.portal_url).host;
        if (IsPortalName(host)) {
            config.domain = host;
        }
    }
    if (auto domain = reader.String("domain")) {
        std::string lower = *domain;
        std::transform(lower.begin(), lower.end(), lower.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (lower.empty() || lower.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789.-") !=
                                 std::string::npos) {
            reader.Problem("domain",
                           "must be the portal's host name as its events name it in "
                           "auth[domain], e.g. \"acme.bitrix24.ru\" (no scheme, port or path)");
        } else {
            config.domain = lower;
        }
    }
    if (auto member_id = reader.String("member_id")) {
        if (member_id->empty() || member_id->size() > 64 ||
            member_id->find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
            reader.Problem("member_id",
                           "must be the portal's member_id (32 hexadecimal digits, as the app's "
                           "install handler receives it)");
        } else {
            config.member_id = *member_id;
        }
    }
}

template <class Enum>
void ReadEnum(config::TableReader& reader, const char* key,
              std::initializer_list<std::pair<const char*, Enum>> choices, Enum& out) {
    auto value = reader.String(key);
    if (!value) {
        return;
    }
    std::string names;
    for (const auto& [name, choice] : choices) {
        if (*value == name) {
            out = choice;
            return;
        }
        names += names.empty() ? fmt::format("\"{}\"", name) : fmt::format(", \"{}\"", name);
    }
    reader.Problem(key, fmt::format("must be one of {}", names));
}

}  // namespace

std::shared_ptr<const config::CrmSettings> ParseSettings(config::TableReader& tenant,
                                                         const std::string& base_dir) {
    auto settings = std::make_shared<Bitrix24Settings>();
    Bitrix24Settings& config = *settings;
    const toml::table* table = tenant.Table("bitrix24");
    if (table == nullptr) {
        tenant.sink().Add(tenant.line(), tenant.Path("bitrix24"),
                          "a bitrix24 tenant needs [tenant.bitrix24] with portal_url and "
                          "webhook_user + webhook_token (or client_id, client_secret and "
                          "token_file)");
        return settings;
    }
    config::TableReader reader(*table, tenant.Path("bitrix24"), tenant.sink(),
                               tenant.Line("bitrix24"));
    if (table->get("portal_url") == nullptr) {
        reader.Problem("portal_url",
                       "required: the portal's address, e.g. "
                       "\"https://acme.bitrix24.ru\"");
    } else if (auto url = ReadUrl(reader, "portal_url")) {
        config.portal_url = *url;
    }
    ReadCredentials(reader, *table, config, base_dir);
    ReadIdentity(reader, config);
    if (auto rate = reader.Number("rate")) {
        if (!(*rate > 0) || *rate > 1000) {
            reader.Problem("rate",
                           "must be greater than 0 (calls per second the bucket drains; "
                           "2 for most plans, 5 for Enterprise)");
        } else {
            config.rate = *rate;
        }
    }
    if (auto burst = reader.Integer("burst")) {
        if (*burst <= 0 || *burst > 100000) {
            reader.Problem("burst",
                           "must be a positive whole number (the bucket size; 50 for "
                           "most plans, 250 for Enterprise)");
        } else {
            config.burst = static_cast<int>(*burst);
        }
    }
    if (auto ca_file = config::ReadCaFile(reader, base_dir)) {
        if (!config.portal_url.empty() && !config::PartsOf(config.portal_url).https) {
            reader.Problem("ca_file", "is for an https:// portal_url; this one is http://");
        } else {
            config.ca_file = *ca_file;
        }
    }
    ReadEnum(
        reader, "deal_tasks",
        {{"todos", DealTasks::kTodos}, {"tasks", DealTasks::kTasks}, {"both", DealTasks::kBoth}},
        config.deal_tasks);
    ReadEnum(reader, "write_tasks_as",
             {{"todo", WriteTasksAs::kTodo}, {"task", WriteTasksAs::kTask}}, config.write_tasks_as);
    reader.RejectUnknownKeys();
    return settings;
}

config::CrmSchema Schema() {
    return {.name = "bitrix24",
            .is_default = false,
            .pipelines_from_api = true,
            .title = "Bitrix24",
            .delivers_messages = false,
            .parse = ParseSettings};
}

const Bitrix24Settings& SettingsOf(const config::TenantConfig& tenant) {
    static const Bitrix24Settings kNone{};
    const Bitrix24Settings* settings = tenant.CrmSettingsAs<Bitrix24Settings>();
    return settings != nullptr ? *settings : kNone;
}

}  // namespace fg::adapters::bitrix24
