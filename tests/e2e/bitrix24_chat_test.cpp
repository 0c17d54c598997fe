// Bitrix24 notifications end to end (issue 11 point 6): `funnelguard serve` as a subprocess
// against the Bitrix24 simulator in this process, reached through an inbound webhook and posting
// its events to an outbound webhook, with `[tenant.chat] bitrix24_notify = true`. A manager
// skips a stage: funnelguard writes its comment into the deal and tells the manager in their
// Bitrix24 notifications, once, also across a restart.
#include <csignal>
#include <string>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "adapters/bitrix24/sim/simulator.hpp"
#include "tests/support/bitrix24_settled.hpp"
#include "tests/support/process.hpp"
#include "tests/support/service.hpp"

namespace bitrix24_chat_test_file {

namespace sim = fg::adapters::bitrix24::sim;
using fg::testing::Eventually;
using fg::testing::Settled;
using nlohmann::json;

constexpr const char* kTenant = "acme";
constexpr const char* kAdmin = "admin-token-0123456789";
constexpr std::int64_t kManager = 7;  // Алексей Петров in the simulator's catalog
constexpr std::int64_t kHead = 1;     // Ирина Соколова
constexpr const char* kNotify = "im.notify.system.add";

std::string Config(const fg::testing::TempDir& dir, const sim::Simulator& portal, int port) {
    return fmt::format(R"(
[server]
listen = "127.0.0.1:{port}"
public_url = "http://127.0.0.1:{port}"
admin_token = "{admin}"
[storage]
path = "{db}"
[log]
level = "warn"

[[tenant]]
id = "{tenant}"
crm = "bitrix24"
secret = "{secret}"
timezone = "Europe/Moscow"
mode = "enforce"
  [tenant.bitrix24]
  portal_url = "{url}"
  webhook_user = {user}
  webhook_token = "{token}"
  rate = 20
  burst = 100
  [tenant.rules.stage_order]
  actions = ["note", "notify"]
  [tenant.rules.deal_without_task]
  enabled = false
  [tenant.rules.actual_stage]
  enabled = false
  [tenant.rules.card_filled]
  enabled = false
  [tenant.rules.overdue_task]
  enabled = false
  [tenant.chat]
  bitrix24_notify = true
  digest = "0s"
  cooldown = "0s"
  working_hours = "00:00-24:00"
  working_days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
  morning_summary = ""
  [[tenant.person]]
  crm_user = "{manager}"
  team = "sales"
  [[tenant.person]]
  crm_user = "{head}"
  role = "head"
  team = "sales"
  [[tenant.team]]
  id = "sales"
  head = "{head}"
)",
                       fmt::arg("port", port), fmt::arg("admin", kAdmin),
                       fmt::arg("db", dir.File("fg.db")), fmt::arg("tenant", kTenant),
                       fmt::arg("secret", portal.ApplicationToken()), fmt::arg("url", portal.Url()),
                       fmt::arg("user", portal.WebhookUser()),
                       fmt::arg("token", portal.WebhookToken()), fmt::arg("manager", kManager),
                       fmt::arg("head", kHead));
}

fg::testing::ServeOptions Serve() {
    return {.binary = FG_BINARY, .tenant = kTenant, .admin_token = kAdmin, .wait_ready = true};
}

std::uint64_t Count(const std::map<std::string, std::uint64_t>& counts, const std::string& key) {
    const auto found = counts.find(key);
    return found == counts.end() ? 0 : found->second;
}

std::vector<sim::SimNotification> To(const sim::Simulator& portal, std::int64_t user) {
    std::vector<sim::SimNotification> out;
    for (const sim::SimNotification& notification : portal.Notifications()) {
        if (notification.user_id == user) {
            out.push_back(notification);
        }
    }
    return out;
}

std::size_t CommentsByFunnelguard(const sim::Simulator& portal, std::int64_t deal) {
    std::size_t count = 0;
    for (const sim::SimComment& comment : portal.DealComments(deal)) {
        count += comment.author != kManager ? 1 : 0;
    }
    return count;
}

TEST_CASE(
    "bitrix24 chat: a skipped stage is written into the deal and told to its manager in "
    "Bitrix24, once") {
    sim::Simulator portal({.seed = 5, .rate = 20, .burst = 100});
    REQUIRE(portal.Start());
    fg::testing::TempDir dir;
    const int port = fg::testing::StablePort();
    const std::string config = dir.Write("fg.toml", Config(dir, portal, port));
    auto service = std::make_unique<fg::testing::Service>(config, port, Serve());
    portal.AddOutboundWebhook(
        {.url = fmt::format("http://127.0.0.1:{}/hooks/bitrix24/{}", port, kTenant), .events = {}});

    const auto deal =
        portal.CreateDeal({.title = "ООО «Ромашка» [B]VIP[/B]", .assigned_by = kManager}, kManager);
    REQUIRE(deal);
    REQUIRE(Eventually([&] {
        const auto mirrored = service->Deal(*deal);
        return mirrored && (*mirrored)["stage"] == "Новая заявка";
    }));
    REQUIRE(portal.MoveDeal(*deal, "PREPAYMENT_INVOICE", kManager));

    // The comment in the deal's timeline and the notification to its responsible manager.
    REQUIRE(Eventually([&] {
        return CommentsByFunnelguard(portal, *deal) == 1 && To(portal, kManager).size() == 1;
    }));
    REQUIRE_MESSAGE(Eventually([&] { return Settled(portal, *service); }), service->Busy());
    const auto notifications = To(portal, kManager);
    REQUIRE(notifications.size() == 1);
    const sim::SimNotification& sent = notifications[0];
    CHECK(sent.message.find("Пропущен этап воронки") != std::string::npos);
    CHECK(sent.message.find("ООО «Ромашка» ［B］VIP［/B］") != std::string::npos);
    CHECK(sent.message.find(fmt::format("/crm/deal/details/{}/", *deal)) != std::string::npos);
    CHECK(sent.tag.starts_with("FG|#V-"));
    CHECK_FALSE(sent.personal);  // a system notice, not "from" the webhook's owner
    CHECK(To(portal, kHead).empty());
    const json violations = service->Violations("state=open");
    REQUIRE(violations.size() == 1);
    CHECK(violations[0]["rule"] == "stage_order");
    const sim::SimStats stats = portal.Stats();
    CHECK(Count(stats.calls, kNotify) == 1);
    CHECK(Count(stats.writes, "crm.timeline.comment.add") == 1);
    CHECK(stats.limit_errors == 0);

    // A restart on the same database: nothing is sent or written again.
    CHECK(service->Stop(SIGTERM) == 0);
    service = std::make_unique<fg::testing::Service>(config, port, Serve());
    REQUIRE_MESSAGE(Eventually([&] { return Settled(portal, *service); }), service->Busy());
    CHECK(Count(portal.Stats().calls, kNotify) == 1);
    CHECK(CommentsByFunnelguard(portal, *deal) == 1);
    CHECK(To(portal, kManager).size() == 1);
    CHECK(service->Stop(SIGTERM) == 0);
}

}  // namespace bitrix24_chat_test_file
