// Contracts of a webhook's way in, through the real HTTP layer (src/http): bad authentication is
// refused and nothing is stored, good authentication is stored, and a redelivery is stored once.
#include <string>

#include <doctest/doctest.h>

#include "tests/contract/harness.hpp"

namespace fg::contract {
namespace {

std::string ChangedLast(std::string secret) {
    secret.back() = secret.back() == 'x' ? 'y' : 'x';
    return secret;
}

TEST_CASE("Contract: a webhook with bad authentication is refused and a good one stored") {
    ForEachFixture([](const Fixture& fixture) {
        Intake intake(fixture);
        const std::string body = fixture.Samples().front().body;
        const std::string secret = kTenantSecret;
        struct Refusal {
            std::string what;
            std::string tenant;
            std::string secret;
        };
        const Refusal refusals[] = {
            {"a wrong secret", kTenant, "not-the-secret"},
            {"the secret with its last character changed", kTenant, ChangedLast(secret)},
            {"the secret without its last character", kTenant, secret.substr(0, secret.size() - 1)},
            {"the secret with one more character", kTenant, secret + "0"},
            {"another tenant's secret", kTenant, kOtherTenantSecret},
            {"this tenant's secret for another tenant", kOtherTenant, secret},
        };
        for (const Refusal& refusal : refusals) {
            CAPTURE(refusal.what);
            const httplib::Result response =
                intake.Post(MakeHookRequest(fixture, refusal.tenant, body, refusal.secret));
            REQUIRE(response);
            CHECK(response->status == 401);
            CHECK(response->body.find(secret) == std::string::npos);
            CHECK(intake.Stored() == 0);
        }
        {
            INFO("no credential at all");
            const httplib::Result response =
                intake.Post(MakeHookRequest(fixture, kTenant, body, ""));
            REQUIRE(response);
            // 404 where the credential is a path segment: without it the URL names no hook.
            CHECK((response->status == 401 || response->status == 404));
            CHECK(intake.Stored() == 0);
        }
        const httplib::Result stored = intake.Post(MakeHookRequest(fixture, kTenant, body, secret));
        REQUIRE(stored);
        CHECK(stored->status == 200);
        CHECK(stored->body == R"({"status":"stored"})");
        CHECK(intake.Stored() == 1);
    });
}

TEST_CASE("Contract: a redelivered webhook is stored once") {
    ForEachFixture([](const Fixture& fixture) {
        Intake intake(fixture);
        const std::vector<Sample> samples = fixture.Samples();
        REQUIRE(samples.size() >= 2);
        const HookRequest first = MakeHookRequest(fixture, kTenant, samples[0].body, kTenantSecret);
        const httplib::Result stored = intake.Post(first);
        REQUIRE(stored);
        CHECK(stored->body == R"({"status":"stored"})");
        const httplib::Result again = intake.Post(first);
        REQUIRE(again);
        CHECK(again->status == 200);  // answered as delivered, so the CRM stops retrying
        CHECK(again->body == R"({"status":"duplicate"})");
        CHECK(intake.Stored() == 1);

        const httplib::Result next =
            intake.Post(MakeHookRequest(fixture, kTenant, samples[1].body, kTenantSecret));
        REQUIRE(next);
        CHECK(next->body == R"({"status":"stored"})");
        CHECK(intake.Stored() == 2);
        // The same body for another tenant is that tenant's delivery, not a duplicate.
        const httplib::Result other = intake.Post(
            MakeHookRequest(fixture, kOtherTenant, samples[0].body, kOtherTenantSecret));
        REQUIRE(other);
        CHECK(other->body == R"({"status":"stored"})");
        CHECK(intake.Stored() == 3);
    });
}

TEST_CASE("Contract: a stored webhook holds none of the credentials its body carried") {
    ForEachFixture([](const Fixture& fixture) {
        const std::vector<std::string> secrets = fixture.BodySecrets();
        if (secrets.empty()) {
            return;  // its bodies carry none
        }
        Intake intake(fixture);
        for (const Sample& sample : fixture.Samples()) {
            const httplib::Result response =
                intake.Post(MakeHookRequest(fixture, kTenant, sample.body, kTenantSecret));
            REQUIRE(response);
            CHECK(response->status == 200);
        }
        const std::vector<std::string> bodies = intake.StoredBodies();
        CHECK(bodies.size() == fixture.Samples().size());
        for (const std::string& body : bodies) {
            for (const std::string& secret : secrets) {
                CHECK_MESSAGE(body.find(secret) == std::string::npos, secret);
            }
        }
    });
}

}  // namespace
}  // namespace fg::contract
