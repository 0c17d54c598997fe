// The Bitrix24 REST client over real TLS, as an on-premise portal with a private CA serves it: a
// CA made at test time, a server certificate for 127.0.0.1/localhost, servers that count what
// reached them; inbound-webhook and OAuth addressing, and the OAuth refresh.
#include <memory>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "adapters/bitrix24/api/client.hpp"
#include "adapters/bitrix24/api/limiter.hpp"
#include "tests/unit/tls/pki.hpp"

namespace fg::adapters::bitrix24 {
namespace {

using fg::testing::Credential;
using fg::testing::TestPki;
using fg::testing::TestServer;
using nlohmann::json;

constexpr const char* kWebhookToken = "wh-SECRET-7k3q9z1x2c4v5b";
constexpr const char* kClientSecret = "cs-SECRET-abcdef123456";
constexpr const char* kAccessToken = "acc-SECRET-0";
constexpr const char* kRefreshToken = "ref-SECRET-0";

bool Contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

void Profile(const httplib::Request&, httplib::Response& response) {
    response.set_content(R"({"result":{"ID":"1","ADMIN":true},"time":{"operating":0}})",
                         "application/json");
}

// A client whose limiter never waits for real, by webhook or (with a token file) as an app.
struct Setup {
    enum class Addressing { kWebhook, kOAuth };

    TestPki pki;
    ManualClock clock{FromEpoch(1793599200)};
    double now = 0;
    std::shared_ptr<PortalLimiter> limiter =
        std::make_shared<PortalLimiter>(1000.0, 1000, clock,
                                        Pace{.now_seconds = [this] { return now; },
                                             .sleep = [this](double seconds) { now += seconds; }});
    std::string token_file = pki.dir.Write(
        "tokens.json",
        json{{"access_token", kAccessToken}, {"refresh_token", kRefreshToken}}.dump());

    std::unique_ptr<Client> Make(Addressing addressing, const std::string& portal_url,
                                 const std::string& ca_file,
                                 const std::string& oauth_url = "https://127.0.0.1:1") {
        ClientOptions options{.tenant = "acme", .portal_url = portal_url};
        if (addressing == Addressing::kWebhook) {
            options.webhook_user = 1;
            options.webhook_token = kWebhookToken;
        } else {
            options.client_id = "local.5f2b0c0d1e2f30.12345678";
            options.client_secret = kClientSecret;
            options.token_file = token_file;
            options.oauth_url = oauth_url;
        }
        options.ca_file = ca_file;
        options.connect_timeout = Duration{5};
        options.read_timeout = Duration{5};
        return std::make_unique<Client>(options, limiter, clock);
    }
};

using Addressing = Setup::Addressing;

TEST_CASE("Bitrix24 client: a portal whose certificate chains to ca_file is called") {
    Setup setup;
    TestServer portal(setup.pki.dir, "portal", setup.pki.server, Profile);
    for (const char* host : {"127.0.0.1", "localhost"}) {
        CAPTURE(host);
        auto webhook = setup.Make(Addressing::kWebhook, portal.Url(host), setup.pki.ca_file);
        auto answer = webhook->Call("profile", json::object());
        REQUIRE_MESSAGE(answer, answer.error().message);
        CHECK(answer->result["ID"] == "1");
        CHECK(portal.Requests().back().path ==
              fmt::format("/rest/1/{}/profile.json", kWebhookToken));

        auto app = setup.Make(Addressing::kOAuth, portal.Url(host), setup.pki.ca_file);
        answer = app->Call("profile", json::object());
        REQUIRE_MESSAGE(answer, answer.error().message);
        const fg::testing::SeenRequest seen = portal.Requests().back();
        CHECK(seen.path == "/rest/profile.json");
        CHECK(json::parse(seen.body)["auth"] == kAccessToken);
    }
    CHECK(portal.Count() == 4);
}

TEST_CASE(
    "Bitrix24 client: a certificate that does not chain to ca_file is refused, nothing sent") {
    Setup setup;
    fg::testing::TestCa stranger("another CA");
    TestServer portal(setup.pki.dir, "portal", stranger.Issue("localhost", "IP:127.0.0.1"),
                      Profile);
    for (const Addressing addressing : {Addressing::kWebhook, Addressing::kOAuth}) {
        CAPTURE(addressing == Addressing::kWebhook ? "webhook" : "oauth");
        for (const std::string& ca_file : {setup.pki.ca_file, std::string()}) {
            CAPTURE(ca_file);
            auto client = setup.Make(addressing, portal.Url(), ca_file);
            CallInfo info;
            auto answer = client->Call("profile", json::object(), true, &info);
            REQUIRE_FALSE(answer);
            const std::string& message = answer.error().message;
            INFO(message);
            CHECK(answer.error().code == ErrorCode::kUnavailable);
            CHECK(Contains(message, "profile"));
            CHECK(Contains(message, fmt::format("127.0.0.1:{}", portal.port())));
            CHECK(Contains(message, "certificate verify failed"));
            CHECK(info.not_sent);
            for (const char* secret : {kWebhookToken, kAccessToken, kClientSecret}) {
                CHECK_FALSE(Contains(message, secret));
            }
        }
    }
    CHECK(portal.Count() == 0);
}

TEST_CASE("Bitrix24 client: a 302 to another host is refused, not followed") {
    Setup setup;
    TestServer elsewhere(setup.pki.dir, "elsewhere", setup.pki.server, Profile);
    const std::string location = elsewhere.Url("localhost") + "/rest/profile.json?steal=1";
    TestServer portal(setup.pki.dir, "portal", setup.pki.server,
                      [&](const httplib::Request&, httplib::Response& response) {
                          response.status = 302;  // a renamed portal (bitrix24.md §2.1)
                          response.set_header("Location", location);
                      });
    for (const Addressing addressing : {Addressing::kWebhook, Addressing::kOAuth}) {
        CAPTURE(addressing == Addressing::kWebhook ? "webhook" : "oauth");
        auto client = setup.Make(addressing, portal.Url(), setup.pki.ca_file);
        auto answer = client->Call("crm.deal.update", {{"id", 1}}, false);
        REQUIRE_FALSE(answer);
        const std::string& message = answer.error().message;
        INFO(message);
        CHECK(answer.error().code == ErrorCode::kInvalidInput);
        CHECK(Contains(message, "HTTP 302"));
        CHECK(Contains(message, fmt::format("localhost:{}", elsewhere.port())));
        CHECK(Contains(message, "not followed"));
        CHECK_FALSE(Contains(message, "steal"));
        CHECK_FALSE(Contains(message, kWebhookToken));
        CHECK_FALSE(Contains(message, kAccessToken));
    }
    CHECK(portal.Count() == 2);
    CHECK(elsewhere.Count() == 0);
}

// An on-premise portal's OAuth server, under the same private CA.
void Tokens(const httplib::Request&, httplib::Response& response) {
    response.set_content(
        R"({"access_token":"acc-SECRET-1","refresh_token":"ref-SECRET-1","expires_in":3600,)"
        R"("member_id":"d897063e1ce7c5eb9f04b9751eef5915"})",
        "application/json");
}

// The portal: an expired token first, then the profile for the refreshed one.
TestServer::Handler ExpiringPortal() {
    return [](const httplib::Request& request, httplib::Response& response) {
        const json body = json::parse(request.body, nullptr, false);
        if (body.is_object() && body.value("auth", "") == kAccessToken) {
            response.status = 401;
            response.set_content(
                R"({"error":"expired_token","error_description":"The access token provided has expired."})",
                "application/json");
            return;
        }
        Profile(request, response);
    };
}

TEST_CASE("Bitrix24 OAuth refresh over TLS: oauth_url is trusted through ca_file") {
    Setup setup;
    TestServer portal(setup.pki.dir, "portal", setup.pki.server, ExpiringPortal());
    TestServer oauth(setup.pki.dir, "oauth", setup.pki.server, Tokens);
    auto client = setup.Make(Addressing::kOAuth, portal.Url(), setup.pki.ca_file, oauth.Url());
    auto answer = client->Call("profile", json::object());
    REQUIRE_MESSAGE(answer, answer.error().message);
    const auto refreshes = oauth.Requests();
    REQUIRE(refreshes.size() == 1);
    CHECK(refreshes[0].path == "/oauth/token/");
    const auto calls = portal.Requests();
    REQUIRE(calls.size() == 2);
    CHECK(json::parse(calls[1].body)["auth"] == "acc-SECRET-1");
}

TEST_CASE("Bitrix24 OAuth refresh over TLS: a foreign certificate or a redirect stops it") {
    Setup setup;
    TestServer portal(setup.pki.dir, "portal", setup.pki.server, ExpiringPortal());
    SUBCASE("a certificate of another CA: nothing is sent, no secret in the error") {
        fg::testing::TestCa stranger("another CA");
        TestServer oauth(setup.pki.dir, "oauth", stranger.Issue("localhost", "IP:127.0.0.1"),
                         Tokens);
        auto client = setup.Make(Addressing::kOAuth, portal.Url(), setup.pki.ca_file, oauth.Url());
        auto answer = client->Call("profile", json::object());
        REQUIRE_FALSE(answer);
        const std::string& message = answer.error().message;
        INFO(message);
        CHECK(Contains(message, "OAuth token refresh"));
        CHECK(Contains(message, fmt::format("127.0.0.1:{}", oauth.port())));
        CHECK(Contains(message, "certificate verify failed"));
        for (const char* secret : {kClientSecret, kRefreshToken, kAccessToken}) {
            CHECK_FALSE(Contains(message, secret));
        }
        CHECK(oauth.Count() == 0);
    }
    SUBCASE("a 302 elsewhere: the secret's query never reaches it") {
        TestServer elsewhere(setup.pki.dir, "elsewhere", setup.pki.server, Tokens);
        TestServer oauth(setup.pki.dir, "oauth", setup.pki.server,
                         [&](const httplib::Request& request, httplib::Response& response) {
                             response.status = 302;
                             response.set_header("Location", elsewhere.Url("localhost") +
                                                                 request.path + "?stolen=1");
                         });
        auto client = setup.Make(Addressing::kOAuth, portal.Url(), setup.pki.ca_file, oauth.Url());
        auto answer = client->Call("profile", json::object());
        REQUIRE_FALSE(answer);
        const std::string& message = answer.error().message;
        INFO(message);
        CHECK(Contains(message, "HTTP 302"));
        CHECK(Contains(message, fmt::format("localhost:{}", elsewhere.port())));
        CHECK(Contains(message, "not followed"));
        for (const char* secret : {kClientSecret, kRefreshToken, "stolen"}) {
            CHECK_FALSE(Contains(message, secret));
        }
        CHECK(oauth.Count() == 1);
        CHECK(elsewhere.Count() == 0);
    }
    // The portal saw the expired token once, and no other.
    CHECK(portal.Count() == 1);
}

}  // namespace
}  // namespace fg::adapters::bitrix24
