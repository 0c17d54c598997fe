// adapters/bitrix24/api: the REST client and the portal's limiter, against a loopback portal.
#include "adapters/bitrix24/api/client.hpp"

#include <fstream>
#include <sstream>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include "adapters/bitrix24/api/limiter.hpp"
#include "tests/support/process.hpp"
#include "tests/unit/adapters/bitrix24/fake_portal.hpp"

namespace fg::adapters::bitrix24 {
namespace client_test {

using nlohmann::json;
using testing::Fail;
using testing::FakePortal;
using testing::Ok;

constexpr const char* kWebhookToken = "wh7k3q9z1x2c4v5b";

// Steady seconds that only move when the limiter sleeps: every wait is recorded, none is real.
struct ManualPace {
    double now = 1000;
    std::vector<double> sleeps{};
    Pace Make() {
        return {.now_seconds = [this] { return now; },
                .sleep =
                    [this](double seconds) {
                        sleeps.push_back(seconds);
                        now += seconds;
                    }};
    }
};

struct Setup {
    ManualClock clock{Timestamp{std::chrono::seconds{1766047124}}};
    ManualPace pace{};
    std::shared_ptr<PortalLimiter> limiter =
        std::make_shared<PortalLimiter>(2.0, 50, clock, pace.Make());

    Client WebhookClient(const FakePortal& portal) {
        return Client(ClientOptions{.tenant = "acme",
                                    .portal_url = portal.Url(),
                                    .webhook_user = 1,
                                    .webhook_token = kWebhookToken},
                      limiter, clock);
    }
};

TEST_CASE("An inbound webhook's calls go to /rest/<user>/<token>/<method>.json with a JSON body") {
    FakePortal portal;
    portal.On("crm.deal.get", [](const json& params) {
        return params.value("id", json()) == 410 ? Ok({{"ID", "410"}, {"TITLE", "New Deal #1"}})
                                                 : Fail(400, "", "Not found");
    });
    Setup setup;
    Client client = setup.WebhookClient(portal);
    const Result<Envelope> deal = client.Call("crm.deal.get", {{"id", 410}});
    REQUIRE_MESSAGE(deal, (deal ? "" : deal.error().message));
    CHECK(deal->result["TITLE"] == "New Deal #1");
    const auto recorded = portal.Recorded();
    REQUIRE(recorded.size() == 1);
    CHECK(recorded[0].method == "POST");
    CHECK(recorded[0].path == std::string("/rest/1/") + kWebhookToken + "/crm.deal.get.json");
    CHECK(recorded[0].Header("Content-Type") == "application/json");

    SUBCASE("400 Not found is kNotFound, and no error holds the token") {
        const Result<Envelope> gone = client.Call("crm.deal.get", {{"id", 9}});
        REQUIRE_FALSE(gone);
        CHECK(gone.error().code == ErrorCode::kNotFound);
        CHECK(gone.error().message.find(kWebhookToken) == std::string::npos);
        CHECK(gone.error().message.find("crm.deal.get") != std::string::npos);
    }
}

TEST_CASE("A renamed portal's 302 is reported with its new host and not followed") {
    fg::testing::FakeHttpServer portal;
    portal.ServeAll([](const httplib::Request&, httplib::Response& response) {
        response.status = 302;
        // fmt, not string +: GCC 12 -O2 reports a false -Warray-bounds on the concatenation.
        response.set_header(
            "Location",
            fmt::format("https://new-name.bitrix24.ru/rest/1/{}/crm.deal.get.json", kWebhookToken));
    });
    portal.Start();
    Setup setup;
    Client client(ClientOptions{.tenant = "acme",
                                .portal_url = portal.Url(),
                                .webhook_user = 1,
                                .webhook_token = kWebhookToken},
                  setup.limiter, setup.clock);
    const Result<Envelope> moved = client.Call("crm.deal.get", {{"id", 1}});
    REQUIRE_FALSE(moved);
    CHECK(moved.error().code == ErrorCode::kInvalidInput);
    CHECK(moved.error().message.find("new-name.bitrix24.ru") != std::string::npos);
    CHECK(moved.error().message.find(kWebhookToken) == std::string::npos);
    CHECK(portal.Count() == 1);
}

TEST_CASE("A refused portal: no answer at all is kUnavailable without the token") {
    std::string url;
    {
        fg::testing::FakeHttpServer gone;
        gone.Start();
        url = gone.Url();
    }
    Setup setup;
    Client client(ClientOptions{.tenant = "acme",
                                .portal_url = url,
                                .webhook_user = 1,
                                .webhook_token = kWebhookToken,
                                .max_attempts = 2},
                  setup.limiter, setup.clock);
    CallInfo info;
    const Result<Envelope> down = client.Call("crm.deal.get", {{"id", 1}}, true, &info);
    REQUIRE_FALSE(down);
    CHECK(down.error().code == ErrorCode::kUnavailable);
    CHECK(down.error().message.find(kWebhookToken) == std::string::npos);
    CHECK(info.not_sent);
    CHECK(setup.pace.sleeps.size() == 1);  // one backoff before its second attempt
}

TEST_CASE("QUERY_LIMIT_EXCEEDED holds every caller back and a read tries again") {
    FakePortal portal;
    int calls = 0;
    portal.On("crm.deal.list", [&calls](const json&) {
        return ++calls == 1 ? Fail(503, "QUERY_LIMIT_EXCEEDED", "Too many requests")
                            : Ok(json::array(), 0);
    });
    Setup setup;
    Client client = setup.WebhookClient(portal);
    const Result<Envelope> listed = client.Call("crm.deal.list", json::object());
    REQUIRE_MESSAGE(listed, (listed ? "" : listed.error().message));
    CHECK(calls == 2);
    REQUIRE_FALSE(setup.pace.sleeps.empty());
    CHECK(setup.pace.sleeps.front() >= 1);

    SUBCASE("a write is sent once and says it was not processed") {
        calls = 0;
        CallInfo info;
        const Result<Envelope> refused = client.Call("crm.deal.list", json::object(), false, &info);
        REQUIRE_FALSE(refused);
        CHECK(refused.error().code == ErrorCode::kUnavailable);
        CHECK(info.not_sent);
        CHECK(info.retry_after.has_value());
        CHECK(calls == 1);
    }
}

TEST_CASE("OPERATION_TIME_LIMIT blocks the method until operating_reset_at") {
    FakePortal portal;
    const std::int64_t reset = 1766047124 + 300;
    portal.On("crm.activity.list",
              testing::Reply{
                  .status = 429,
                  .body = {{"error", "OPERATION_TIME_LIMIT"},
                           {"error_description", "Method is blocked due to operation time limit."},
                           {"time", {{"operating_reset_at", reset}, {"operating", 480.5}}}},
                  .headers = {}});
    portal.On("crm.deal.list", Ok(json::array(), 0));
    Setup setup;
    Client client = setup.WebhookClient(portal);
    CallInfo info;
    const Result<Envelope> blocked = client.Call("crm.activity.list", json::object(), true, &info);
    REQUIRE_FALSE(blocked);
    CHECK(blocked.error().code == ErrorCode::kUnavailable);
    CHECK(info.retry_after == Duration{300});
    CHECK(portal.Requests() == 1);  // 300 s is over the longest wait inside a call
    // The method stays blocked without asking the portal; other methods go on.
    CHECK_FALSE(client.Call("crm.activity.list", json::object(), false, &info));
    CHECK(portal.Requests() == 1);
    CHECK(client.Call("crm.deal.list", json::object()));
    setup.clock.Advance(Duration{301});
    CHECK_FALSE(client.Call("crm.activity.list", json::object(), false));
    CHECK(portal.Requests() == 3);
}

TEST_CASE("A portal that denies REST blocks it: later calls fail fast and send nothing") {
    FakePortal portal;
    portal.On("crm.deal.get",
              Fail(403, "ACCESS_DENIED", "REST API is available only on commercial plans"));
    Setup setup;
    Client client = setup.WebhookClient(portal);
    CHECK(client.Blocked().empty());
    const Result<Envelope> denied = client.Call("crm.deal.get", {{"id", 1}});
    REQUIRE_FALSE(denied);
    CHECK(portal.Requests() == 1);
    CHECK(client.Blocked().find("commercial plans") != std::string::npos);
    CallInfo info;
    CHECK_FALSE(client.Call("crm.deal.list", json::object(), true, &info));
    CHECK(info.not_sent);
    CHECK(portal.Requests() == 1);
}

TEST_CASE("batch: up to 50 sub-calls in one request, errors from result_error, [] accepted") {
    FakePortal portal;
    portal.On("crm.deal.get", [](const json& params) {
        return params.value("id", json()) == "410" ? Ok({{"ID", "410"}})
                                                   : Fail(400, "", "Not found");
    });
    portal.On("user.get", Fail(403, "insufficient_scope", ""));
    Setup setup;
    Client client = setup.WebhookClient(portal);
    const Result<std::vector<BatchItem>> items =
        client.Batch({{"a", "crm.deal.get?" + BuildQuery({{"id", 410}})},
                      {"b", "crm.deal.get?id=7"},
                      {"c", "user.get?ID=1"}});
    REQUIRE_MESSAGE(items, (items ? "" : items.error().message));
    REQUIRE(items->size() == 3);
    CHECK((*items)[0].result["ID"] == "410");
    CHECK((*items)[1].NotFound());
    CHECK((*items)[2].failed);
    CHECK((*items)[2].error == "insufficient_scope");
    CHECK(portal.Requests() == 1);

    SUBCASE("a batch where nothing failed answers result_error: []") {
        const Result<std::vector<BatchItem>> fine = client.Batch({{"a", "crm.deal.get?id=410"}});
        REQUIRE(fine);
        CHECK_FALSE((*fine)[0].failed);
    }
    SUBCASE("more than 50 are refused before any call") {
        std::vector<BatchCommand> many(51, BatchCommand{"k", "crm.deal.get?id=410"});
        CHECK_FALSE(client.Batch(many));
    }
}

TEST_CASE("BuildQuery writes PHP's bracket form, and [] reads as an empty object") {
    CHECK(BuildQuery({{"filter", {{">ID", 5}}}, {"select", {"ID", "TITLE"}}, {"start", -1}}) ==
          "filter%5B%3EID%5D=5&select%5B0%5D=ID&select%5B1%5D=TITLE&start=-1");
    CHECK(ObjectOr(json::array()).is_object());
    CHECK(Text(json(410)) == "410");
    CHECK(Text(json("410")) == "410");
}

TEST_CASE("The leaky bucket lets a burst through, then drains at the rate; it is shared") {
    ManualClock clock{Timestamp{}};
    ManualPace pace;
    // A portal's bucket of 5: three at once, two places kept free (kBurstMargin).
    PortalLimiter limiter(2.0, 3 + PortalLimiter::kBurstMargin, clock, pace.Make());
    for (int i = 0; i < 3; ++i) {
        limiter.Acquire();
    }
    CHECK(pace.sleeps.empty());
    limiter.Acquire();
    REQUIRE(pace.sleeps.size() == 1);
    CHECK(pace.sleeps[0] == doctest::Approx(0.5));
    limiter.HoldAfterQueryLimit(5);
    limiter.Acquire();
    CHECK(pace.now >= 1000.5 + 5);
}

TEST_CASE("An OAuth app: auth in the body, expired_token refreshes once, the rotation is kept") {
    FakePortal portal;
    std::string current = "access-old-1111";
    portal.On("crm.deal.get", [&current](const json& params) {
        return params.value("auth", "") == current
                   ? Ok({{"ID", "1"}})
                   : Fail(401, "expired_token", "The access token provided has expired");
    });
    fg::testing::FakeHttpServer oauth;
    oauth.ServeAll([&current](const httplib::Request& request, httplib::Response& response) {
        if (request.path != "/oauth/token/" ||
            request.get_param_value("refresh_token") != "refresh-old-2222" ||
            request.get_param_value("client_secret") != "cs-3333") {
            response.status = 400;
            response.set_content(R"({"error":"invalid_grant"})", "application/json");
            return;
        }
        current = "access-new-4444";
        response.set_content(
            R"({"access_token":"access-new-4444","refresh_token":"refresh-new-5555","expires_in":3600})",
            "application/json");
    });
    oauth.Start();
    fg::testing::TempDir dir;
    const std::string token_file = dir.path() + "/b24-acme.json";
    {
        std::ofstream out(token_file);
        out << R"({"access_token":"access-expired-0000","refresh_token":"refresh-old-2222"})";
    }
    Setup setup;
    Client client(ClientOptions{.tenant = "acme",
                                .portal_url = portal.Url(),
                                .client_id = "local.5f2b",
                                .client_secret = "cs-3333",
                                .token_file = token_file,
                                .oauth_url = oauth.Url()},
                  setup.limiter, setup.clock);
    const Result<Envelope> deal = client.Call("crm.deal.get", {{"id", 1}});
    REQUIRE_MESSAGE(deal, (deal ? "" : deal.error().message));
    const auto calls = portal.CallsOf("crm.deal.get");
    REQUIRE(calls.size() == 2);
    CHECK(calls[0].path == "/rest/crm.deal.get.json");
    CHECK(oauth.Count() == 1);
    std::ifstream in(token_file);
    std::stringstream saved;
    saved << in.rdbuf();
    CHECK(saved.str().find("refresh-new-5555") != std::string::npos);
    struct stat info {};
    REQUIRE(::stat(token_file.c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0600);

    SUBCASE("a token the refresh does not fix fails after one refresh, without the tokens") {
        current = "never";
        const Result<Envelope> refused = client.Call("crm.deal.get", {{"id", 1}});
        REQUIRE_FALSE(refused);
        CHECK(refused.error().code == ErrorCode::kUnauthorized);
        CHECK(oauth.Count() == 2);
        for (const char* secret : {"access-new-4444", "refresh-new-5555", "cs-3333"}) {
            CHECK(refused.error().message.find(secret) == std::string::npos);
        }
    }
}

}  // namespace client_test
}  // namespace fg::adapters::bitrix24
