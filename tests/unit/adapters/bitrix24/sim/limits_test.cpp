#include "adapters/bitrix24/sim/limits.hpp"

#include <doctest/doctest.h>

#include "tests/unit/adapters/bitrix24/sim/support.hpp"

using fg::testing::b24::Portal;
using nlohmann::json;

TEST_SUITE("bitrix24 simulator: limits") {
    TEST_CASE("the bucket admits a burst of 50, then 503 QUERY_LIMIT_EXCEEDED, draining 2/s") {
        Portal portal({.deals = 1, .rate = 2, .burst = 50}, /*limit_off=*/false);
        for (int i = 0; i < 50; ++i) {
            REQUIRE(portal.Call("user.get").status == 200);
        }
        const auto refused = portal.Call("user.get");
        CHECK(refused.status == 503);
        CHECK(refused.body ==
              json{{"error", "QUERY_LIMIT_EXCEEDED"}, {"error_description", "Too many requests"}});
        // A batch is one request against the bucket, refused whole.
        CHECK(portal.Call("batch", {{"cmd", {{"a", "user.get"}}}}).status == 503);

        portal.clock.Advance(fg::Duration{1});  // drains 2
        CHECK(portal.Call("user.get").status == 200);
        CHECK(portal.Call("user.get").status == 200);
        CHECK(portal.Call("user.get").status == 503);
        CHECK(portal.sim->Stats().limit_errors == 3);

        portal.clock.Advance(fg::Duration{25});  // empty again
        for (int i = 0; i < 50; ++i) {
            REQUIRE(portal.Call("user.get").status == 200);
        }
        CHECK(portal.Call("user.get").status == 503);
    }

    TEST_CASE("a method over its operating budget answers 429 OPERATION_TIME_LIMIT until reset") {
        Portal portal(
            {.deals = 1, .method_seconds = {{"crm.deal.list", 100}}, .operating_limit = 480});
        for (int i = 0; i < 5; ++i) {
            REQUIRE(portal.Call("crm.deal.list").status == 200);
        }
        const auto blocked = portal.Call("crm.deal.list");
        CHECK(blocked.status == 429);
        CHECK(blocked.body["error"] == "OPERATION_TIME_LIMIT");
        CHECK(portal.Call("crm.deal.get", {{"id", 1}}).status == 200);  // other methods run
        portal.clock.Advance(fg::Duration{11 * 60});
        const auto again = portal.Call("crm.deal.list");
        CHECK(again.status == 200);
        CHECK(again.body["time"]["operating"] == 100.0);
        CHECK(portal.sim->Stats().operation_limit_errors == 1);
    }

    TEST_CASE("LeakyBucket alone: fractional drain accumulates over whole seconds") {
        fg::adapters::bitrix24::sim::LeakyBucket bucket(0.5, 2);
        const fg::Timestamp t = fg::testing::b24::T0();
        CHECK(bucket.Admit(t));
        CHECK(bucket.Admit(t));
        CHECK_FALSE(bucket.Admit(t));
        CHECK_FALSE(bucket.Admit(t + fg::Duration{1}));  // 0.5 drained: 1.5 + 1 > 2
        CHECK(bucket.Admit(t + fg::Duration{2}));
    }
}
