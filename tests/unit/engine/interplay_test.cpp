// The engine and funnelguard's own actions (docs/rules.md, "Interplay with funnelguard's own
// actions"): echoes of its reverts and tasks raise nothing, its tasks are due task_due later and
// come one at a time, and acknowledging a violation cancels what it has not delivered yet.
#include <algorithm>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "adapters/generic/decoder.hpp"
#include "src/app/adapters.hpp"
#include "src/engine/engine.hpp"
#include "tests/support/process.hpp"

// Named, not anonymous: the test files are compiled together (FG_UNITY).
namespace interplay_test_file {

using nlohmann::json;
using namespace std::chrono_literals;

const fg::Timestamp kMonday = *fg::ParseIso8601("2026-11-02T09:00:00+03:00");
constexpr const char* kPaymentDate = "Дата оплаты";

std::string At(fg::Duration offset) { return fg::FormatIso8601(kMonday + offset, "Europe/Moscow"); }

struct Options {
    std::string mode = "enforce";
    std::string task_due{};  // deal_without_task's, when set
    std::string overdue_actions = R"(["note", "task"])";
    std::string stage_order_actions = R"(["note", "revert"])";
    std::string extra{};
    fg::Duration start{0};
    bool deliver = false;
};

std::string ConfigText(const std::string& db, const Options& options) {
    return fmt::format(
        R"(
[storage]
path = "{db}"
[[tenant]]
id = "acme"
secret = "s"
mode = "{mode}"
  [[tenant.pipeline]]
  id = "main"
  stages = ["Новая", "Квалификация", "Счёт выставлен", "Оплачено", "Успешно"]
  won = ["Успешно"]
  lost = ["Отказ"]
  [tenant.rules.stage_order]
  actions = {stage_order}
  [tenant.rules.deal_without_task]
  grace = "15m"
  actions = ["task"]
  {task_due}
  [tenant.rules.actual_stage]
  consistency = [ {{ when_filled = "{field}", stage_at_least = "Оплачено" }} ]
  actions = ["note"]
  [tenant.rules.overdue_task]
  actions = {overdue}
{extra}
)",
        fmt::arg("db", db), fmt::arg("mode", options.mode),
        fmt::arg("stage_order", options.stage_order_actions),
        fmt::arg("task_due", options.task_due.empty()
                                 ? std::string()
                                 : fmt::format("task_due = \"{}\"", options.task_due)),
        fmt::arg("field", kPaymentDate), fmt::arg("overdue", options.overdue_actions),
        fmt::arg("extra", options.extra));
}

json Deal(const std::string& event_id, const std::string& deal, const std::string& stage,
          fg::Duration at, const json& fields = json::object()) {
    return {{"id", event_id},
            {"type", "deal.upserted"},
            {"at", At(at)},
            {"deal",
             {{"id", deal},
              {"title", "ООО «" + deal + "»"},
              {"pipeline", "main"},
              {"stage", stage},
              {"responsible", "ivanova"},
              {"fields", fields}}}};
}

json Task(const std::string& event_id, const std::string& task, const std::string& deal,
          const std::string& due, bool done, fg::Duration at,
          const std::string& text = "Позвонить") {
    return {{"id", event_id},
            {"type", "task.upserted"},
            {"at", At(at)},
            {"task",
             {{"id", task},
              {"deal", deal},
              {"due", due},
              {"done", done},
              {"responsible", "ivanova"},
              {"text", text}}}};
}

// Answers with `answer` (delivered unless it says otherwise) and remembers what it was sent.
class ScriptedSink final : public fg::outbox::ActionSink {
public:
    using Answer = std::function<fg::outbox::DeliveryResult(const fg::outbox::Action&)>;

    fg::outbox::DeliveryResult Deliver(const fg::outbox::Action& action) override {
        fg::outbox::DeliveryResult result{
            .status = fg::outbox::DeliveryStatus::kDelivered, .retry_after = {}, .error = {}};
        Answer answer;
        {
            std::lock_guard lock(mutex_);
            answer = answer_;
        }
        if (answer) {
            result = answer(action);  // outside the lock: it may call into the engine
        }
        {
            std::lock_guard lock(mutex_);
            sent_.push_back(action);
        }
        changed_.notify_all();
        return result;
    }

    void SetAnswer(Answer answer) {
        std::lock_guard lock(mutex_);
        answer_ = std::move(answer);
    }
    std::vector<fg::outbox::Action> Sent() {
        std::lock_guard lock(mutex_);
        return sent_;
    }
    /// Waits (10 s at most) until an action with this key has been sent.
    bool WaitFor(const std::string& key) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, 10s, [&] {
            return std::any_of(sent_.begin(), sent_.end(),
                               [&](const auto& action) { return action.idempotency_key() == key; });
        });
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    Answer answer_{};
    std::vector<fg::outbox::Action> sent_{};
};

struct Harness {
    explicit Harness(const Options& options = {}) : clock(kMonday + options.start) {
        auto loaded = fg::config::LoadConfigFromString(
            ConfigText(dir.File("fg.db"), options), "test.toml", fg::app::CrmSchemas(), dir.path());
        for (const auto& problem : loaded.problems) {
            FAIL(fg::config::FormatProblem(problem));
        }
        config = std::move(loaded.config);
        fg::engine::EngineOptions engine_options;
        engine_options.config = &config;
        engine_options.clock = &clock;
        engine_options.decoders.emplace("generic",
                                        std::make_unique<fg::adapters::generic::GenericDecoder>());
        engine_options.make_sink = [this](const fg::config::TenantConfig&) {
            auto owned = std::make_unique<ScriptedSink>();
            sink = owned.get();
            return owned;
        };
        engine_options.timers = false;
        engine_options.deliver = options.deliver;
        engine_options.observer.on_violation = [this](const std::string&,
                                                      const fg::engine::ViolationChange& change) {
            std::lock_guard lock(mutex);
            (change.opened ? opened : resolved).push_back(change.violation);
        };
        engine = std::make_unique<fg::engine::Engine>(std::move(engine_options));
        REQUIRE(engine->Start());
    }

    void Post(const json& events) {
        auto stored =
            engine->Intake("acme", "generic", json{{"events", events}}.dump(), clock.Now()).get();
        REQUIRE(stored);
        REQUIRE(engine->Drain());
    }

    void SweepAt(fg::Duration offset) {
        clock.Set(kMonday + offset);
        REQUIRE(engine->Sweep());
    }

    /// Every outbox item (of `kind`), in creation order.
    std::vector<fg::storage::OutboxItem> Outbox(const std::string& kind = "") {
        auto db = engine->OpenReader();
        REQUIRE(db);
        std::vector<fg::storage::OutboxItem> items;
        std::set<std::int64_t> violations;
        {
            SQLite::Statement query((*db)->sql(), "SELECT DISTINCT violation_id FROM outbox");
            while (query.executeStep()) {
                violations.insert(query.getColumn(0).getInt64());
            }
        }
        for (const std::int64_t violation : violations) {
            for (auto& item : fg::storage::OutboxForViolation(**db, violation)) {
                if (kind.empty() || item.kind == kind) {
                    items.push_back(std::move(item));
                }
            }
        }
        std::sort(items.begin(), items.end(),
                  [](const auto& a, const auto& b) { return a.id < b.id; });
        return items;
    }

    fg::domain::DealSnapshot Snapshot(const std::string& deal) {
        auto db = engine->OpenReader();
        REQUIRE(db);
        auto snapshot = fg::storage::LoadSnapshot(**db, "acme", deal);
        REQUIRE(snapshot);
        return *snapshot;
    }

    std::vector<std::string> OpenedRules() {
        std::lock_guard lock(mutex);
        std::vector<std::string> rules;
        for (const auto& violation : opened) {
            rules.push_back(violation.rule);
        }
        return rules;
    }

    fg::testing::TempDir dir;
    fg::ManualClock clock;
    fg::config::AppConfig config;
    std::mutex mutex;
    std::vector<fg::storage::Violation> opened;
    std::vector<fg::storage::Violation> resolved;
    ScriptedSink* sink = nullptr;
    std::unique_ptr<fg::engine::Engine> engine;  // last: stopped first
};

using Names = std::vector<std::string>;

const json kPaid = {{kPaymentDate, "2026-11-01"}};

// A deal with a task that skips "Счёт выставлен" on its way to "Оплачено", its payment date
// filled: stage_order opens and plans a note and the revert to "Счёт выставлен".
void SkipToPaid(Harness& h, const std::string& deal = "7") {
    h.Post(json::array({Deal("e1-" + deal, deal, "Новая", 0min),
                        Task("e2-" + deal, "t" + deal, deal, At(5h), false, 0min),
                        Deal("e3-" + deal, deal, "Квалификация", 1min),
                        Deal("e4-" + deal, deal, "Оплачено", 2min, kPaid)}));
}

TEST_CASE("Interplay: the echo of funnelguard's revert opens no violation of another rule") {
    Harness h({.start = 3min});
    SkipToPaid(h);
    REQUIRE(h.OpenedRules() == Names{"stage_order"});
    const auto reverts = h.Outbox("revert");
    REQUIRE(reverts.size() == 1);
    CHECK(json::parse(reverts[0].payload)["revert"]["to"] == "Счёт выставлен");

    // The CRM reports the move back with the whole card: the payment date is still filled.
    h.clock.Set(kMonday + 5min);
    h.Post(json::array({Deal("e5", "7", "Счёт выставлен", 4min, kPaid)}));
    CHECK(h.OpenedRules() == Names{"stage_order"});  // no actual_stage on funnelguard's state
    REQUIRE(h.resolved.size() == 1);
    CHECK(h.resolved[0].resolution == "corrected");
    CHECK(h.Snapshot("7").history.back().own);
    CHECK(h.Outbox().size() == 2);  // the note and the revert, nothing else

    SUBCASE("the manager then moves it on to Оплачено: nothing") {
        h.clock.Set(kMonday + 30min);
        h.Post(json::array({Deal("e6", "7", "Оплачено", 30min, kPaid)}));
        CHECK(h.OpenedRules() == Names{"stage_order"});
    }
    SUBCASE("the manager moves it back: judged again") {
        h.clock.Set(kMonday + 30min);
        h.Post(json::array({Deal("e6", "7", "Квалификация", 30min, kPaid)}));
        CHECK(h.OpenedRules() == Names{"stage_order", "actual_stage"});
    }
}

TEST_CASE("Interplay: funnelguard's task is due task_due later") {
    SUBCASE("default: a day") {
        Harness h;
        h.Post(json::array({Deal("e1", "5", "Новая", 0min)}));
        h.SweepAt(16min);
        const auto tasks = h.Outbox("task");
        REQUIRE(tasks.size() == 1);
        const json task = json::parse(tasks[0].payload)["task"];
        CHECK(fg::ParseIso8601(task["due"].get<std::string>()) == kMonday + 16min + 24h);
    }
    SUBCASE("configured: 4h") {
        Harness h({.task_due = "4h"});
        h.Post(json::array({Deal("e1", "5", "Новая", 0min)}));
        h.SweepAt(16min);
        const auto tasks = h.Outbox("task");
        REQUIRE(tasks.size() == 1);
        const json task = json::parse(tasks[0].payload)["task"];
        CHECK(fg::ParseIso8601(task["due"].get<std::string>()) == kMonday + 16min + 4h);
    }
}

TEST_CASE(
    "Interplay: one automatic task per deal per task_due, however often the manager closes it") {
    Harness h;
    h.Post(json::array({Deal("e1", "5", "Новая", 0min)}));
    h.SweepAt(16min);
    REQUIRE(h.OpenedRules() == Names{"deal_without_task"});
    auto tasks = h.Outbox("task");
    REQUIRE(tasks.size() == 1);
    const json planned = json::parse(tasks[0].payload)["task"];

    // The echo: funnelguard's task, recognised as its own; it clears the violation.
    h.clock.Set(kMonday + 17min);
    h.Post(json::array({Task("e2", "fg1", "5", planned["due"], false, 17min, planned["text"])}));
    CHECK(h.Snapshot("5").tasks.at(0).own);
    REQUIRE(h.resolved.size() == 1);
    CHECK(h.resolved[0].resolution == "cleared");

    // The manager completes it without planning a next step: the deal is without a task again,
    // which is a violation, but no second task comes within task_due of the first.
    h.clock.Set(kMonday + 20min);
    h.Post(json::array({Task("e3", "fg1", "5", planned["due"], true, 20min, planned["text"])}));
    h.SweepAt(36min);
    CHECK(h.OpenedRules() == Names{"deal_without_task", "deal_without_task"});
    CHECK(h.Outbox("task").size() == 1);
    h.SweepAt(3h);
    h.SweepAt(23h);
    CHECK(h.Outbox("task").size() == 1);

    // A day later the manager plans and completes a task of their own, and forgets again: now
    // funnelguard may remind once more.
    h.clock.Set(kMonday + 25h);
    h.Post(json::array({Task("e4", "t2", "5", At(26h), false, 25h)}));
    h.clock.Set(kMonday + 25h + 1min);
    h.Post(json::array({Task("e5", "t2", "5", At(26h), true, 25h + 1min)}));
    h.SweepAt(25h + 17min);
    CHECK(h.OpenedRules().size() == 3);
    tasks = h.Outbox("task");
    REQUIRE(tasks.size() == 2);
    CHECK(fg::ParseIso8601(json::parse(tasks[1].payload)["task"]["due"].get<std::string>()) ==
          kMonday + 25h + 17min + 24h);
}

TEST_CASE("Interplay: no second automatic task while funnelguard's one is open or on its way") {
    // overdue_task plans a task too; two of the manager's tasks go overdue one after the other.
    Harness h({.start = 1min});
    h.Post(
        json::array({Deal("e1", "5", "Новая", 0min), Task("e2", "t1", "5", At(30min), false, 0min),
                     Task("e3", "t2", "5", At(60min), false, 0min)}));
    h.SweepAt(31min);
    REQUIRE(h.OpenedRules() == Names{"overdue_task"});
    auto tasks = h.Outbox("task");
    REQUIRE(tasks.size() == 1);

    SUBCASE("on its way: planned, its echo not seen yet") {
        h.SweepAt(61min);
        CHECK(h.OpenedRules() == Names{"overdue_task", "overdue_task"});
        CHECK(h.Outbox("task").size() == 1);
        CHECK(h.Outbox("note").size() == 2);  // the second violation still gets its note
    }
    SUBCASE("open on the deal; then it goes overdue itself: a note, never a task about it") {
        const json planned = json::parse(tasks[0].payload)["task"];
        h.clock.Set(kMonday + 32min);
        h.Post(
            json::array({Task("e4", "fg1", "5", planned["due"], false, 32min, planned["text"])}));
        const auto snapshot = h.Snapshot("5");
        REQUIRE(std::any_of(snapshot.tasks.begin(), snapshot.tasks.end(),
                            [](const auto& task) { return task.id == "fg1" && task.own; }));
        h.SweepAt(61min);
        CHECK(h.OpenedRules() == Names{"overdue_task", "overdue_task"});
        CHECK(h.Outbox("task").size() == 1);

        h.SweepAt(31min + 24h + 1s);  // funnelguard's task is overdue now
        REQUIRE(h.OpenedRules().size() == 3);
        const fg::storage::Violation own = h.opened.back();
        CHECK(own.key == "task:fg1");
        CHECK(own.details.at("by_funnelguard") == true);
        CHECK(h.Outbox("task").size() == 1);
        CHECK(h.Outbox("note").size() == 3);
    }
}

TEST_CASE("Interplay: one revert of a deal at a time") {
    Harness h({.extra = R"(
  [tenant.rules.card_filled]
  required = { "Счёт выставлен" = ["Сумма"] }
  actions = ["note", "revert"])",
               .start = 3min});
    // Skips "Квалификация" into "Счёт выставлен" without the amount: both rules want a revert.
    h.Post(json::array({Deal("e1", "8", "Новая", 0min), Task("e2", "t8", "8", At(5h), false, 0min),
                        Deal("e3", "8", "Счёт выставлен", 2min)}));
    auto opened = h.OpenedRules();
    std::sort(opened.begin(), opened.end());
    REQUIRE(opened == Names{"card_filled", "stage_order"});
    CHECK(h.Outbox("note").size() == 2);
    const auto reverts = h.Outbox("revert");
    REQUIRE(reverts.size() == 1);
    CHECK(json::parse(reverts[0].payload)["violation"]["rule"] == "stage_order");

    SUBCASE("nor while that one is on its way") {
        // The manager moves it back to the start and skips again, before the revert arrives.
        h.clock.Set(kMonday + 6min);
        h.Post(json::array({Deal("e4", "8", "Новая", 4min), Deal("e5", "8", "Оплачено", 5min)}));
        CHECK(h.OpenedRules().size() == 3);  // the new skip (card_filled's stays open)
        CHECK(h.Outbox("revert").size() == 1);
    }
}

TEST_CASE("Acknowledging a violation cancels its undelivered actions and their echoes") {
    Harness h({.start = 3min});
    SkipToPaid(h);
    REQUIRE(h.opened.size() == 1);
    const std::int64_t id = h.opened[0].id;
    REQUIRE(h.Outbox().size() == 2);

    REQUIRE(h.engine->Acknowledge(id));
    for (const auto& item : h.Outbox()) {
        CAPTURE(item.kind);
        CHECK(item.status == fg::storage::OutboxStatus::kCancelled);
        CHECK(item.last_error == "cancelled: the violation was acknowledged");
    }
    auto db = h.engine->OpenReader();
    REQUIRE(db);
    CHECK(fg::storage::DueOutbox(**db, kMonday + 1000h, 100).empty());
    const fg::storage::OutboxStats stats = fg::storage::GetOutboxStats(**db);
    CHECK(stats.pending == 0);
    CHECK(stats.cancelled == 2);

    // The revert will not come: the manager's own move to that stage is the manager's.
    h.clock.Set(kMonday + 10min);
    h.Post(json::array({Deal("e5", "7", "Счёт выставлен", 10min, kPaid)}));
    CHECK_FALSE(h.Snapshot("7").history.back().own);
    CHECK(h.OpenedRules() == Names{"stage_order", "actual_stage"});
}

TEST_CASE("Acknowledging: a retrying note is not sent again; one in flight is sent once") {
    std::mutex acknowledged_mutex;  // before the harness: its outbox thread uses them
    std::vector<bool> acknowledged;
    Harness h({.mode = "warn",
               .stage_order_actions = R"(["note", "notify"])",
               .start = 3min,
               .deliver = true});
    REQUIRE(h.sink != nullptr);
    // The first note fails (retry in an hour); while the notify is being sent, the head of sales
    // acknowledges the violation.
    h.sink->SetAnswer([&](const fg::outbox::Action& action) {
        fg::outbox::DeliveryResult result{
            .status = fg::outbox::DeliveryStatus::kDelivered, .retry_after = {}, .error = {}};
        if (action.kind() == fg::outbox::ActionKind::kNote && action.attempt == 1 &&
            action.body.deal == "7") {
            result.status = fg::outbox::DeliveryStatus::kRetry;
            result.retry_after = 1h;
            result.error = "HTTP 503";
        }
        if (action.kind() == fg::outbox::ActionKind::kNotify && action.body.deal == "7") {
            const bool ok = h.engine->Acknowledge(action.body.violation.id).has_value();
            std::lock_guard lock(acknowledged_mutex);
            acknowledged.push_back(ok);
        }
        return result;
    });
    SkipToPaid(h);
    REQUIRE(h.opened.size() == 1);
    const auto planned = h.Outbox();
    REQUIRE(planned.size() == 2);
    REQUIRE(h.sink->WaitFor(planned[1].idempotency_key));  // the notify, sent after the note
    {
        std::lock_guard lock(acknowledged_mutex);
        CHECK(acknowledged == std::vector<bool>{true});
    }

    // An hour and more later another deal's actions go out. The cancelled note would be due
    // before them, so had it still been pending it would have been sent first.
    h.clock.Set(kMonday + 2h + 2min);
    h.Post(json::array({Deal("f1", "9", "Новая", 2h), Deal("f2", "9", "Оплачено", 2h + 1min)}));
    const auto later = h.Outbox();
    REQUIRE(later.size() == 4);
    REQUIRE(h.sink->WaitFor(later[3].idempotency_key));

    int note_sends = 0;
    int notify_sends = 0;
    for (const auto& action : h.sink->Sent()) {
        note_sends += action.idempotency_key() == planned[0].idempotency_key ? 1 : 0;
        notify_sends += action.idempotency_key() == planned[1].idempotency_key ? 1 : 0;
    }
    CHECK(note_sends == 1);    // the failed attempt only
    CHECK(notify_sends == 1);  // in flight at the acknowledgement: completed, never resent
    const auto items = h.Outbox();
    CHECK(items[0].status == fg::storage::OutboxStatus::kCancelled);
    CHECK(items[0].attempts == 1);
    CHECK(items[1].status == fg::storage::OutboxStatus::kDone);
    CHECK(items[1].last_error.starts_with("delivered while being cancelled"));
    h.engine->Stop();
}

}  // namespace interplay_test_file
