#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "adapters/amocrm/sim/respond.hpp"
#include "adapters/amocrm/sim/simulator_impl.hpp"
#include "src/common/base64url.hpp"

namespace fg::adapters::amocrm::sim {

// POST /oauth2/access_token: the authorization code exchange and refresh-token rotation, with
// JWT-shaped access tokens.

using nlohmann::json;

namespace {

void OAuthProblem(httplib::Response& res, int status, std::string_view hint,
                  std::string_view detail) {
    json body = {{"hint", hint},
                 {"title", status == 401 ? "Ошибка авторизации" : "Некорректный запрос"},
                 {"type", "https://developers.amocrm.ru/v3/errors/OAuthProblemJson"},
                 {"status", status},
                 {"detail", detail}};
    res.status = status;
    res.set_content(Dump(body), "application/problem+json");
}

}  // namespace

std::string Simulator::Impl::RandomHex(std::size_t bytes) {
    std::string out;
    for (std::size_t i = 0; i < bytes; ++i) {
        out += fmt::format("{:02x}", static_cast<unsigned>(token_rng.Below(256)));
    }
    return out;
}

std::string Simulator::Impl::MakeJwt(Timestamp expires) {
    const json header = {{"typ", "JWT"}, {"alg", "RS256"}, {"jti", RandomHex(20)}};
    const json payload = {{"aud", options.oauth.client_id},
                          {"jti", header["jti"]},
                          {"iat", ToEpoch(clock->Now())},
                          {"nbf", ToEpoch(clock->Now())},
                          {"exp", ToEpoch(expires)},
                          {"sub", std::to_string(model.AdminUserId())},
                          {"account_id", model.account_id},
                          {"base_domain", "amocrm.ru"},
                          {"api_domain", fmt::format("{}:{}", options.host, port)},
                          {"version", 2},
                          {"scopes", {"crm", "notifications"}}};
    return Base64Url(header.dump()) + "." + Base64Url(payload.dump()) + "." +
           Base64Url(RandomHex(64));
}

void Simulator::Impl::AccessToken(const httplib::Request& req, httplib::Response& res) {
    json body;
    if (req.get_header_value("Content-Type").find("application/json") != std::string::npos) {
        body = json::parse(req.body);
    } else {
        body = json::object();
        for (const auto& [key, value] : req.params) {
            body[key] = value;
        }
    }
    auto text = [&](const char* key) -> std::string {
        const auto it = body.find(key);
        return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    const OAuthOptions& oauth = options.oauth;
    if (text("client_id") != oauth.client_id || text("client_secret") != oauth.client_secret) {
        OAuthProblem(res, 401, "Client authentication failed",
                     "Клиент не найден или секретный ключ неверен");
        return;
    }
    if (!oauth.redirect_uri.empty() && text("redirect_uri") != oauth.redirect_uri) {
        OAuthProblem(res, 400, "Redirect URI mismatch",
                     "В запросе отсутствует ряд параметров или параметры невалидны");
        return;
    }
    std::lock_guard lock(mutex);
    const Timestamp now = clock->Now();
    const std::string grant = text("grant_type");
    if (grant == "authorization_code") {
        const auto it = codes.find(text("code"));
        if (it == codes.end()) {
            OAuthProblem(res, 400, "Cannot decrypt the authorization code",
                         "В запросе отсутствует ряд параметров или параметры невалидны");
            return;
        }
        const bool expired = now >= it->second;
        codes.erase(it);  // single use
        if (expired) {
            OAuthProblem(res, 400, "Authorization code has expired",
                         "В запросе отсутствует ряд параметров или параметры невалидны");
            return;
        }
    } else if (grant == "refresh_token") {
        const auto it = refresh_tokens.find(text("refresh_token"));
        if (it == refresh_tokens.end() || now >= it->second) {
            OAuthProblem(res, 400, "Token has been revoked",
                         "В запросе отсутствует ряд параметров или параметры невалидны");
            return;
        }
        refresh_tokens.erase(it);  // rotation: the old refresh token stops working
    } else {
        OAuthProblem(res, 400,
                     "The authorization grant type is not supported by the authorization server.",
                     "В запросе отсутствует ряд параметров или параметры невалидны");
        return;
    }
    const std::string access = MakeJwt(now + oauth.access_ttl);
    const std::string refresh = "def50200" + RandomHex(96);
    access_tokens[access] = now + oauth.access_ttl;
    refresh_tokens[refresh] = now + oauth.refresh_ttl;
    json answer = {{"token_type", "Bearer"},
                   {"expires_in", oauth.access_ttl.count()},
                   {"server_time", ToEpoch(now)},
                   {"access_token", access},
                   {"refresh_token", refresh}};
    res.status = 200;
    res.set_content(Dump(answer), "application/json");
}

std::string Simulator::IssueAuthorizationCode() {
    std::lock_guard lock(impl_->mutex);
    std::string code = "def50200" + impl_->RandomHex(64);
    impl_->codes[code] = impl_->clock->Now() + impl_->options.oauth.code_ttl;
    return code;
}

}  // namespace fg::adapters::amocrm::sim
