#include <exception>
#include <regex>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "adapters/bitrix24/sim/params.hpp"
#include "adapters/bitrix24/sim/render.hpp"
#include "adapters/bitrix24/sim/simulator_impl.hpp"

// HTTP: the two addressing forms (inbound webhook, OAuth), the leaky bucket, the envelope, and
// the OAuth token endpoint.

namespace fg::adapters::bitrix24::sim {

using nlohmann::json;

namespace {

void WriteError(httplib::Response& res, int status, const std::string& error,
                const std::string& description) {
    res.status = status;
    res.set_content(json{{"error", error}, {"error_description", description}}.dump(),
                    "application/json; charset=utf-8");
}

bool EndsWith(const std::string& text, std::string_view suffix) {
    return text.size() >= suffix.size() &&
           text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

void WriteReply(httplib::Response& res, const Reply& reply, const json& time) {
    if (!reply.ok()) {
        WriteError(res, reply.status, reply.error, reply.description);
        return;
    }
    json body = {{"result", reply.result}};
    if (reply.next) {
        body["next"] = *reply.next;
    }
    if (reply.total) {
        body["total"] = *reply.total;
    }
    body["time"] = time;
    res.status = 200;
    res.set_content(body.dump(), "application/json; charset=utf-8");
}

std::optional<json> RequestParams(const httplib::Request& req) {
    json params = json::object();
    if (const std::size_t question = req.target.find('?'); question != std::string::npos) {
        params = ParseForm(std::string_view(req.target).substr(question + 1));
    }
    if (req.body.empty()) {
        return params;
    }
    const std::string type = req.get_header_value("Content-Type");
    const bool form = type.find("application/x-www-form-urlencoded") != std::string::npos;
    const bool json_body = type.find("json") != std::string::npos ||
                           (!form && (req.body.front() == '{' || req.body.front() == '['));
    json body;
    if (json_body) {
        body = json::parse(req.body, nullptr, false);
        if (body.is_discarded()) {
            return std::nullopt;
        }
        if (body.is_array() && body.empty()) {
            body = json::object();
        }
        if (!body.is_object()) {
            return std::nullopt;
        }
    } else {
        body = ParseForm(req.body);
    }
    for (auto& [key, value] : body.items()) {
        params[key] = std::move(value);
    }
    return params;
}

void Simulator::Impl::ServeRest(const httplib::Request& req, httplib::Response& res,
                                std::string method,
                                std::optional<std::pair<std::string, std::string>> webhook) {
    {
        std::lock_guard lock(stats_mutex);
        ++stats.requests;
    }
    if (EndsWith(method, ".json")) {
        method.resize(method.size() - 5);
    }
    auto unauthorized = [this, &res](const char* error, const char* description) {
        {
            std::lock_guard lock(stats_mutex);
            ++stats.unauthorized;
        }
        WriteError(res, 401, error, description);
    };
    std::optional<json> params = RequestParams(req);
    std::lock_guard lock(mutex);
    const Timestamp start = clock->Now();
    if (!bucket.Admit(start)) {
        {
            std::lock_guard stats_lock(stats_mutex);
            ++stats.limit_errors;
        }
        WriteError(res, 503, "QUERY_LIMIT_EXCEEDED", "Too many requests");
        return;
    }
    Caller caller;
    if (webhook) {
        if (webhook->first != std::to_string(options.webhook_user) ||
            webhook->second != webhook_token) {
            unauthorized("NO_AUTH_FOUND", "Wrong authorization data");
            return;
        }
        caller = Caller{.app = false, .user = options.webhook_user};
    } else {
        const json* auth = params ? Find(*params, "auth") : nullptr;
        if (auth == nullptr || !auth->is_string()) {
            unauthorized("NO_AUTH_FOUND", "Wrong authorization data");
            return;
        }
        const auto it = access_tokens.find(auth->get<std::string>());
        if (it == access_tokens.end()) {
            unauthorized("invalid_token", "The access token provided is invalid.");
            return;
        }
        if (start >= it->second) {
            unauthorized("expired_token", "The access token provided has expired.");
            return;
        }
        caller = Caller{.app = true, .user = model.AdminId()};
    }
    if (!params) {
        WriteError(res, 400, "INVALID_REQUEST", "The request body is not valid JSON");
        return;
    }
    params->erase("auth");
    const Reply reply = Call(method, *params, caller);
    WriteReply(res, reply, TimeBlock(method, start));
    Flush();
}

void Simulator::Impl::ServeOAuth(const httplib::Request& req, httplib::Response& res) {
    {
        std::lock_guard lock(stats_mutex);
        ++stats.requests;
    }
    const std::optional<json> params = RequestParams(req);
    if (!params) {
        WriteError(res, 400, "invalid_request", "Bad request");
        return;
    }
    const auto text = [&](const char* key) {
        const json* value = Find(*params, key);
        return value != nullptr ? Text(*value) : std::string{};
    };
    std::lock_guard lock(mutex);
    if (text("client_id") != options.client_id || text("client_secret") != client_secret) {
        WriteError(res, 401, "invalid_client", "Invalid client credentials");
        return;
    }
    if (text("grant_type") != "refresh_token") {
        WriteError(res, 400, "invalid_request", "Unsupported grant_type");
        return;
    }
    const auto it = refresh_tokens.find(text("refresh_token"));
    if (it == refresh_tokens.end() || clock->Now() >= it->second) {
        WriteError(res, 400, "invalid_grant", "Invalid refresh token");
        return;
    }
    refresh_tokens.erase(it);  // rotation: a refresh token works once
    const SimTokens tokens = IssueTokensLocked();
    {
        std::lock_guard stats_lock(stats_mutex);
        ++stats.refreshes;
    }
    const json body = {{"access_token", tokens.access_token},
                       {"expires", ToEpoch(tokens.expires)},
                       {"expires_in", options.access_ttl.count()},
                       {"scope", "app"},
                       {"domain", "oauth.bitrix.info"},
                       {"server_endpoint", "https://oauth.bitrix.info/rest/"},
                       {"status", "L"},
                       {"client_endpoint", fmt::format("https://{}/rest/", options.domain)},
                       {"member_id", options.member_id},
                       {"user_id", model.AdminId()},
                       {"refresh_token", tokens.refresh_token}};
    res.status = 200;
    res.set_content(body.dump(), "application/json; charset=utf-8");
}

void Simulator::Impl::RegisterRoutes() {
    const auto webhook_route = [this](const httplib::Request& req, httplib::Response& res) {
        ServeRest(req, res, req.matches[3].str(),
                  std::make_pair(req.matches[1].str(), req.matches[2].str()));
    };
    const auto oauth_route = [this](const httplib::Request& req, httplib::Response& res) {
        ServeRest(req, res, req.matches[1].str(), std::nullopt);
    };
    const char* webhook_pattern = R"(/rest/(\d+)/([^/]+)/([A-Za-z0-9_.]+)/?)";
    const char* oauth_pattern = R"(/rest/([A-Za-z0-9_.]+)/?)";
    server->Get(webhook_pattern, webhook_route);
    server->Post(webhook_pattern, webhook_route);
    server->Get(oauth_pattern, oauth_route);
    server->Post(oauth_pattern, oauth_route);
    const auto token_route = [this](const httplib::Request& req, httplib::Response& res) {
        ServeOAuth(req, res);
    };
    server->Get(R"(/oauth/token/?)", token_route);
    server->Post(R"(/oauth/token/?)", token_route);
    server->set_error_handler([](const httplib::Request&, httplib::Response& res) {
        if (res.status == 404 && res.body.empty()) {
            WriteError(res, 404, "ERROR_METHOD_NOT_FOUND", "Method not found!");
        }
    });
    server->set_exception_handler(
        [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
            WriteError(res, 500, "INTERNAL_SERVER_ERROR", "Internal server error");
        });
}

}  // namespace fg::adapters::bitrix24::sim
