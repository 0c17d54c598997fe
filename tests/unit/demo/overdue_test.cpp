// The demo's account of overdue tasks: every task the CRM shows overdue is an overdue_task
// violation or is listed with the reason it is not, and the summary's numbers add up.
#include "src/demo/overdue.hpp"

#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "adapters/amocrm/sim/activity.hpp"
#include "adapters/amocrm/sim/simulator.hpp"
#include "src/app/adapters.hpp"
#include "src/app/wiring.hpp"
#include "src/demo/demo.hpp"
#include "src/http/server.hpp"
#include "tests/support/process.hpp"

namespace fg::demo {
namespace {

namespace sim = adapters::amocrm::sim;

const Timestamp kMorning = *ParseIso8601("2026-11-02T09:00:00+03:00");
constexpr Duration kHour{3600};
constexpr Duration kMinute{60};

OverdueFact Fact(const std::string& task, Timestamp due, std::optional<Timestamp> closed = {}) {
    return OverdueFact{
        .task_id = task, .deal_id = "d" + task, .due = due, .overdue_at = due, .closed_at = closed};
}

MirrorView Seen(Timestamp due) {
    return MirrorView{.deal_known = true, .task_known = true, .due = due};
}

storage::Violation Raised(std::int64_t id, const std::string& task, std::string resolution = "") {
    storage::Violation violation;
    violation.id = id;
    violation.rule = "overdue_task";
    violation.key = "task:" + task;
    violation.resolution = std::move(resolution);
    return violation;
}

// The numbers of the summary's lines: "overdue tasks: N", "  R raised ...", "  M not raised ...".
void CheckLinesAddUp(const OverdueAccount& account, int opened_in_day) {
    const std::vector<std::string> lines =
        OverdueLines(account, opened_in_day, [](Timestamp t) { return FormatIso8601(t); });
    REQUIRE(!lines.empty());
    const int total = static_cast<int>(account.entries.size());
    const int raised = account.Count(OverdueOutcome::kRaised);
    CHECK(lines[0].starts_with(fmt::format("overdue tasks: {} ", total)));
    bool raised_line = false;
    bool not_raised_line = total == raised;
    for (const std::string& line : lines) {
        raised_line |= line.starts_with(fmt::format("  {} raised as overdue_task", raised));
        not_raised_line |= line.starts_with(fmt::format("  {} not raised: ", total - raised));
        CHECK(line.find("NOT EXPLAINED") == std::string::npos);
    }
    CHECK(raised_line);
    CHECK(not_raised_line);
}

TEST_CASE("Classify: raised, or the reason it could not be") {
    const Timestamp due = kMorning + kHour;
    const Timestamp until = kMorning + 10 * kHour;
    const Duration grace{0};

    MirrorView raised = Seen(due);
    raised.violations.push_back(Raised(1, "1"));
    CHECK(Classify(Fact("1", due), raised, grace, until) == OverdueOutcome::kRaised);

    OverdueFact closed_deal = Fact("2", due);
    closed_deal.deal_closed_at = due - kMinute;
    CHECK(Classify(closed_deal, Seen(due), grace, until) == OverdueOutcome::kDealClosed);

    CHECK(Classify(Fact("3", due, due + 10 * kMinute), Seen(due), Duration{15 * 60}, until) ==
          OverdueOutcome::kWithinGrace);
    CHECK(Classify(Fact("4", until - kMinute), Seen(until - kMinute), Duration{15 * 60}, until) ==
          OverdueOutcome::kStillInGrace);
    CHECK(Classify(Fact("5", due, due + Duration{30}), Seen(due), grace, until) ==
          OverdueOutcome::kBetweenChecks);
    CHECK(Classify(Fact("6", due), MirrorView{}, grace, until) == OverdueOutcome::kDealUnseen);
    CHECK(Classify(Fact("7", due), MirrorView{.deal_known = true}, grace, until) ==
          OverdueOutcome::kTaskUnseen);
    CHECK(Classify(Fact("8", due), Seen(due + 3 * kHour), grace, until) ==
          OverdueOutcome::kDueDiffers);
    CHECK(Classify(Fact("9", due, due + kHour), Seen(due), grace, until) ==
          OverdueOutcome::kMissed);
}

TEST_CASE("AccountOverdue lists every task once and the summary's numbers add up") {
    const Timestamp due = kMorning + kHour;
    const Timestamp until = kMorning + 10 * kHour;
    const std::vector<OverdueFact> facts = {Fact("1", kMorning - kHour), Fact("2", due),
                                            Fact("3", due, due + kHour), Fact("4", due),
                                            Fact("5", due, due + Duration{20})};
    std::vector<MirrorView> views(facts.size(), Seen(due));
    views[0] = Seen(kMorning - kHour);
    views[0].violations = {Raised(10, "1")};
    views[1].violations = {Raised(11, "2", "cleared")};
    views[2].violations = {Raised(12, "3", "deal_closed")};
    views[3] = MirrorView{};
    const std::vector<storage::Violation> all = {Raised(10, "1"), Raised(11, "2", "cleared"),
                                                 Raised(12, "3", "deal_closed"),
                                                 Raised(13, "99", "cleared")};
    const OverdueAccount account =
        AccountOverdue(facts, views, all, {10}, Duration{0}, kMorning, until);
    REQUIRE(account.entries.size() == facts.size());
    CHECK(account.Count(OverdueOutcome::kRaised) == 3);
    CHECK(account.Count(OverdueOutcome::kDealUnseen) == 1);
    CHECK(account.Count(OverdueOutcome::kBetweenChecks) == 1);
    CHECK(account.entries[0].before_start);
    CHECK_FALSE(account.entries[1].before_start);
    CHECK(account.entries[2].resolution == "deal_closed");
    REQUIRE(account.unmatched.size() == 1);
    CHECK(account.unmatched.front().key == "task:99");

    const std::vector<std::string> lines =
        OverdueLines(account, 3, [](Timestamp t) { return FormatIso8601(t); });
    std::string text;
    for (const std::string& line : lines) {
        text += line + "\n";
    }
    CHECK(text.find("overdue tasks: 5 ") != std::string::npos);
    CHECK(text.find("  3 raised as overdue_task: 1 before the managers started (1 of them already "
                    "overdue at ") != std::string::npos);
    CHECK(text.find(", 2 while the managers worked") != std::string::npos);
    CHECK(text.find("  2 not raised: 1 overdue for less than a minute") != std::string::npos);
    CHECK(text.find("1 on a deal funnelguard never received (tasks 4)") != std::string::npos);
    CHECK(text.find("1 overdue_task violations name tasks") != std::string::npos);
    CheckLinesAddUp(account, 3);
}

// Waits until the simulator has sent its webhooks, funnelguard has processed them and delivered
// its actions (whose write-backs send webhooks again). Bounded: gives up after `rounds`.
void Settle(sim::Simulator& simulator, engine::Engine& engine, int rounds = 200) {
    for (int round = 0; round < rounds; ++round) {
        const bool idle = simulator.WaitWebhooksIdle(std::chrono::seconds{10});
        const auto drained = engine.Drain();
        bool outbox_empty = true;
        if (auto reader = engine.OpenReader(); reader) {
            outbox_empty = !storage::NextOutboxAttempt(**reader).has_value();
        }
        if (idle && drained && *drained == 0 && outbox_empty) {
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds{5});
    }
}

TEST_CASE("Every task the simulated managers let go overdue is raised or has a reason") {
    testing::TempDir dir;
    ManualClock clock(kMorning);
    sim::Simulator simulator(
        {.token = "demo-token", .seed = 3, .leads = 20, .rps = 0, .clock = &clock});
    REQUIRE(simulator.Start());
    auto loaded = DemoConfig("amocrm",
                             fmt::format("[tenant.amocrm]\nbase_url = \"{}\"\ntoken = \"{}\"\n",
                                         simulator.BaseUrl(), simulator.Token()),
                             dir.File("demo.db"), app::CrmSchemas());
    REQUIRE(loaded);
    config::AppConfig config = std::move(*loaded);
    // funnelguard's own "plan the next step" tasks due within the six hours (a day by default),
    // so that the managers, who put tasks off, let some of them pass too.
    for (config::TenantConfig& demo_tenant : config.tenants) {
        demo_tenant.rules.deal_without_task.common.task_due = kHour;
    }
    const config::TenantConfig& tenant = *config.FindTenant(kTenant);

    std::mutex mutex;
    bool quiet = true;
    std::set<std::int64_t> quiet_ids;
    int opened_in_day = 0;
    app::Adapters adapters(config, clock);
    engine::EngineOptions options = adapters.EngineOptionsFor(clock);
    options.timers = false;  // the test sweeps once a clock minute, as the timer would
    options.observer.on_violation = [&](const std::string&, const engine::ViolationChange& change) {
        if (!change.opened || change.violation.rule != "overdue_task") {
            return;
        }
        std::lock_guard lock(mutex);
        if (quiet) {
            quiet_ids.insert(change.violation.id);
        } else {
            ++opened_in_day;
        }
    };
    engine::Engine engine(std::move(options));
    REQUIRE(engine.Start());
    http::Server server(engine, app::CrmAdapters());
    const auto port = server.Bind("127.0.0.1:0");
    REQUIRE(port);
    server.Start();
    config.server.public_url = fmt::format("http://127.0.0.1:{}", *port);
    crm::Connector* connector = engine.ConnectorOf(tenant.id);
    REQUIRE(connector != nullptr);
    REQUIRE(connector->Connect(app::HookUrl(config, tenant)));
    REQUIRE(engine.Reconcile(tenant.id, {}));
    Settle(simulator, engine);
    {
        std::lock_guard lock(mutex);
        quiet = false;
    }

    // Managers who put tasks off most of the time, so that many deadlines pass.
    sim::Activity activity(simulator, sim::ActivityOptions{.seed = 3, .let_overdue = 0.7});
    for (Duration worked{0}; worked < 6 * kHour; worked += kMinute) {
        clock.Advance(kMinute);
        activity.Step();
        Settle(simulator, engine);
        REQUIRE(engine.Sweep());
        Settle(simulator, engine);
    }
    server.Stop();
    engine.Stop();
    const Timestamp until = clock.Now();

    std::vector<OverdueFact> facts;
    for (const sim::OverdueTask& task : sim::TasksGoneOverdue(simulator, kMorning, until)) {
        OverdueFact fact{.task_id = std::to_string(task.task_id),
                         .deal_id = std::to_string(task.lead_id),
                         .due = task.due,
                         .overdue_at = task.overdue_at,
                         .closed_at = task.closed_at};
        const sim::SimLead lead = *simulator.GetLead(task.lead_id);
        if (lead.status_id == sim::kWon || lead.status_id == sim::kLost) {
            fact.deal_closed_at = lead.closed_at.value_or(lead.updated_at);
        }
        facts.push_back(std::move(fact));
    }
    auto db = storage::OpenDatabase(dir.File("demo.db"), /*read_only=*/true);
    REQUIRE(db);
    std::vector<MirrorView> views;
    for (const OverdueFact& fact : facts) {
        views.push_back(ViewOf(**db, kTenant, fact));
    }
    storage::ViolationFilter filter{.tenant = kTenant,
                                    .state = storage::ViolationFilter::State::kAll,
                                    .rule = "overdue_task",
                                    .limit = 100000};
    const OverdueAccount account =
        AccountOverdue(facts, views, storage::ListViolations(**db, filter), quiet_ids,
                       tenant.rules.overdue_task.grace, kMorning, until);

    // Meaningful only if deadlines passed: found before the managers started and during the day.
    CHECK(account.Count(OverdueOutcome::kRaised) > 3);
    std::map<OverdueOutcome, int> outcomes;
    for (const OverdueAccount::Entry& entry : account.entries) {
        ++outcomes[entry.outcome];
        // funnelguard saw every deal and task here, with its deadline: nothing it could miss.
        CHECK_MESSAGE(entry.outcome != OverdueOutcome::kMissed, "task " << entry.fact.task_id);
        CHECK_MESSAGE(entry.outcome != OverdueOutcome::kDueDiffers, "task " << entry.fact.task_id);
        CHECK_MESSAGE(entry.outcome != OverdueOutcome::kTaskUnseen, "task " << entry.fact.task_id);
        CHECK_MESSAGE(entry.outcome != OverdueOutcome::kDealUnseen, "task " << entry.fact.task_id);
    }
    CHECK(account.unmatched.empty());
    MESSAGE(facts.size() << " tasks went overdue, " << account.Count(OverdueOutcome::kRaised)
                         << " raised; " << activity.Stats().tasks_put_off
                         << " visits put a task off");
    CheckLinesAddUp(account, opened_in_day);
    simulator.Stop();
}

}  // namespace
}  // namespace fg::demo
