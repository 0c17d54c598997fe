#include <doctest/doctest.h>

#include "tests/unit/adapters/bitrix24/sim/support.hpp"

using fg::testing::b24::Portal;
using nlohmann::json;

namespace {

fg::testing::b24::Answer OAuthCall(Portal& portal, const std::string& method,
                                   const std::string& access, json params = json::object()) {
    params["auth"] = access;
    return portal.Post("/rest/" + method + ".json", params.dump(), "application/json");
}

fg::testing::b24::Answer Refresh(Portal& portal, const std::string& refresh) {
    return portal.Get("/oauth/token/?grant_type=refresh_token&client_id=" + portal.sim->ClientId() +
                      "&client_secret=" + portal.sim->ClientSecret() + "&refresh_token=" + refresh);
}

}  // namespace

TEST_SUITE("bitrix24 simulator: OAuth") {
    TEST_CASE("an access token works until it expires, then 401 expired_token") {
        Portal portal({.deals = 1});
        const auto tokens = portal.sim->IssueTokens();
        CHECK(OAuthCall(portal, "crm.deal.get", tokens.access_token, {{"id", 1}}).status == 200);
        portal.clock.Advance(fg::Duration{3600});
        const auto expired = OAuthCall(portal, "crm.deal.get", tokens.access_token, {{"id", 1}});
        CHECK(expired.status == 401);
        CHECK(expired.body["error"] == "expired_token");
        const auto forged = OAuthCall(portal, "crm.deal.get", "forged", {{"id", 1}});
        CHECK(forged.status == 401);
        CHECK(forged.body["error"] == "invalid_token");
        // A query-string auth= works too (GET).
        const auto fresh = portal.sim->IssueTokens();
        CHECK(portal.Get("/rest/user.get?auth=" + fresh.access_token).status == 200);
    }

    TEST_CASE("refresh rotates: the new pair works, the used refresh token does not") {
        Portal portal({.deals = 1});
        const auto tokens = portal.sim->IssueTokens();
        const auto refreshed = Refresh(portal, tokens.refresh_token);
        REQUIRE(refreshed.status == 200);
        const std::string access = refreshed.body["access_token"];
        const std::string refresh = refreshed.body["refresh_token"];
        CHECK(refresh != tokens.refresh_token);
        CHECK(refreshed.body["expires_in"] == 3600);
        CHECK(refreshed.body.contains("member_id"));
        CHECK(OAuthCall(portal, "user.get", access).status == 200);

        const auto reused = Refresh(portal, tokens.refresh_token);
        CHECK(reused.status == 400);
        CHECK(reused.body["error"] == "invalid_grant");
        CHECK(Refresh(portal, refresh).status == 200);

        const auto wrong_secret = portal.Get(
            "/oauth/token/?grant_type=refresh_token&client_id=" + portal.sim->ClientId() +
            "&client_secret=nope&refresh_token=x");
        CHECK(wrong_secret.status == 401);
        CHECK(portal.sim->Stats().refreshes == 2);
    }

    TEST_CASE("no auth at all is 401 NO_AUTH_FOUND") {
        Portal portal;
        const auto answer = portal.Post("/rest/user.get.json", "{}", "application/json");
        CHECK(answer.status == 401);
        CHECK(answer.body["error"] == "NO_AUTH_FOUND");
    }
}
