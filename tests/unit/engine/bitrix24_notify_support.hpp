#pragma once

// What the engine's Bitrix24 notification tests share: the Bitrix24 simulator on a manual clock
// with an outbound webhook whose posts the test feeds to the engine, the portal's leaky bucket
// on that clock, and the program's engine (app::Adapters) stepped by the test.
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "adapters/bitrix24/api/limiter.hpp"
#include "adapters/bitrix24/sim/simulator.hpp"
#include "src/app/adapters.hpp"
#include "src/app/wiring.hpp"
#include "src/engine/engine.hpp"
#include "tests/support/fake_http_server.hpp"
#include "tests/support/process.hpp"

namespace fg::bitrix24_notify_test {

namespace sim = adapters::bitrix24::sim;
using namespace std::chrono_literals;

inline constexpr const char* kMethod = "im.notify.system.add";
// The simulator's users (adapters/bitrix24/sim/generator.cpp).
inline constexpr std::int64_t kHead = 1;    // Ирина Соколова
inline constexpr std::int64_t kPetrov = 7;  // Алексей Петров: crm_user "7"
inline constexpr std::int64_t kIvanova = 9;  // Мария Иванова: by name, bitrix24_user = "9"
inline constexpr std::int64_t kKuznetsova = 15;  // Ольга Кузнецова: by name, no Bitrix24 address

/// The limiter's seconds are the manual clock's plus what it slept below a second; its sleeps
/// move the clock, so the simulator's bucket (on that clock) drains exactly as long as it waited.
class ClockPace {
public:
    explicit ClockPace(ManualClock& clock) : clock_(clock), origin_(clock.Now()) {}
    adapters::bitrix24::Pace Make() {
        return {.now_seconds =
                    [this] {
                        std::lock_guard lock(mutex_);
                        return static_cast<double>((clock_.Now() - origin_).count()) + fraction_;
                    },
                .sleep =
                    [this](double seconds) {
                        std::lock_guard lock(mutex_);
                        fraction_ += seconds;
                        while (fraction_ >= 1) {
                            clock_.Advance(Duration{1});
                            fraction_ -= 1;
                        }
                    }};
    }

private:
    ManualClock& clock_;
    Timestamp origin_;
    std::mutex mutex_;
    double fraction_ = 0;
};

/// The portal: the simulator (bucket `burst` at 2 per second on the manual clock), an outbound
/// webhook to a recording server, and the process's limiter of the portal made first, on the
/// manual clock, so that the program's CRM adapter and notifier take it (a bucket of 48: the
/// simulator counts whole seconds).
struct Portal {
    explicit Portal(ManualClock& clock) : pace(clock) {
        sim = std::make_unique<sim::Simulator>(
            sim::SimulatorOptions{.seed = 1, .deals = 0, .clock = &clock, .rate = 2, .burst = 50});
        REQUIRE(sim->Start());
        hooks.ServeAll(
            [](const httplib::Request&, httplib::Response& response) { response.status = 200; });
        hooks.Start();
        sim->AddOutboundWebhook({.url = hooks.Url("/hooks/bitrix24/acme"), .events = {}});
        limiter = adapters::bitrix24::SharedPortalLimiter(sim->Url(), 2, 48, clock, pace.Make());
    }

    /// The event bodies the portal posted since the last call.
    std::vector<std::string> NewEvents() {
        REQUIRE(sim->WaitEventsIdle());
        const auto requests = hooks.Requests();
        std::vector<std::string> bodies;
        for (std::size_t i = taken; i < requests.size(); ++i) {
            bodies.push_back(requests[i].body);
        }
        taken = requests.size();
        return bodies;
    }

    std::vector<sim::SimNotification> To(std::int64_t user) const {
        std::vector<sim::SimNotification> out;
        for (const sim::SimNotification& notification : sim->Notifications()) {
            if (notification.user_id == user) {
                out.push_back(notification);
            }
        }
        return out;
    }
    /// im.notify.system.add calls the portal took (a replaced notification counts too).
    std::uint64_t Calls() const {
        const auto stats = sim->Stats();
        const auto found = stats.calls.find(kMethod);
        return found == stats.calls.end() ? 0 : found->second;
    }

    /// A deal of `manager` that skips "Квалификация": stage_order opens a violation.
    std::int64_t Skip(const std::string& title, std::int64_t manager) {
        auto deal = sim->CreateDeal({.title = title, .assigned_by = manager}, manager);
        REQUIRE_MESSAGE(deal, title);
        REQUIRE(sim->MoveDeal(*deal, "PREPAYMENT_INVOICE", manager));
        return *deal;
    }

    ClockPace pace;
    std::unique_ptr<sim::Simulator> sim;
    testing::FakeHttpServer hooks;
    std::shared_ptr<adapters::bitrix24::PortalLimiter> limiter;
    std::size_t taken = 0;
};

inline const std::string kNotifyAndEscalate =
    "actions = [\"notify\", \"escalate\"]\n  escalate_after = \"2h\"";

/// `[tenant.chat]`'s own lines after bitrix24_notify, and the people: "7" by id, Мария Иванова
/// by name with bitrix24_user, Ольга Кузнецова by name without a Bitrix24 address, and their
/// head "1"; `petrov_extra` goes into the table of "7". `stage_order`: the lines of
/// [tenant.rules.stage_order].
inline std::string Config(const testing::TempDir& dir, const Portal& portal,
                          const std::string& chat, const std::string& petrov_extra = {},
                          const std::string& stage_order = kNotifyAndEscalate) {
    return fmt::format(
        R"(
[storage]
path = "{db}"
[[tenant]]
id = "acme"
crm = "bitrix24"
secret = "{secret}"
timezone = "Europe/Moscow"
mode = "enforce"
  [tenant.bitrix24]
  portal_url = "{url}"
  webhook_user = {user}
  webhook_token = "{token}"
  [tenant.rules.stage_order]
  {stage_order}
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
  working_hours = "09:00-19:00"
{chat}
  [[tenant.person]]
  crm_user = "7"
  team = "sales"
{petrov}
  [[tenant.person]]
  crm_user = "Мария Иванова"
  bitrix24_user = "9"
  team = "sales"
  [[tenant.person]]
  crm_user = "Ольга Кузнецова"
  team = "sales"
  [[tenant.person]]
  crm_user = "1"
  name = "Ирина Соколова"
  role = "head"
  team = "sales"
  [[tenant.team]]
  id = "sales"
  head = "1"
)",
        fmt::arg("db", dir.File("fg.db")), fmt::arg("secret", portal.sim->ApplicationToken()),
        fmt::arg("url", portal.sim->Url()), fmt::arg("user", portal.sim->WebhookUser()),
        fmt::arg("token", portal.sim->WebhookToken()), fmt::arg("chat", chat),
        fmt::arg("petrov", petrov_extra), fmt::arg("stage_order", stage_order));
}

inline config::AppConfig Load(const std::string& text, const testing::TempDir& dir) {
    auto loaded = config::LoadConfigFromString(text, "fg.toml", app::ConfigSchemas(), dir.path());
    for (const auto& problem : loaded.problems) {
        FAIL(config::FormatProblem(problem));
    }
    return std::move(loaded.config);
}

/// One run of the program's engine over the config (its adapters and notifiers); the timers,
/// the fetch stage and the delivery are stepped by the test.
struct Program {
    Program(const config::AppConfig& config, const Clock& clock)
        : clock(clock), adapters(config, clock) {
        engine::EngineOptions options = adapters.EngineOptionsFor(clock);
        options.timers = false;
        options.deliver = false;
        options.background = false;
        engine = std::make_unique<engine::Engine>(std::move(options));
        REQUIRE(engine->Start());
        REQUIRE(engine->RefreshDirectory("acme"));
    }
    ~Program() { engine->Stop(); }

    /// Takes what the portal posted, fetches what the events name and applies it.
    void Pump(Portal& portal) {
        for (std::string& body : portal.NewEvents()) {
            REQUIRE(engine->Intake("acme", "bitrix24", std::move(body), clock.Now()).get());
        }
        REQUIRE(engine->Drain());
        REQUIRE(engine->Fetch());
        REQUIRE(engine->Drain());
    }
    void SweepAndDeliver() {
        REQUIRE(engine->Sweep());
        REQUIRE(engine->Deliver());
    }

    const Clock& clock;
    app::Adapters adapters;
    std::unique_ptr<engine::Engine> engine;
};

inline bool Contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace fg::bitrix24_notify_test
