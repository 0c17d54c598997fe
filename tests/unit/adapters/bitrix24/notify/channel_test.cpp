// adapters/bitrix24/notify: sends through im.notify.system.add against the Bitrix24 simulator
// (the loopback fake portal for refusals the simulator does not make), each error class, and the
// portal's bucket shared with the CRM adapter.
#include "adapters/bitrix24/notify/channel.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "adapters/bitrix24/api/limiter.hpp"
#include "adapters/bitrix24/portal_client.hpp"
#include "adapters/bitrix24/sim/simulator.hpp"
#include "src/app/adapters.hpp"
#include "tests/unit/adapters/bitrix24/fake_portal.hpp"

namespace fg::adapters::bitrix24::notify {
namespace channel_test {

using fg::notify::Address;
using fg::notify::Block;
using fg::notify::Failure;
using fg::notify::Message;
using fg::notify::Outgoing;
using fg::notify::SendResult;
using fg::notify::Span;
using outbox::DeliveryStatus;
using testing::Fail;
using testing::FakePortal;
using testing::Ok;

constexpr const char* kToken = "wh7k3q9z1x2c4v5b";
const Timestamp kT0 = *ParseIso8601("2026-11-02T09:00:00+03:00");

// Steady seconds that move only when the limiter sleeps, and move the CRM clock with them, so
// the simulator's bucket (on that clock) drains exactly as long as the limiter waited.
struct ManualPace {
    ManualClock& clock;
    double now = 0;
    double advanced = 0;  // whole seconds given to the clock so far
    Pace Make() {
        return {.now_seconds = [this] { return now; },
                .sleep =
                    [this](double seconds) {
                        now += seconds;
                        while (advanced + 1 <= now) {
                            clock.Advance(Duration{1});
                            advanced += 1;
                        }
                    }};
    }
};

struct Setup {
    ManualClock clock{kT0};
    ManualPace pace{clock};
    std::shared_ptr<PortalLimiter> limiter =
        std::make_shared<PortalLimiter>(2.0, 50, clock, pace.Make());

    std::shared_ptr<Client> WebhookClient(const std::string& url) {
        return std::make_shared<Client>(
            ClientOptions{
                .tenant = "acme", .portal_url = url, .webhook_user = 1, .webhook_token = kToken},
            limiter, clock);
    }
};

struct SimPortal {
    explicit SimPortal(ManualClock& clock, double rate = 0, double burst = 50) {
        sim = std::make_unique<sim::Simulator>(sim::SimulatorOptions{.seed = 1,
                                                                     .deals = 3,
                                                                     .clock = &clock,
                                                                     .webhook_token = kToken,
                                                                     .rate = rate,
                                                                     .burst = burst});
        REQUIRE(sim->Start());
    }
    std::unique_ptr<sim::Simulator> sim;
};

Outgoing To(const std::string& user, Message message, std::string key = "notify:v:42") {
    return Outgoing{.to = Address{.value = user, .group = false},
                    .message = std::move(message),
                    .key = std::move(key)};
}

Message Violation(const std::string& title) {
    Message message;
    message.blocks = {Block{{Span{.text = "Сделка без задачи", .bold = true, .url = {}}}},
                      Block{{Span{.text = title,
                                  .bold = false,
                                  .url = "https://acme.bitrix24.ru/crm/deal/details/42/"}}}};
    message.reference = "#V-42";
    return message;
}

std::vector<sim::SimNotification> To(const sim::Simulator& sim, std::int64_t user) {
    std::vector<sim::SimNotification> out;
    for (const auto& notification : sim.Notifications()) {
        if (notification.user_id == user) {
            out.push_back(notification);
        }
    }
    return out;
}

TEST_CASE("A violation reaches the user's notifications: BB-code, neutralised title, TAG") {
    Setup setup;
    SimPortal portal(setup.clock);
    NotifyChannel channel("acme", setup.WebhookClient(portal.sim->Url()), "ru");
    const std::string title = "ООО «Ромашка» [URL=javascript:x]жми[/URL] [B]VIP[/B]";
    const SendResult sent = channel.Send(To("7", Violation(title)));
    INFO(sent.delivery.error);
    REQUIRE(sent.delivery.status == DeliveryStatus::kDelivered);
    CHECK_FALSE(sent.message_id.empty());
    const auto got = To(*portal.sim, 7);
    REQUIRE(got.size() == 1);
    CHECK(got[0].message ==
          "[B]Сделка без задачи[/B][BR][URL=https://acme.bitrix24.ru/crm/deal/details/42/]ООО "
          "«Ромашка» ［URL=javascript:x］жми［/URL］ ［B］VIP［/B］[/URL][BR]#V-42");
    // Through a webhook the TAG counts (CLIENT_ID sent): a resend replaces, never doubles.
    CHECK(got[0].tag == "FG|#V-42");
    REQUIRE(channel.Send(To("7", Violation(title))).delivery.status == DeliveryStatus::kDelivered);
    CHECK(To(*portal.sim, 7).size() == 1);
}

TEST_CASE("The call carries MESSAGE_OUT, TAG and CLIENT_ID, and the user id as a number") {
    FakePortal portal;
    portal.On(kMethod, Ok(12345));
    Setup setup;
    NotifyChannel channel("acme", setup.WebhookClient(portal.Url()), "ru");
    const SendResult sent = channel.Send(To("7", Violation("ООО Ромашка")));
    REQUIRE(sent.delivery.status == DeliveryStatus::kDelivered);
    CHECK(sent.message_id == "12345");
    const auto calls = portal.CallsOf(kMethod);
    REQUIRE(calls.size() == 1);
    const nlohmann::json& params = calls[0].params;
    CHECK(params["USER_ID"] == 7);
    CHECK(params["MESSAGE_OUT"] ==
          "Сделка без задачи\nООО Ромашка (https://acme.bitrix24.ru/crm/deal/details/42/)\n#V-42");
    CHECK(params["TAG"] == "FG|#V-42");
    CHECK(params["CLIENT_ID"] == "funnelguard");
}

TEST_CASE("Cyrillic and a long digest: split into several notifications, in order, each tagged") {
    Setup setup;
    SimPortal portal(setup.clock);
    NotifyChannel channel("acme", setup.WebhookClient(portal.sim->Url()), "ru",
                          RenderLimits{.max_chars = 500});
    Message digest;
    for (int i = 1; i <= 40; ++i) {
        digest.blocks.push_back(Block{{Span{
            .text = fmt::format("{}. Сделка «Ёлки-палки {}»: нет задачи — поставьте звонок", i, i),
            .bold = false,
            .url = {}}}});
    }
    digest.reference = "#D-7";
    const SendResult sent = channel.Send(To("9", digest, "digest:9"));
    REQUIRE(sent.delivery.status == DeliveryStatus::kDelivered);
    const auto got = To(*portal.sim, 9);
    REQUIRE(got.size() > 1);
    std::string all;
    for (std::size_t i = 0; i < got.size(); ++i) {
        CHECK(got[i].tag == (i == 0 ? std::string("FG|#D-7") : fmt::format("FG|#D-7|{}", i + 1)));
        all += got[i].message;
    }
    for (int i = 1; i <= 40; ++i) {
        CHECK(all.find(fmt::format("{}. Сделка «Ёлки-палки {}»", i, i)) != std::string::npos);
    }
    CHECK(all.find("1. Сделка") < all.find("40. Сделка"));
    CHECK(got.back().message.ends_with("#D-7"));
}

TEST_CASE("Refusals by class: address gone, content, rate limit, retry, wrong auth type") {
    struct Case {
        testing::Reply reply;
        DeliveryStatus status;
        Failure failure;
        bool not_sent;
    };
    const std::vector<Case> cases = {
        {Fail(400, "USER_ID_EMPTY", "Recipient ID not specified"), DeliveryStatus::kRejected,
         Failure::kAddressGone, false},
        {Fail(403, "ACCESS_ERROR", "Insufficient permissions"), DeliveryStatus::kRejected,
         Failure::kAddressGone, false},
        {Fail(400, "MESSAGE_EMPTY", "Message text not specified"), DeliveryStatus::kRejected,
         Failure::kContent, false},
        {Fail(400, "ATTACH_OVERSIZE", "too big"), DeliveryStatus::kRejected, Failure::kContent,
         false},
        {Fail(503, "QUERY_LIMIT_EXCEEDED", "Too many requests"), DeliveryStatus::kRetry,
         Failure::kNone, true},
        {Fail(500, "INTERNAL_SERVER_ERROR", "oops"), DeliveryStatus::kRetry, Failure::kNone, false},
        {Fail(403, "WRONG_AUTH_TYPE", "Current authorization type is denied for this method"),
         DeliveryStatus::kRejected, Failure::kChannelGone, false},
        {Fail(401, "NO_AUTH_FOUND", "Wrong authorization data"), DeliveryStatus::kRejected,
         Failure::kChannelGone, false},
    };
    for (const Case& one : cases) {
        FakePortal portal;
        portal.On(kMethod, one.reply);
        Setup setup;
        NotifyChannel channel("acme", setup.WebhookClient(portal.Url()), "ru");
        const SendResult sent = channel.Send(To("7", Violation("ООО Ромашка")));
        const std::string code = one.reply.body.value("error", "");
        INFO(code, " -> ", sent.delivery.error);
        CHECK(sent.delivery.status == one.status);
        CHECK(sent.failure == one.failure);
        if (one.not_sent) {
            CHECK(sent.delivery.not_sent);
            CHECK(sent.delivery.retry_after.has_value());
        }
        CHECK(sent.delivery.error.find(code) != std::string::npos);
        CHECK(sent.delivery.error.find("user 7") != std::string::npos);
        // The webhook token is the credential: never in an error.
        CHECK(sent.delivery.error.find(kToken) == std::string::npos);
        // Sent once: the outbox, not the channel, retries.
        CHECK(portal.CallsOf(kMethod).size() == 1);
        if (code == "WRONG_AUTH_TYPE") {
            CHECK(sent.delivery.error.find("local app") != std::string::npos);
        }
    }
}

TEST_CASE("The simulator's own refusals: an unknown user is gone, a giant body is content") {
    Setup setup;
    SimPortal portal(setup.clock);
    NotifyChannel channel("acme", setup.WebhookClient(portal.sim->Url()), "ru",
                          RenderLimits{.max_chars = 100'000});
    const SendResult unknown = channel.Send(To("4242", Violation("x")));
    CHECK(unknown.delivery.status == DeliveryStatus::kRejected);
    CHECK(unknown.failure == Failure::kAddressGone);
    CHECK(unknown.delivery.error.find("USER_ID_EMPTY") != std::string::npos);
    CHECK(unknown.delivery.error.find(kToken) == std::string::npos);

    Message giant;
    giant.blocks = {Block{{Span{.text = std::string(70'000, 'x'), .bold = false, .url = {}}}}};
    const SendResult big = channel.Send(To("7", giant));
    CHECK(big.delivery.status == DeliveryStatus::kRejected);
    CHECK(big.failure == Failure::kContent);

    const SendResult not_an_id = channel.Send(To("Анна", Violation("x")));
    CHECK(not_an_id.failure == Failure::kAddressGone);
    CHECK(portal.sim->Notifications().empty());
}

TEST_CASE("A network failure is a retry; no token in the error; Check reports bad credentials") {
    Setup setup;
    std::string dead_url;
    {
        FakePortal gone;
        dead_url = gone.Url();
    }
    NotifyChannel dead("acme", setup.WebhookClient(dead_url), "ru");
    const SendResult sent = dead.Send(To("7", Violation("x")));
    CHECK(sent.delivery.status == DeliveryStatus::kRetry);
    CHECK(sent.delivery.error.find(kToken) == std::string::npos);
    CHECK(dead.Check().find("acme") != std::string::npos);

    SimPortal portal(setup.clock);
    NotifyChannel good("acme", setup.WebhookClient(portal.sim->Url()), "ru");
    CHECK(good.Check().empty());
    auto wrong = std::make_shared<Client>(ClientOptions{.tenant = "acme",
                                                        .portal_url = portal.sim->Url(),
                                                        .webhook_user = 1,
                                                        .webhook_token = "not-the-token-77"},
                                          setup.limiter, setup.clock);
    NotifyChannel bad("acme", wrong, "ru");
    const std::string problem = bad.Check();
    CHECK(problem.find("NO_AUTH_FOUND") != std::string::npos);
    CHECK(problem.find("not-the-token-77") == std::string::npos);
}

TEST_CASE("WaitFor is the portal's bucket: zero while it has room, the drain time when empty") {
    Setup setup;
    FakePortal portal;
    portal.On(kMethod, Ok(1));
    NotifyChannel channel("acme", setup.WebhookClient(portal.Url()), "ru");
    const Address user{.value = "7", .group = false};
    CHECK(channel.WaitFor(user) == Duration::zero());
    for (int i = 0; i < 50; ++i) {
        setup.limiter->Acquire();  // the CRM adapter's calls
    }
    CHECK(channel.WaitFor(user) == Duration{1});  // 2/s: half a second, rounded up
    CHECK(channel.WaitFor(Address{.value = "9", .group = false}) == Duration{1});
    setup.pace.now += 0.5;
    CHECK(channel.WaitFor(user) == Duration::zero());
}

// The program's wiring: the CRM adapter (app::CrmAdapters) and the notifier made for one tenant
// share the portal's client and bucket.
TEST_CASE("Notifications and CRM calls together never exceed the portal's bucket: zero 503s") {
    ManualClock clock{kT0};
    ManualPace pace{clock};
    // The simulator drains whole seconds only: a bucket of 48 here stays within its 50.
    SimPortal portal(clock, /*rate=*/2, /*burst=*/50);
    const std::shared_ptr<PortalLimiter> limiter =
        SharedPortalLimiter(portal.sim->Url(), 2, 48, clock, pace.Make());
    auto loaded = config::LoadConfigFromString(
        fmt::format("[[tenant]]\nid = \"acme\"\nsecret = \"app\"\ncrm = \"bitrix24\"\n"
                    "[tenant.bitrix24]\nportal_url = \"{}\"\nwebhook_user = 1\n"
                    "webhook_token = \"{}\"\n[tenant.chat]\nbitrix24_notify = true\n"
                    "[[tenant.person]]\ncrm_user = \"7\"\nrole = \"head\"\n",
                    portal.sim->Url(), kToken),
        "test.toml", app::ConfigSchemas(), "/cfg");
    for (const auto& problem : loaded.problems) {
        FAIL(config::FormatProblem(problem));
    }
    const config::AppConfig& config = loaded.config;
    const config::TenantConfig& tenant = config.tenants[0];
    const crm::Adapter* b24 = nullptr;
    for (const crm::Adapter* adapter : app::CrmAdapters()) {
        if (adapter->Name() == "bitrix24") {
            b24 = adapter;
        }
    }
    REQUIRE(b24 != nullptr);
    const fg::notify::Notifier* notifier = nullptr;
    for (const fg::notify::Notifier* one : app::Notifiers()) {
        if (one->Name() == "bitrix24") {
            notifier = one;
        }
    }
    REQUIRE(notifier != nullptr);
    auto instance = b24->Bind(config, clock);
    auto connector = instance->MakeConnector(tenant);
    REQUIRE(connector);
    auto channel = notifier->MakeChannel(tenant, clock);
    REQUIRE(channel);
    CHECK(PortalClient(tenant, clock)->limiter().rate() == limiter->rate());
    CHECK(&PortalClient(tenant, clock)->limiter() == limiter.get());

    int sent = 0;
    for (int round = 0; round < 12; ++round) {
        REQUIRE(connector->FetchDirectory());
        for (int i = 0; i < 8; ++i) {
            // The core sends only when WaitFor says so; the time it waits is the limiter's.
            while (channel->WaitFor(Address{.value = "7", .group = false}) > Duration::zero()) {
                limiter->Sleep(0.5);
            }
            const SendResult result = channel->Send(
                To("7", Violation(fmt::format("Сделка {}", sent)), fmt::format("k{}", sent)));
            REQUIRE(result.delivery.status == DeliveryStatus::kDelivered);
            ++sent;
        }
    }
    const sim::SimStats stats = portal.sim->Stats();
    CHECK(stats.requests > 100);  // well past one bucket
    CHECK(stats.calls.at(kMethod) == static_cast<std::uint64_t>(sent));
    CHECK(stats.limit_errors == 0);
}

}  // namespace channel_test
}  // namespace fg::adapters::bitrix24::notify
