// `funnelguard demo`: the whole system on loopback. The amoCRM simulator (with its simulated
// managers), funnelguard in enforce mode with its HTTP server, and a fast clock they share; the
// narration and the summary are src/demo's.
#include "src/demo/demo.hpp"

#include <chrono>
#include <iostream>
#include <map>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "adapters/amocrm/sim/activity.hpp"
#include "adapters/amocrm/sim/simulator.hpp"
#include "src/app/commands.hpp"
#include "src/app/wiring.hpp"
#include "src/common/log.hpp"
#include "src/http/server.hpp"
#include "src/storage/store.hpp"

namespace fg::app {
namespace {

namespace sim = adapters::amocrm::sim;

// A working Monday morning in Moscow.
constexpr const char* kMorning = "2026-11-02T09:00:00+03:00";

// Waits until nothing is in flight: webhooks sent, the inbox processed, the outbox delivered
// (whose write-backs send webhooks again). false when it did not settle within `rounds`.
bool Settle(sim::Simulator& simulator, engine::Engine& engine, int rounds) {
    for (int round = 0; round < rounds; ++round) {
        const bool idle = simulator.WaitWebhooksIdle(std::chrono::seconds{10});
        auto drained = engine.Drain();
        bool outbox_empty = true;
        if (auto reader = engine.OpenReader(); reader) {
            outbox_empty = !storage::NextOutboxAttempt(**reader).has_value();
        }
        if (idle && drained && *drained == 0 && outbox_empty) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds{200});
    }
    return false;
}

// The tasks the simulated account says were overdue in [from, until), in the demo's terms.
std::vector<demo::OverdueFact> OverdueFacts(const sim::Simulator& simulator, Timestamp from,
                                            Timestamp until) {
    std::vector<demo::OverdueFact> facts;
    for (const sim::OverdueTask& task : sim::TasksGoneOverdue(simulator, from, until)) {
        demo::OverdueFact fact{.task_id = std::to_string(task.task_id),
                               .deal_id = std::to_string(task.lead_id),
                               .due = task.due,
                               .overdue_at = task.overdue_at,
                               .closed_at = task.closed_at};
        if (const std::optional<sim::SimLead> lead = simulator.GetLead(task.lead_id); lead) {
            if (lead->is_deleted) {
                fact.deal_closed_at = lead->updated_at;
            } else if (lead->status_id == sim::kWon || lead->status_id == sim::kLost) {
                fact.deal_closed_at = lead->closed_at.value_or(lead->updated_at);
            }
        }
        facts.push_back(std::move(fact));
    }
    return facts;
}

}  // namespace

int RunDemo(const DemoOptions& options) {
    SetupLogging("off");
    demo::DemoDatabase database(options.db);
    if (!database.ok()) {
        std::cerr << "demo: cannot create a temporary directory\n";
        return 1;
    }
    const Timestamp morning = *ParseIso8601(kMorning);
    FastClock clock(morning, options.speed);

    sim::Simulator simulator({.token = "demo-token",
                              .seed = options.seed,
                              .leads = options.leads,
                              .rps = 7,
                              .clock = &clock});
    if (auto started = simulator.Start(); !started) {
        std::cerr << "demo: the amoCRM simulator: " << started.error().message << "\n";
        return 1;
    }
    std::map<std::string, std::string> names;
    for (const sim::SimUser& user : simulator.Users()) {
        names[std::to_string(user.id)] = user.name;
    }

    auto loaded = demo::DemoConfig(simulator.BaseUrl(), simulator.Token(), database.path());
    if (!loaded) {
        std::cerr << "demo: the built-in config: " << loaded.error().message;
        return 1;
    }
    const config::AppConfig config = std::move(*loaded);
    const config::TenantConfig& tenant = *config.FindTenant(demo::kTenant);

    demo::Narrator narrator(clock, tenant.timezone, [&names](const std::string& user_id) {
        const auto found = names.find(user_id);
        return found == names.end() ? std::string{} : found->second;
    });
    Adapters adapters(config, clock);
    engine::EngineOptions engine_options = adapters.EngineOptionsFor(clock);
    engine_options.observer = narrator.Observer();
    engine::Engine engine(std::move(engine_options));
    narrator.SetQuiet(true);  // the first reconcile's findings are one line
    if (auto started = engine.Start(); !started) {
        std::cerr << "demo: " << started.error().message << "\n";
        return 1;
    }
    http::Server server(engine);
    const auto port = server.Bind("127.0.0.1:0");
    if (!port) {
        std::cerr << "demo: " << port.error().message << "\n";
        return 1;
    }
    server.Start();

    const Timestamp end =
        morning + std::chrono::duration_cast<Duration>(
                      std::chrono::duration<double>(options.seconds * options.speed));
    auto local = [&](Timestamp t) { return FormatIso8601(t, tenant.timezone).substr(11, 5); };
    narrator.Print(fmt::format(
        "funnelguard demo: an amoCRM account (the built-in simulator, {}) with {} managers, "
        "funnelguard on 127.0.0.1:{} in enforce mode;\nMonday {}–{} ({}), {:.0f}x faster than "
        "real time\n",
        simulator.BaseUrl(), sim::ActivityOptions{}.managers, *port, local(morning), local(end),
        tenant.timezone, options.speed));

    config::AppConfig public_config = config;
    public_config.server.public_url = fmt::format("http://127.0.0.1:{}", *port);
    const std::string hook_url = HookUrl(public_config, tenant);
    int status = 0;
    crm::Connector* connector = engine.ConnectorOf(tenant.id);
    if (connector == nullptr) {
        std::cerr << "demo: no amoCRM connector\n";
        status = 1;
    } else if (auto connected = connector->Connect(hook_url); !connected) {
        std::cerr << "demo: registering the webhook: " << connected.error().message << "\n";
        status = 1;
    }
    std::optional<sim::Activity> activity;
    if (status == 0) {
        narrator.Say(
            fmt::format("webhook registered: {}", hook_url.substr(0, hook_url.rfind('/'))) + "/…");
        auto report = engine.Reconcile(tenant.id, {});
        (void)engine.Drain();
        narrator.SetQuiet(false);
        if (!report) {
            std::cerr << "demo: the first reconcile: " << report.error().message << "\n";
            status = 1;
        } else {
            narrator.Say(fmt::format(
                "first reconcile: {} deals in the funnel, {} events pulled; {} violations "
                "already there{}",
                simulator.LeadCount(), report->events, report->opened,
                report->record_only ? " (recorded only: a first run writes nothing back)" : ""));
            if (auto reader = engine.OpenReader(); reader) {
                narrator.ReportEchoes(**reader);  // remembers what is there already
            }
            narrator.Print("\nThe managers start working\n");
            activity.emplace(simulator, sim::ActivityOptions{.seed = options.seed});
            activity->Start();
        }
    }
    if (activity) {
        auto reader = engine.OpenReader();
        while (clock.Now() < end) {
            std::this_thread::sleep_for(std::chrono::milliseconds{250});
            if (reader) {
                narrator.ReportEchoes(**reader);
            }
        }
        activity->Stop();
        narrator.Print("\nThe managers stop; waiting for the last webhooks and write-backs");
        if (!Settle(simulator, engine, 20)) {
            narrator.Print("(some work was still in flight when the demo stopped)");
        }
        if (reader) {
            narrator.ReportEchoes(**reader);
        }
    }
    server.Stop();
    engine.Stop();
    // funnelguard has stopped looking: what was overdue until now is what it could have raised.
    const Timestamp until = clock.Now();
    const sim::ActivityStats managers = activity ? activity->Stats() : sim::ActivityStats{};
    activity.reset();
    const std::vector<demo::OverdueFact> overdue = OverdueFacts(simulator, morning, until);
    simulator.Stop();
    if (status != 0) {
        return status;
    }

    const sim::SimStats stats = simulator.Stats();
    std::vector<std::string> footer;
    footer.push_back(fmt::format(
        "managers: {} actions ({} leads created, {} moves, {} stages skipped, {} won, {} lost, "
        "{} times no next task planned, {} times a task put off to a later visit)",
        managers.actions, managers.leads_created, managers.moves, managers.skips, managers.won,
        managers.lost, managers.tasks_forgotten, managers.tasks_put_off));
    footer.push_back(fmt::format("simulator: {} API requests, {} answered 429, {} webhooks sent",
                                 stats.requests, stats.rate_limited, stats.webhooks.delivered));
    auto db = storage::OpenDatabase(database.path(), /*read_only=*/true);
    if (!db) {
        std::cerr << "demo: " << db.error().message << "\n";
        return 1;
    }
    const demo::OverdueAccount account =
        narrator.AccountOverdue(**db, overdue, tenant.rules.overdue_task.grace, morning, until);
    narrator.PrintSummary(**db, account, footer);
    if (!database.temporary()) {
        std::cout << "\nThe database is kept at " << database.path() << "\n";
    }
    return 0;
}

}  // namespace fg::app
