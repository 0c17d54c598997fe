#include "adapters/bitrix24/demo_account.hpp"

#include <doctest/doctest.h>
#include <toml++/toml.h>

#include "tests/unit/adapters/bitrix24/sim/support.hpp"

using nlohmann::json;

TEST_SUITE("bitrix24 demo account") {
    TEST_CASE("ConfigSection points a [tenant.bitrix24] table at the running simulator") {
        fg::ManualClock clock(fg::testing::b24::T0());
        auto account =
            fg::adapters::bitrix24::MakeDemoAccount({.seed = 2, .deals = 12, .clock = &clock});
        REQUIRE(account->Start());
        CHECK(account->DealCount() == 12);
        CHECK(account->Describe() ==
              "a Bitrix24 portal (the built-in simulator on loopback) with 4 managers");
        CHECK(account->ApplicationToken() == "demo-application-token");
        CHECK(account->UserNames().at("7") == "Алексей Петров");

        const toml::table config = toml::parse(account->ConfigSection());
        const auto* section = config["tenant"]["bitrix24"].as_table();
        REQUIRE(section != nullptr);
        const std::string portal = (*section)["portal_url"].value_or(std::string{});
        CHECK(portal.starts_with("http://127.0.0.1:"));
        const auto user = (*section)["webhook_user"].value_or(std::int64_t{0});
        const std::string token = (*section)["webhook_token"].value_or(std::string{});

        // The address and token in the section reach the portal.
        httplib::Client client(portal);
        const auto answer =
            client.Post(fmt::format("/rest/{}/{}/crm.deal.list.json", user, token).c_str(),
                        R"({"select":["ID"],"start":-1})", "application/json");
        REQUIRE(answer);
        CHECK(answer->status == 200);
        CHECK(json::parse(answer->body)["result"].size() == 12);

        account->StartManagers(4);
        for (int i = 0; i < 30; ++i) {
            const auto next = account->NextActionAt();
            REQUIRE(next);
            clock.Set(*next);
            account->Step();
        }
        CHECK(account->WaitWebhooksIdle(std::chrono::seconds{10}));
        account->StopManagers();
        account->Stop();
        const auto footer = account->Footer();
        REQUIRE(footer.size() == 2);
        CHECK(footer[0].starts_with("managers: "));
    }
}
