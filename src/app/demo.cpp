// `funnelguard demo`: the whole system on loopback. A CRM adapter's simulated account (with its
// simulated managers, crm::DemoAccount), funnelguard in enforce mode with its HTTP server, and a
// manual clock they share, stepped from one scheduled thing to the next so that a seed gives the
// same run every time; the narration and the summary are src/demo's. Chat messages go to a fake
// Telegram on loopback (src/demo/chat.hpp), and the next morning's summaries close the day.
#include "src/demo/demo.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "src/app/adapters.hpp"
#include "src/app/commands.hpp"
#include "src/app/wiring.hpp"
#include "src/common/log.hpp"
#include "src/demo/chat.hpp"
#include "src/engine/schedule.hpp"
#include "src/engine/summary.hpp"
#include "src/http/server.hpp"
#include "src/storage/store.hpp"

namespace fg::app {
namespace {

// A working Monday morning in Moscow.
constexpr const char* kMorning = "2026-11-02T09:00:00+03:00";

// One step's consequences, to the end: the webhooks of what changed in the CRM are processed
// together (credited to `cause`), then funnelguard's write-backs are delivered, whose webhooks
// are processed together (credited to funnelguard), and so on until nothing is left. Nothing
// runs meanwhile (no background processing, no outbox worker, the clock stands), so each step
// gives the same lines in the same order every time. The chat messages a delivery sent are
// printed after it, as the fake Telegram accepted them. false when it did not settle in `rounds`.
bool Settle(crm::DemoAccount& account, engine::Engine& engine, demo::Narrator& narrator,
            demo::DemoChat& chat, storage::Db& reader, demo::Cause cause, int rounds = 50) {
    for (int round = 0; round < rounds; ++round) {
        const bool idle = account.WaitWebhooksIdle(std::chrono::seconds{10});
        narrator.BeginBatch(cause);
        Result<int> drained = engine.Drain();
        // What waits for the CRM's API is fetched and applied with its batch.
        Result<int> fetched = engine.Fetch();
        while (drained && fetched && *fetched > 0) {
            const Result<int> more = engine.Drain();
            drained = more ? Result<int>(*drained + *more) : more;
            fetched = engine.Fetch();
        }
        narrator.EndBatch(reader);
        auto delivered = engine.Deliver();
        for (const std::string& line : chat.NewMessages(narrator.time_zone())) {
            narrator.Print(line);
        }
        cause = demo::Cause::kFunnelguard;
        if (idle && drained && *drained == 0 && fetched && delivered && *delivered == 0) {
            return true;
        }
    }
    return false;
}

// The tasks the simulated account says were overdue in [from, until), in the demo's terms.
std::vector<demo::OverdueFact> OverdueFacts(const crm::DemoAccount& account, Timestamp from,
                                            Timestamp until) {
    std::vector<demo::OverdueFact> facts;
    for (crm::OverdueTaskFact& task : account.TasksGoneOverdue(from, until)) {
        facts.push_back(demo::OverdueFact{.task_id = std::move(task.task_id),
                                          .deal_id = std::move(task.deal_id),
                                          .due = task.due,
                                          .overdue_at = task.overdue_at,
                                          .closed_at = task.closed_at,
                                          .deal_closed_at = task.deal_closed_at});
    }
    return facts;
}

// The next working day's morning summary after `after` (the demo's day), in the tenant's time.
std::optional<Timestamp> NextMorningSummary(const config::TenantConfig& tenant, Timestamp after) {
    if (!tenant.chat.morning_summary_minute) {
        return std::nullopt;
    }
    const int minute = *tenant.chat.morning_summary_minute;
    const std::string at = fmt::format("{:02}:{:02}", minute / 60, minute % 60);
    std::optional<Timestamp> next = engine::NextLocalTime(after, tenant.timezone, at);
    for (int day = 0; next && day < 7; ++day) {
        if (tenant.chat.working_days[engine::LocalMomentOf(*next, tenant.timezone).weekday]) {
            return next;
        }
        next = engine::NextLocalTime(*next, tenant.timezone, at);
    }
    return std::nullopt;
}

// How long the next morning runs after its summaries went out: messages that waited for the
// night (or a person's cooldown, or a chat's pace) follow within it.
constexpr int kMorningMinutes = 10;

// The adapter the demo runs against: the one named, or the first with a simulated account.
const crm::Adapter* DemoAdapter(const std::string& name) {
    for (const crm::Adapter* adapter : CrmAdapters()) {
        if ((name.empty() || adapter->Name() == name) && adapter->MakeDemoAccount({}) != nullptr) {
            return adapter;
        }
    }
    return nullptr;
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
    // The demo steps this clock from one scheduled thing to the next (a manager's action, the
    // minute check); see the loop below.
    ManualClock clock(morning);

    const crm::Adapter* adapter = DemoAdapter(options.crm);
    if (adapter == nullptr) {
        std::cerr << "demo: no simulated account for crm \"" << options.crm << "\"\n";
        return 2;
    }
    std::unique_ptr<crm::DemoAccount> account =
        adapter->MakeDemoAccount({.seed = options.seed, .deals = options.leads, .clock = &clock});
    if (auto started = account->Start(); !started) {
        std::cerr << "demo: " << started.error().message << "\n";
        return 1;
    }
    const std::map<std::string, std::string> names = account->UserNames();
    // Every simulated user is a manager with a private chat; a head of sales leads them.
    demo::DemoChat chat(clock, names);
    if (auto started = chat.Start(); !started) {
        std::cerr << "demo: " << started.error().message << "\n";
        return 1;
    }

    auto loaded = demo::DemoConfig(adapter->Name(), account->ConfigSection(), database.path(),
                                   ConfigSchemas(), chat.ConfigSection());
    if (!loaded) {
        std::cerr << "demo: the built-in config: " << loaded.error().message;
        return 1;
    }
    const config::AppConfig config = std::move(*loaded);
    const config::TenantConfig& tenant = *config.FindTenant(demo::kTenant);
    {
        // The day starts after Monday's morning summary (about last week) went out: the demo
        // shows the summary of its own day, on Tuesday morning.
        auto db = storage::OpenDatabase(database.path());
        if (!db) {
            std::cerr << "demo: " << db.error().message << "\n";
            return 1;
        }
        // false: a kept database (--db) has it already.
        (void)storage::MarkSummaryDone(
            **db, tenant.id, engine::LocalMomentOf(morning, tenant.timezone).day, morning);
    }

    demo::Narrator narrator(clock, tenant.timezone, [&names](const std::string& user_id) {
        const auto found = names.find(user_id);
        return found == names.end() ? std::string{} : found->second;
    });
    Adapters adapters(config, clock);
    engine::EngineOptions engine_options = adapters.EngineOptionsFor(clock);
    engine_options.observer = narrator.Observer();
    // The loop below does the timers', the outbox worker's and the inbox processing's work, one
    // step at a time: a seed gives the same run every time.
    engine_options.timers = false;
    engine_options.deliver = false;
    engine_options.background = false;
    engine::Engine engine(std::move(engine_options));
    narrator.SetQuiet(true);  // the first reconcile's findings are one line
    if (auto started = engine.Start(); !started) {
        std::cerr << "demo: " << started.error().message << "\n";
        return 1;
    }
    http::Server server(engine, CrmAdapters());
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
        "funnelguard demo: {}, funnelguard in enforce mode;\nMonday {}–{} ({}), {:.0f}x faster "
        "than real time\n",
        account->Describe(), local(morning), local(end), tenant.timezone, options.speed));

    config::AppConfig public_config = config;
    public_config.server.public_url = fmt::format("http://127.0.0.1:{}", *port);
    const std::string hook_url = HookUrl(public_config, tenant);
    int status = 0;
    crm::Connector* connector = engine.ConnectorOf(tenant.id);
    if (connector == nullptr) {
        std::cerr << "demo: the " << adapter->Name() << " adapter has no connector\n";
        status = 1;
    } else if (auto connected = connector->Connect(hook_url); !connected) {
        std::cerr << "demo: registering the webhook: " << connected.error().message << "\n";
        status = 1;
    }
    bool managers_working = false;
    std::unique_ptr<storage::Db> narration_db;  // the narration's reader
    if (status == 0) {
        // The path without the secret, and without the ephemeral port: the same every run.
        const std::string path = hook_url.substr(hook_url.find('/', hook_url.find("://") + 3));
        narrator.Say(
            fmt::format("webhook registered: funnelguard's {}/…", path.substr(0, path.rfind('/'))));
        std::size_t managers = 0;
        std::string head;
        std::string group;
        for (const demo::ChatReader& reader : chat.readers()) {
            managers += reader.role == demo::ChatReader::Role::kManager ? 1 : 0;
            if (reader.role == demo::ChatReader::Role::kHead) {
                head = reader.name;
            } else if (reader.role == demo::ChatReader::Role::kGroup) {
                group = reader.name;
            }
        }
        narrator.Say(fmt::format(
            "chat: Telegram (a built-in fake on loopback, with Telegram's limits): {} managers, "
            "the head of sales {} and the team's group «{}»; ✉ marks a message as its reader "
            "sees it",
            managers, head, group));
        auto report = engine.Reconcile(tenant.id, {});
        auto reader = engine.OpenReader();
        if (!report || !reader) {
            std::cerr << "demo: the first reconcile: "
                      << (!report ? report.error().message : reader.error().message) << "\n";
            status = 1;
        } else {
            // What the first reconcile opened is recorded only: no actions to deliver.
            narrator.BeginBatch(demo::Cause::kManagers);
            (void)engine.Drain();
            narrator.EndBatch(**reader);  // also remembers the echoes there already
            narrator.SetQuiet(false);
            narrator.RecordFound(**reader);
            narrator.Say(fmt::format(
                "first reconcile: {} deals in the funnel, {} events pulled; {} violations "
                "already there{}",
                account->DealCount(), report->events, report->opened,
                report->record_only ? " (recorded only: a first run writes nothing back)" : ""));
            narrator.Print("\nThe managers start working\n");
            account->StartManagers(options.seed);
            managers_working = true;
            narration_db = std::move(reader).value();
        }
    }
    // The minute check: time-driven violations, escalations, morning summaries.
    auto minute_check = [&] {
        narrator.BeginBatch(demo::Cause::kClock);
        auto swept = engine.Sweep();
        narrator.EndBatch(*narration_db);
        if (!swept) {
            narrator.Print("(the minute check failed: " + swept.error().message + ")");
        }
        if (!Settle(*account, engine, narrator, chat, *narration_db, demo::Cause::kFunnelguard)) {
            narrator.Print("(a step did not settle: webhooks or write-backs left)");
        }
    };
    if (managers_working) {
        // A discrete-event loop: the clock jumps to the next scheduled thing (a manager's action
        // or the minute check, both at whole seconds), which runs with everything it sets off
        // (Settle) before the clock moves on. Real time only paces it: the loop sleeps until the
        // wall clock, scaled by `speed`, has caught up, and runs late rather than skip.
        const auto real_start = std::chrono::steady_clock::now();
        Timestamp next_check = morning + std::chrono::minutes{1};
        for (;;) {
            const Timestamp next_action = account->NextActionAt().value_or(end);
            const Timestamp next = std::min({next_action, next_check, end});
            if (next >= end) {
                break;
            }
            std::this_thread::sleep_until(
                real_start +
                std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                    std::chrono::duration<double>(static_cast<double>((next - morning).count()) /
                                                  options.speed)));
            clock.Set(next);
            if (next == next_action) {
                account->Step();
                if (!Settle(*account, engine, narrator, chat, *narration_db,
                            demo::Cause::kManagers)) {
                    narrator.Print("(a step did not settle: webhooks or write-backs left)");
                }
            }
            if (next == next_check) {
                next_check += std::chrono::minutes{1};
                minute_check();
            }
        }
        clock.Set(end);
        narrator.Print("\nThe managers stop; waiting for the last webhooks and write-backs");
        if (!Settle(*account, engine, narrator, chat, *narration_db, demo::Cause::kManagers)) {
            narrator.Print("(some work was still in flight when the demo stopped)");
        }
    }
    auto stop = [&] {
        narration_db.reset();
        server.Stop();
        engine.Stop();
        account->StopManagers();
        account->Stop();
    };
    if (status != 0) {
        stop();
        return status;
    }
    // funnelguard has stopped looking at the day: what was overdue until now is what it could
    // have raised. The account keeps serving for the next morning's write-backs.
    const Timestamp until = clock.Now();
    account->StopManagers();
    const std::vector<demo::OverdueFact> overdue = OverdueFacts(*account, morning, until);
    const std::vector<std::string> footer = account->Footer();
    const demo::OverdueAccount overdue_account = narrator.AccountOverdue(
        *narration_db, overdue, tenant.rules.overdue_task.grace, morning, until);
    narrator.PrintSummary(*narration_db, overdue_account, footer);

    // The next morning: the clock jumps over the night to the morning summary, and the minute
    // checks run for a while, so that what waited for working hours goes out too.
    if (const auto summary_at = NextMorningSummary(tenant, until)) {
        static constexpr std::array<const char*, 7> kWeekdays = {
            "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
        narrator.Print(fmt::format(
            "\nThe next morning, {} {}–{}: the morning summaries, and what waited for the working "
            "day\n",
            kWeekdays[engine::LocalMomentOf(*summary_at, tenant.timezone).weekday],
            local(*summary_at), local(*summary_at + std::chrono::minutes{kMorningMinutes})));
        for (int minute = 0; minute <= kMorningMinutes; ++minute) {
            clock.Set(*summary_at + std::chrono::minutes{minute});
            minute_check();
        }
    }
    narrator.Print("");
    for (const std::string& line : chat.Figures()) {
        narrator.Print(line);
    }
    stop();
    if (!database.temporary()) {
        std::cout << "\nThe database is kept at " << database.path() << "\n";
    }
    return 0;
}

}  // namespace fg::app
