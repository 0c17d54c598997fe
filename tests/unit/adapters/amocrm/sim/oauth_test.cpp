// POST /oauth2/access_token of the amoCRM simulator (adapters/amocrm/sim/oauth.cpp).
#include <string>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "adapters/amocrm/sim/simulator.hpp"
#include "tests/unit/adapters/amocrm/sim/support.hpp"

namespace fg::adapters::amocrm::sim {
namespace {

using nlohmann::json;
using testing::Client;
using testing::Json;
using testing::Quiet;

TEST_CASE("amoCRM simulator exchanges authorization codes and rotates refresh tokens") {
    ManualClock clock(testing::Start());
    SimOptions options = Quiet(clock);
    options.oauth.codes = {"known-code"};
    Simulator sim(options);
    REQUIRE(sim.Start());
    auto anonymous = Client(sim, false);
    const OAuthOptions& oauth = options.oauth;
    auto exchange = [&](json body) {
        body["client_id"] = oauth.client_id;
        body["client_secret"] = oauth.client_secret;
        body["redirect_uri"] = oauth.redirect_uri;
        return anonymous.Post("/oauth2/access_token", body.dump(), "application/json");
    };

    const auto unknown = exchange({{"grant_type", "authorization_code"}, {"code", "nope"}});
    REQUIRE(unknown);
    CHECK(unknown->status == 400);
    CHECK(json::parse(unknown->body)["type"] ==
          "https://developers.amocrm.ru/v3/errors/OAuthProblemJson");

    const auto granted = exchange({{"grant_type", "authorization_code"}, {"code", "known-code"}});
    REQUIRE(granted);
    REQUIRE(granted->status == 200);
    const json tokens = json::parse(granted->body);
    CHECK(tokens["token_type"] == "Bearer");
    CHECK(tokens["expires_in"] == 86400);
    const std::string access = tokens["access_token"];
    const std::string refresh = tokens["refresh_token"];
    CHECK(std::count(access.begin(), access.end(), '.') == 2);  // JWT-shaped

    // A code works once.
    const auto reused = exchange({{"grant_type", "authorization_code"}, {"code", "known-code"}});
    REQUIRE(reused);
    CHECK(reused->status == 400);

    // The access token is accepted as Bearer.
    auto client = Client(sim, false);
    client.set_bearer_token_auth(access.c_str());
    const auto with_access = client.Get("/api/v4/account");
    REQUIRE(with_access);
    CHECK(with_access->status == 200);

    // Refresh: a new pair; the old refresh token stops working.
    const auto refreshed = exchange({{"grant_type", "refresh_token"}, {"refresh_token", refresh}});
    REQUIRE(refreshed);
    REQUIRE(refreshed->status == 200);
    const json fresh = json::parse(refreshed->body);
    CHECK(fresh["refresh_token"] != refresh);
    const auto old_refresh =
        exchange({{"grant_type", "refresh_token"}, {"refresh_token", refresh}});
    REQUIRE(old_refresh);
    CHECK(old_refresh->status == 400);

    // Access tokens expire on the simulator's clock.
    clock.Advance(Duration{86400 + 1});
    const auto expired = client.Get("/api/v4/account");
    REQUIRE(expired);
    CHECK(expired->status == 401);

    // A code issued through the test hook, and a wrong secret.
    const std::string code = sim.IssueAuthorizationCode();
    json bad = {{"client_id", oauth.client_id},
                {"client_secret", "wrong"},
                {"redirect_uri", oauth.redirect_uri},
                {"grant_type", "authorization_code"},
                {"code", code}};
    const auto wrong_secret =
        anonymous.Post("/oauth2/access_token", bad.dump(), "application/json");
    REQUIRE(wrong_secret);
    CHECK(wrong_secret->status == 401);
    const auto issued = exchange({{"grant_type", "authorization_code"}, {"code", code}});
    REQUIRE(issued);
    CHECK(issued->status == 200);
}

}  // namespace
}  // namespace fg::adapters::amocrm::sim
