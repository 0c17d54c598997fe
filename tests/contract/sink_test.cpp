// Contract of the outbound half: the sink delivers an action to its receiver once per call and
// classifies the answer: 2xx delivered, 429 retry (refused unprocessed, with its Retry-After),
// 5xx retry (it may have landed), other 4xx rejected, a receiver that is down retry; errors never
// hold a secret.
#include <chrono>
#include <optional>
#include <string>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "tests/contract/harness.hpp"
#include "tests/support/fake_http_server.hpp"

namespace fg::contract {
namespace {

using outbox::DeliveryStatus;

// ASCII letters and hyphens: the same bytes in JSON, a form or a query, however a CRM takes it.
constexpr const char* kSinkText = "funnelguard-contract-note";

struct Answer {
    int status = 200;
    DeliveryStatus expected = DeliveryStatus::kDelivered;
    std::optional<int> retry_after{};  // seconds, sent as Retry-After and expected back
};

// A receiver that answers every request with `answer` (a 2xx with the fixture's body).
class ScriptedReceiver {
public:
    ScriptedReceiver(const Fixture& fixture, const Answer& answer) {
        const std::string accepted = fixture.AcceptedBody();
        server_.ServeAll([answer, accepted](const httplib::Request&, httplib::Response& response) {
            response.status = answer.status;
            if (answer.retry_after) {
                response.set_header("Retry-After", std::to_string(*answer.retry_after));
            }
            if (answer.status >= 200 && answer.status < 300) {
                response.set_content(accepted, "application/json");
            } else {
                response.set_content(
                    fmt::format(R"({{"title":"contract","status":{},"detail":"scripted"}})",
                                answer.status),
                    "application/problem+json");
            }
        });
        server_.Start();
    }
    std::string Url() const { return server_.Url(); }
    std::vector<testing::RecordedRequest> Requests() const { return server_.Requests(); }

private:
    testing::FakeHttpServer server_;
};

TEST_CASE("Contract: the sink delivers 2xx and classifies 429, 5xx, 4xx and a receiver down") {
    ForEachFixture([](const Fixture& fixture) {
        if (!fixture.HasSink()) {
            Bound bound(fixture, "");
            CHECK(bound.sink() == nullptr);
            REQUIRE_FALSE(fixture.WhyNoSink().empty());
            MESSAGE(fixture.adapter().Name(), " writes nothing: ", fixture.WhyNoSink());
            return;
        }
        const Answer answers[] = {
            {.status = 200, .expected = DeliveryStatus::kDelivered, .retry_after = {}},
            {.status = 201, .expected = DeliveryStatus::kDelivered, .retry_after = {}},
            {.status = 429, .expected = DeliveryStatus::kRetry, .retry_after = 7},
            {.status = 500, .expected = DeliveryStatus::kRetry, .retry_after = {}},
            {.status = 503, .expected = DeliveryStatus::kRetry, .retry_after = 3},
            {.status = 400, .expected = DeliveryStatus::kRejected, .retry_after = {}},
            {.status = 404, .expected = DeliveryStatus::kRejected, .retry_after = {}},
            {.status = 422, .expected = DeliveryStatus::kRejected, .retry_after = {}},
        };
        SUBCASE("receiver down") {
            std::string url;
            {
                testing::FakeHttpServer gone;
                gone.Start();
                url = gone.Url();
            }  // stopped: its port refuses connections now
            Bound bound(fixture, url);
            outbox::ActionSink* sink = bound.sink();
            REQUIRE(sink != nullptr);
            const outbox::DeliveryResult result = sink->Deliver(
                MakeAction({.kind = Write::kNote, .deal = fixture.SinkDeal(), .text = kSinkText}));
            CHECK(result.status == DeliveryStatus::kRetry);
            CHECK_FALSE(result.error.empty());
        }
        for (const Answer& answer : answers) {
            const std::string name = fmt::format("HTTP {}", answer.status);
            SUBCASE(name.c_str()) {
                ScriptedReceiver receiver(fixture, answer);
                Bound bound(fixture, receiver.Url());
                outbox::ActionSink* sink = bound.sink();
                REQUIRE(sink != nullptr);
                const outbox::DeliveryResult result = sink->Deliver(MakeAction(
                    {.kind = Write::kNote, .deal = fixture.SinkDeal(), .text = kSinkText}));
                CHECK(result.status == answer.expected);
                // Once: retrying is the outbox's business (paced, backed off, checked first).
                const std::vector<testing::RecordedRequest> requests = receiver.Requests();
                REQUIRE(requests.size() == 1);
                CHECK(requests.front().body.find(kSinkText) != std::string::npos);
                if (answer.expected == DeliveryStatus::kDelivered) {
                    continue;
                }
                CHECK_FALSE(result.error.empty());
                std::vector<std::string> secrets = fixture.Secrets();
                secrets.push_back(kTenantSecret);
                for (const std::string& secret : secrets) {
                    CHECK(result.error.find(secret) == std::string::npos);
                }
                // Only a 429 is certainly unprocessed; after a 5xx the write may have landed.
                CHECK(result.not_sent == (answer.status == 429));
                if (answer.retry_after) {
                    CHECK(result.retry_after == Duration{*answer.retry_after});
                }
            }
        }
    });
}

}  // namespace
}  // namespace fg::contract
