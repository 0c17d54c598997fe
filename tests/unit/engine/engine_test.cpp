// The engine over a real SQLite file: inbox -> mirror -> rules -> violations -> outbox.
#include "src/engine/engine.hpp"

#include <atomic>
#include <thread>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "adapters/generic/decoder.hpp"
#include "src/app/adapters.hpp"
#include "src/crm/connector.hpp"
#include "src/engine/messages.hpp"
#include "src/engine/schedule.hpp"
#include "tests/support/process.hpp"

// Named, not anonymous: the test files are compiled together (FG_UNITY).
namespace engine_test_file {

using nlohmann::json;
using namespace std::chrono_literals;

const fg::Timestamp kMonday = *fg::ParseIso8601("2026-11-02T09:00:00+03:00");

std::string At(fg::Duration offset) { return fg::FormatIso8601(kMonday + offset, "Europe/Moscow"); }

std::string ConfigText(const std::string& db, const std::string& mode,
                       const std::string& extra = "") {
    return fmt::format(R"(
[storage]
path = "{}"
[[tenant]]
id = "acme"
secret = "s"
mode = "{}"
  [[tenant.pipeline]]
  id = "main"
  stages = ["Новая", "Квалификация", "КП отправлено", "Успешно"]
  won = ["Успешно"]
  lost = ["Отказ"]
  [tenant.rules.stage_order]
  actions = ["note", "revert", "notify"]
  [tenant.rules.deal_without_task]
  grace = "15m"
  actions = ["task"]
  [tenant.rules.overdue_task]
  escalate_after = "1h"
  actions = ["note"]
{}
)",
                       db, mode, extra);
}

json Deal(const std::string& event_id, const std::string& deal, const std::string& stage,
          fg::Duration at) {
    return {{"id", event_id},
            {"type", "deal.upserted"},
            {"at", At(at)},
            {"deal",
             {{"id", deal},
              {"title", "ООО «" + deal + "»"},
              {"pipeline", "main"},
              {"stage", stage},
              {"responsible", "ivanova"}}}};
}

json Task(const std::string& event_id, const std::string& task, const std::string& deal,
          fg::Duration due, bool done, fg::Duration at) {
    return {{"id", event_id},
            {"type", "task.upserted"},
            {"at", At(at)},
            {"task",
             {{"id", task},
              {"deal", deal},
              {"due", At(due)},
              {"done", done},
              {"responsible", "ivanova"},
              {"text", "Позвонить"}}}};
}

// A sink that accepts everything (the engine only enqueues for tenants that have one).
class NullSink final : public fg::outbox::ActionSink {
public:
    fg::outbox::DeliveryResult Deliver(const fg::outbox::Action&) override {
        return {.status = fg::outbox::DeliveryStatus::kDelivered, .retry_after = {}, .error = {}};
    }
};

struct Harness {
    explicit Harness(const std::string& mode, const std::string& extra = "",
                     fg::Duration start = fg::Duration{0})
        : clock(kMonday + start) {
        auto loaded =
            fg::config::LoadConfigFromString(ConfigText(dir.File("fg.db"), mode, extra),
                                             "test.toml", fg::app::CrmSchemas(), dir.path());
        for (const auto& problem : loaded.problems) {
            FAIL(fg::config::FormatProblem(problem));
        }
        config = std::move(loaded.config);
        fg::engine::EngineOptions options;
        options.config = &config;
        options.clock = &clock;
        auto decoder = std::make_unique<fg::adapters::generic::GenericDecoder>();
        options.decoders.emplace("generic", std::move(decoder));
        options.make_sink = [](const fg::config::TenantConfig&) {
            return std::make_unique<NullSink>();
        };
        options.timers = false;
        options.deliver = false;
        options.observer.on_violation = [this](const std::string&,
                                               const fg::engine::ViolationChange& change) {
            (change.opened ? opened : resolved).push_back(change.violation);
        };
        engine = std::make_unique<fg::engine::Engine>(std::move(options));
        REQUIRE(engine->Start());
    }

    void Post(const json& events) {
        auto stored =
            engine->Intake("acme", "generic", json{{"events", events}}.dump(), clock.Now()).get();
        REQUIRE(stored);
        REQUIRE(engine->Drain());
    }

    // As the HTTP intake does it: decoded once, the events handed over with the body.
    void PostDecoded(const json& events) {
        const fg::crm::WebhookRequest webhook{.tenant = "acme",
                                              .content_type = {},
                                              .body = json{{"events", events}}.dump(),
                                              .received_at = clock.Now()};
        auto decoded = engine->Decoder("generic").ValidateAndDecode(webhook);
        REQUIRE(decoded);
        REQUIRE(decoded->has_value());
        auto stored = engine
                          ->Intake("acme", "generic", webhook.body, webhook.received_at,
                                   std::move(decoded).value())
                          .get();
        REQUIRE(stored);
        REQUIRE(engine->Drain());
    }

    std::string Mirror(const std::string& deal) {
        auto db = engine->OpenReader();
        REQUIRE(db);
        const auto snapshot = fg::storage::LoadSnapshot(**db, "acme", deal);
        REQUIRE(snapshot);
        std::string out = fmt::format("{} {} {}", snapshot->deal.title, snapshot->deal.stage,
                                      fg::ToEpoch(snapshot->deal.updated_at));
        for (const auto& change : snapshot->history) {
            out += fmt::format(" {}@{}", change.stage, fg::ToEpoch(change.at));
        }
        for (const auto& task : snapshot->tasks) {
            out += fmt::format(" task {} done={}", task.id, task.done);
        }
        return out;
    }

    std::vector<fg::storage::OutboxItem> Outbox() {
        auto db = engine->OpenReader();
        REQUIRE(db);
        return fg::storage::DueOutbox(**db, clock.Now() + 1000h, 1000);
    }

    std::vector<fg::storage::Violation> Violations(fg::storage::ViolationFilter::State state) {
        auto db = engine->OpenReader();
        REQUIRE(db);
        fg::storage::ViolationFilter filter;
        filter.state = state;
        return fg::storage::ListViolations(**db, filter);
    }

    fg::testing::TempDir dir;
    fg::ManualClock clock;
    fg::config::AppConfig config;
    std::unique_ptr<fg::engine::Engine> engine;
    std::vector<fg::storage::Violation> opened;
    std::vector<fg::storage::Violation> resolved;
};

std::vector<std::string> Kinds(const std::vector<fg::storage::OutboxItem>& items) {
    std::vector<std::string> kinds;
    for (const auto& item : items) {
        kinds.push_back(item.kind);
    }
    std::sort(kinds.begin(), kinds.end());
    return kinds;
}

TEST_CASE("Engine: a grace period expiring with no event opens the violation on time") {
    Harness h("warn");
    h.Post(json::array({Deal("e1", "101", "Новая", 0min)}));
    CHECK(h.opened.empty());
    h.clock.Advance(14min);
    REQUIRE(h.engine->Sweep());
    CHECK(h.opened.empty());
    h.clock.Advance(2min);
    REQUIRE(h.engine->Sweep());
    REQUIRE(h.opened.size() == 1);
    CHECK(h.opened[0].rule == "deal_without_task");
    CHECK(h.opened[0].opened_at == kMonday + 15min);
    CHECK(Kinds(h.Outbox()) == std::vector<std::string>{"task"});

    SUBCASE("a task clears it, and a second sweep plans nothing new") {
        h.Post(json::array({Task("e2", "t1", "101", 3h, false, 16min)}));
        REQUIRE(h.resolved.size() == 1);
        CHECK(h.resolved[0].resolution == "cleared");
        REQUIRE(h.engine->Sweep());
        CHECK(h.Outbox().size() == 1);
    }
    SUBCASE("closing the deal resolves it as deal_closed") {
        h.Post(json::array({Deal("e2", "101", "Отказ", 16min)}));
        REQUIRE(h.resolved.size() == 1);
        CHECK(h.resolved[0].resolution == "deal_closed");
    }
    SUBCASE("deleting the deal resolves it as deal_deleted") {
        h.Post(json::array({{{"id", "e2"},
                             {"type", "deal.deleted"},
                             {"at", At(16min)},
                             {"deal", {{"id", "101"}}}}}));
        REQUIRE(h.resolved.size() == 1);
        CHECK(h.resolved[0].resolution == "deal_deleted");
    }
}

TEST_CASE("Engine: modes decide which actions are planned") {
    const json skip =
        json::array({Deal("e1", "7", "Новая", 0min), Task("e2", "t7", "7", 5h, false, 1min),
                     Deal("e3", "7", "КП отправлено", 2min)});
    SUBCASE("enforce: note, revert and notify") {
        Harness h("enforce", "", 5min);
        h.Post(skip);
        REQUIRE(Kinds(h.Outbox()) == std::vector<std::string>{"note", "notify", "revert"});
        const json payload = json::parse(h.Outbox()[0].payload);
        CHECK(payload["violation"]["rule"] == "stage_order");
        for (const auto& item : h.Outbox()) {
            if (item.kind == "revert") {
                CHECK(json::parse(item.payload)["revert"]["to"] == "Квалификация");
            }
        }
    }
    SUBCASE("warn: everything but the revert") {
        Harness h("warn", "", 5min);
        h.Post(skip);
        CHECK(Kinds(h.Outbox()) == std::vector<std::string>{"note", "notify"});
    }
    SUBCASE("observe: records the violation, writes nothing back") {
        Harness h("observe", "", 5min);
        h.Post(skip);
        CHECK(h.opened.size() == 1);
        CHECK(h.Outbox().empty());
    }
}

TEST_CASE("Engine: duplicates and redelivered bodies change nothing") {
    Harness h("enforce", "", 5min);
    const json events =
        json::array({Deal("e1", "7", "Новая", 0min), Deal("e2", "7", "КП отправлено", 2min)});
    h.Post(events);
    h.Post(events);
    h.Post(json::array({events[1]}));
    CHECK(h.opened.size() == 1);
    CHECK(h.Violations(fg::storage::ViolationFilter::State::kAll).size() == 1);
    CHECK(h.Outbox().size() == 3);  // note, revert, notify: planned once
}

TEST_CASE("Engine: out-of-order delivery is judged in CRM time") {
    Harness h("warn", "", 11min);
    // The move to "КП отправлено" arrives before the move through "Квалификация".
    h.Post(json::array({Deal("e1", "8", "Новая", 0min), Deal("e3", "8", "КП отправлено", 10min)}));
    CHECK(h.opened.size() == 1);
    h.Post(json::array({Deal("e2", "8", "Квалификация", 5min)}));
    // The late event fills the gap: the skip never happened.
    const auto open = h.Violations(fg::storage::ViolationFilter::State::kOpen);
    bool skip_open = false;
    for (const auto& v : open) {
        skip_open = skip_open || v.rule == "stage_order";
    }
    CHECK_FALSE(skip_open);
}

TEST_CASE("Engine: acknowledged violations stay settled; stage_order survives closing") {
    Harness h("warn", "", 5min);
    h.Post(json::array({Deal("e1", "9", "Новая", 0min), Task("e2", "t9", "9", 5h, false, 1min),
                        Deal("e3", "9", "КП отправлено", 2min)}));
    REQUIRE(h.opened.size() == 1);
    const std::int64_t id = h.opened[0].id;
    h.Post(json::array({Deal("e4", "9", "Успешно", 3min)}));
    CHECK(h.resolved.empty());  // a deal won by skipping still counts
    REQUIRE(h.engine->Acknowledge(id));
    CHECK(h.engine->Acknowledge(id).error().code == fg::ErrorCode::kConflict);
    CHECK(h.engine->Acknowledge(424242).error().code == fg::ErrorCode::kNotFound);
    REQUIRE(h.engine->JudgeAll(""));
    CHECK(h.opened.size() == 1);  // not reopened
}

TEST_CASE("Engine: overdue tasks escalate after escalate_after, once") {
    Harness h("warn", "", 2min);
    h.Post(
        json::array({Deal("e1", "5", "Новая", 0min), Task("e2", "t5", "5", 30min, false, 1min)}));
    h.clock.Advance(31min);
    REQUIRE(h.engine->Sweep());
    REQUIRE(h.opened.size() == 1);
    CHECK(h.opened[0].rule == "overdue_task");
    h.clock.Advance(1h);
    REQUIRE(h.engine->Sweep());
    REQUIRE(h.engine->Sweep());
    const auto kinds = Kinds(h.Outbox());
    CHECK(std::count(kinds.begin(), kinds.end(), "escalate") == 1);
    CHECK(std::count(kinds.begin(), kinds.end(), "note") == 1);
}

TEST_CASE("Engine: templates can be overridden per tenant") {
    Harness h("warn",
              "  [tenant.templates]\n  \"stage_order.message\" = \"Skip in {deal}: {skipped}\"\n",
              5min);
    h.Post(json::array({Deal("e1", "7", "Новая", 0min), Deal("e2", "7", "КП отправлено", 2min)}));
    REQUIRE_FALSE(h.opened.empty());
    bool found = false;
    for (const auto& v : h.opened) {
        if (v.rule == "stage_order") {
            CHECK(v.message == "Skip in ООО «7»: Квалификация");
            found = true;
        }
    }
    CHECK(found);
}

TEST_CASE("RenderTemplate fills placeholders and keeps unknown ones visible") {
    const json vars = {{"deal", "Ромашка"}, {"skipped", {"A", "B"}}, {"n", 3}};
    CHECK(fg::engine::RenderTemplate("{deal}: {skipped} ({n}) {nope}", vars) ==
          "Ромашка: A, B (3) {nope}");
    CHECK(fg::engine::RenderTemplate("{unclosed", vars) == "{unclosed");
}

TEST_CASE("NextLocalTime schedules the nightly run in the tenant's zone") {
    const auto next = fg::engine::NextLocalTime(kMonday, "Europe/Moscow", "03:00");
    REQUIRE(next);
    CHECK(fg::FormatIso8601(*next, "Europe/Moscow") == "2026-11-03T03:00:00+03:00");
    const auto same_day = fg::engine::NextLocalTime(kMonday, "Asia/Vladivostok", "23:30");
    REQUIRE(same_day);
    CHECK(fg::FormatIso8601(*same_day, "Asia/Vladivostok") == "2026-11-02T23:30:00+10:00");
    CHECK_FALSE(fg::engine::NextLocalTime(kMonday, "Europe/Moscow", "3am"));
}

TEST_CASE("Engine: events handed over with the body are applied as the stored body would be") {
    Harness decoding("enforce", "", 5min);
    Harness handed_over("enforce", "", 5min);
    const json first =
        json::array({Deal("e1", "7", "Новая", 0min), Task("e2", "t7", "7", 1h, false, 1min),
                     Deal("e3", "7", "КП отправлено", 2min)});
    const json second = json::array({Deal("e4", "7", "Квалификация", 1min), first[0]});
    decoding.Post(first);
    decoding.Post(second);
    handed_over.PostDecoded(first);
    handed_over.PostDecoded(second);
    handed_over.PostDecoded(second);  // a redelivered body: a duplicate, nothing kept for it
    CHECK(handed_over.Mirror("7") == decoding.Mirror("7"));
    CHECK(handed_over.opened.size() == decoding.opened.size());
    CHECK(handed_over.resolved.size() == decoding.resolved.size());
    CHECK(Kinds(handed_over.Outbox()) == Kinds(decoding.Outbox()));
}

TEST_CASE("DecodedEvents keeps events up to its bound and hands each item's over once") {
    fg::engine::DecodedEvents decoded(3);
    auto events = [](int n) {
        return fg::crm::Decoded{
            .events = std::vector<fg::domain::Event>(static_cast<std::size_t>(n)),
            .failed = {},
            .ignored = {}};
    };
    decoded.Keep(1, events(2));
    decoded.Keep(2, events(2));  // over the bound: its body will be decoded
    decoded.Keep(3, events(1));
    CHECK(decoded.events() == 3);
    CHECK(decoded.Take(1).value().events.size() == 2);
    CHECK_FALSE(decoded.Take(1).has_value());
    CHECK_FALSE(decoded.Take(2).has_value());
    CHECK(decoded.Take(3).value().events.size() == 1);
    CHECK(decoded.events() == 0);
}

TEST_CASE("Writer: webhooks are committed while background work always has more to do") {
    fg::testing::TempDir dir;
    auto db = fg::storage::OpenDatabase(dir.File("fg.db"));
    REQUIRE(db);
    fg::engine::Writer writer(std::move(db).value());
    std::atomic<bool> running{false};
    writer.Start([&](fg::storage::Db&, const fg::engine::YieldCheck& yield) {
        // A backlog that never ends, processed in small steps until the writer says yield.
        running = true;
        while (!yield()) {
            std::this_thread::sleep_for(100us);
        }
        return true;
    });
    while (!running) {
        std::this_thread::sleep_for(1ms);
    }
    fg::storage::InboxItem item;
    item.tenant = "acme";
    item.crm = "generic";
    item.dedupe_key = "k1";
    item.body = "{}";
    std::int64_t stored_seq = 0;
    auto stored = writer.AppendInbox(item, [&](std::int64_t seq) { stored_seq = seq; });
    const fg::Result<bool> result = stored.get();
    REQUIRE(result);
    CHECK(*result);
    CHECK(stored_seq > 0);  // on_stored ran before the future was ready
    auto duplicate =
        writer.AppendInbox(item, [](std::int64_t) { FAIL("a duplicate is not stored"); });
    const fg::Result<bool> again = duplicate.get();
    REQUIRE(again);
    CHECK_FALSE(*again);
    writer.Stop();
}

// amoCRM-like: a webhook naming a stage the account's directory does not have yet cannot be
// decoded (kUnavailable) until the directory is fetched again.
struct DirectoryGate {
    std::atomic<bool> fetched{false};
    std::atomic<int> fetches{0};
    std::atomic<bool> fetch_brings_it{true};  // false: the account's directory lacks it too
};

class GatedDecoder final : public fg::crm::WebhookDecoder {
public:
    explicit GatedDecoder(DirectoryGate& gate) : gate_(gate) {}
    std::string_view Name() const override { return "generic"; }
    fg::Result<void> Validate(std::string_view body) const override {
        return inner_.Validate(body);
    }
    fg::Result<std::vector<fg::domain::Event>> Decode(
        const fg::crm::WebhookRequest& request) const override {
        if (!gate_.fetched) {
            return fg::MakeError(fg::ErrorCode::kUnavailable, "stage «Квалификация» is unknown");
        }
        return inner_.Decode(request);
    }
    std::string DedupeKey(std::string_view body) const override { return inner_.DedupeKey(body); }

private:
    DirectoryGate& gate_;
    fg::adapters::generic::GenericDecoder inner_;
};

class DirectoryConnector final : public fg::crm::Connector {
public:
    explicit DirectoryConnector(DirectoryGate& gate) : gate_(gate) {}
    fg::Result<fg::crm::Directory> FetchDirectory() override {
        ++gate_.fetches;
        gate_.fetched = gate_.fetch_brings_it.load();
        using fg::domain::StageKind;
        return fg::crm::Directory{
            .pipelines = {{.id = "main",
                           .stages = {{.name = "Новая", .kind = StageKind::kOpen},
                                      {.name = "Квалификация", .kind = StageKind::kOpen},
                                      {.name = "Успешно", .kind = StageKind::kWon}}}},
            .users = {{"ivanova", "Мария Иванова"}}};
    }
    fg::Result<fg::crm::PullPage> Pull(const fg::crm::PullRequest&) override {
        return fg::crm::PullPage{.events = {}, .cursor = {}, .done = true, .progress = {}};
    }
    fg::Result<fg::crm::Connection> Connect(const std::string&) override {
        return fg::crm::Connection{};
    }
    fg::Result<void> Disconnect(const std::string&) override { return fg::Ok{}; }
    fg::outbox::ActionSink& Sink() override { return sink_; }
    std::string Blocked() const override { return {}; }

private:
    DirectoryGate& gate_;
    NullSink sink_;
};

// A started engine in observe mode whose generic decoder and directory connector share `gate`;
// no timers, no delivery.
struct GatedEngine {
    fg::testing::TempDir dir;
    fg::ManualClock clock{kMonday};
    fg::config::LoadResult loaded = fg::config::LoadConfigFromString(
        ConfigText(dir.File("fg.db"), "observe"), "test.toml", fg::app::CrmSchemas(), dir.path());
    DirectoryGate gate;
    std::unique_ptr<fg::engine::Engine> engine;

    GatedEngine() {
        REQUIRE(loaded.problems.empty());
        fg::engine::EngineOptions options;
        options.config = &loaded.config;
        options.clock = &clock;
        options.decoders.emplace("generic", std::make_unique<GatedDecoder>(gate));
        options.make_connector = [this](const fg::config::TenantConfig&) {
            return std::make_unique<DirectoryConnector>(gate);
        };
        options.timers = false;
        options.deliver = false;
        engine = std::make_unique<fg::engine::Engine>(std::move(options));
        REQUIRE(engine->Start());
    }
};

TEST_CASE("Engine: a webhook waiting for the CRM directory is kept, then applied after a fetch") {
    GatedEngine gated;
    fg::engine::Engine& engine = *gated.engine;
    DirectoryGate& gate = gated.gate;

    const json events = json::array({Deal("e1", "d1", "Квалификация", 0min)});
    REQUIRE(
        engine.Intake("acme", "generic", json{{"events", events}}.dump(), gated.clock.Now()).get());
    REQUIRE(engine.Drain());
    auto db = engine.OpenReader();
    REQUIRE(db);
    CHECK_FALSE(fg::storage::LoadSnapshot(**db, "acme", "d1").has_value());
    CHECK(fg::storage::GetInboxStats(**db).pending == 0);  // parked, not retried in a loop

    REQUIRE(engine.RefreshDirectory("acme"));
    CHECK(gate.fetches == 1);
    REQUIRE(engine.Drain());
    const auto snapshot = fg::storage::LoadSnapshot(**db, "acme", "d1");
    REQUIRE(snapshot.has_value());
    CHECK(snapshot->deal.stage == "Квалификация");
    CHECK(fg::storage::GetInboxStats(**db).pending == 0);
    engine.Stop();
}

TEST_CASE(
    "Engine: a body the intake could not decode for want of the directory is parked, then "
    "decoded from its stored body") {
    // The HTTP intake's path: ValidateAndDecode finds the body valid but its events not to be had
    // yet, so none are handed over; after the fetch the parked item is decoded from its body, next
    // to a later body whose events were handed over.
    GatedEngine gated;
    fg::engine::Engine& engine = *gated.engine;
    auto intake = [&](const json& events, bool decodable) {
        const fg::crm::WebhookRequest webhook{.tenant = "acme",
                                              .content_type = {},
                                              .body = json{{"events", events}}.dump(),
                                              .received_at = gated.clock.Now()};
        auto decoded = engine.Decoder("generic").ValidateAndDecode(webhook);
        REQUIRE(decoded);
        CHECK(decoded->has_value() == decodable);
        REQUIRE(engine
                    .Intake("acme", "generic", webhook.body, webhook.received_at,
                            std::move(decoded).value())
                    .get());
        REQUIRE(engine.Drain());
    };

    intake(json::array({Deal("e1", "d1", "Квалификация", 0min)}), false);
    auto db = engine.OpenReader();
    REQUIRE(db);
    CHECK_FALSE(fg::storage::LoadSnapshot(**db, "acme", "d1").has_value());
    CHECK(fg::storage::GetInboxStats(**db).pending == 0);  // parked

    REQUIRE(engine.RefreshDirectory("acme"));  // requeues it
    intake(json::array({Deal("e2", "d1", "Успешно", 1min)}), true);
    const auto snapshot = fg::storage::LoadSnapshot(**db, "acme", "d1");
    REQUIRE(snapshot.has_value());
    CHECK(snapshot->deal.stage == "Успешно");
    REQUIRE(snapshot->history.size() == 2);
    CHECK(snapshot->history[0].stage == "Квалификация");
    CHECK(snapshot->history[1].stage == "Успешно");
    CHECK(fg::storage::GetInboxStats(**db).pending == 0);
    engine.Stop();
}

// A started engine in observe mode over `decoder` (as the generic one); no timers, no delivery.
struct DecoderEngine {
    fg::testing::TempDir dir;
    fg::ManualClock clock{kMonday};
    fg::config::LoadResult loaded = fg::config::LoadConfigFromString(
        ConfigText(dir.File("fg.db"), "observe"), "test.toml", fg::app::CrmSchemas(), dir.path());
    std::unique_ptr<fg::engine::Engine> engine;

    explicit DecoderEngine(std::unique_ptr<fg::crm::WebhookDecoder> decoder) {
        REQUIRE(loaded.problems.empty());
        fg::engine::EngineOptions options;
        options.config = &loaded.config;
        options.clock = &clock;
        options.decoders.emplace("generic", std::move(decoder));
        options.timers = false;
        options.deliver = false;
        engine = std::make_unique<fg::engine::Engine>(std::move(options));
        REQUIRE(engine->Start());
    }
};

// The generic decoder, except that a body naming "boom" makes Decode throw (a decoder bug).
class ThrowingDecoder final : public fg::crm::WebhookDecoder {
public:
    std::string_view Name() const override { return "generic"; }
    fg::Result<void> Validate(std::string_view body) const override {
        return inner_.Validate(body);
    }
    fg::Result<std::vector<fg::domain::Event>> Decode(
        const fg::crm::WebhookRequest& request) const override {
        if (request.body.find("boom") != std::string::npos) {
            throw std::runtime_error("unexpected element");
        }
        return inner_.Decode(request);
    }
    std::string DedupeKey(std::string_view body) const override { return inner_.DedupeKey(body); }

private:
    fg::adapters::generic::GenericDecoder inner_;
};

TEST_CASE("Engine: a webhook its decoder throws on is kept with the reason; the next ones apply") {
    DecoderEngine started(std::make_unique<ThrowingDecoder>());
    fg::engine::Engine& engine = *started.engine;
    fg::ManualClock& clock = started.clock;

    for (const json& event : {Deal("e1", "d1", "Новая", 0min), Deal("e2", "boom", "Новая", 1min),
                              Deal("e3", "d2", "Новая", 2min)}) {
        const std::string body = json{{"events", json::array({event})}}.dump();
        REQUIRE(engine.Intake("acme", "generic", body, clock.Now()).get());
    }
    REQUIRE(engine.Drain());

    auto db = engine.OpenReader();
    REQUIRE(db);
    CHECK(fg::storage::LoadSnapshot(**db, "acme", "d1").has_value());
    CHECK(fg::storage::LoadSnapshot(**db, "acme", "d2").has_value());
    CHECK_FALSE(fg::storage::LoadSnapshot(**db, "acme", "boom").has_value());
    CHECK(fg::storage::GetInboxStats(**db).pending == 0);
    SQLite::Statement failed(
        (*db)->sql(), "SELECT error, body FROM inbox WHERE error IS NOT NULL AND error != ''");
    REQUIRE(failed.executeStep());
    CHECK(failed.getColumn(0).getString() == "the generic decoder failed: unexpected element");
    CHECK(failed.getColumn(1).getString().find("boom") != std::string::npos);  // kept
    CHECK_FALSE(failed.executeStep());
    engine.Stop();
}

TEST_CASE("Engine: nothing waits for the directory for ever") {
    GatedEngine gated;
    fg::engine::Engine& engine = *gated.engine;
    DirectoryGate& gate = gated.gate;
    const auto post = [&](const std::string& event_id, const std::string& deal) {
        const json events = json::array({Deal(event_id, deal, "Квалификация", 0min)});
        REQUIRE(engine.Intake("acme", "generic", json{{"events", events}}.dump(), gated.clock.Now())
                    .get());
        REQUIRE(engine.Drain());
    };
    const auto items = [&](fg::storage::InboxState state) {
        auto db = engine.OpenReader();
        REQUIRE(db);
        return fg::storage::ListInbox(**db, {.tenant = "acme", .state = state, .limit = 100});
    };

    CHECK_FALSE(engine.Ready().ready);
    CHECK(engine.Ready().missing == std::vector<std::string>{"acme"});
    post("e1", "d1");
    REQUIRE(items(fg::storage::InboxState::kWaiting).size() == 1);
    CHECK(items(fg::storage::InboxState::kWaiting)[0].reason == "directory");
    CHECK(items(fg::storage::InboxState::kWaiting)[0].waiting_since == gated.clock.Now());

    SUBCASE("a refreshed directory that still lacks the stage fails the item, with the reason") {
        gate.fetch_brings_it = false;
        gated.clock.Advance(1min);
        REQUIRE(engine.RefreshDirectory("acme"));
        CHECK(engine.Ready().ready);  // the directory loaded; it just lacks that stage
        REQUIRE(engine.Drain());
        CHECK(items(fg::storage::InboxState::kWaiting).empty());
        const auto failed = items(fg::storage::InboxState::kFailed);
        REQUIRE(failed.size() == 1);
        CHECK(failed[0].reason == "directory");
        CHECK(
            failed[0].error.starts_with("stage «Квалификация» is unknown; the CRM directory "
                                        "loaded at "));

        SUBCASE("`inbox retry` puts it back; once the directory has it, it applies") {
            gate.fetch_brings_it = true;
            REQUIRE(engine.RefreshDirectory("acme"));
            auto writer_db = fg::storage::OpenDatabase(gated.loaded.config.storage.path);
            REQUIRE(writer_db);
            {
                fg::storage::WriteTransaction transaction(**writer_db);
                CHECK(fg::storage::RetryInbox(**writer_db, "acme") == 1);
                transaction.Commit();
            }
            REQUIRE(engine.Drain());
            CHECK(items(fg::storage::InboxState::kFailed).empty());
            auto db = engine.OpenReader();
            REQUIRE(db);
            CHECK(fg::storage::LoadSnapshot(**db, "acme", "d1").has_value());
        }
    }
    SUBCASE("an item parked while a load was already under way waits for the next one") {
        // The load started before the item was parked, so it proves nothing about the item.
        gate.fetch_brings_it = false;
        REQUIRE(engine.RefreshDirectory("acme"));
        gated.clock.Advance(1min);
        post("e2", "d2");
        REQUIRE(items(fg::storage::InboxState::kWaiting).size() == 2);
        // The load started no later than either was parked (the same clock second as the first):
        // both wait on for a newer load.
        CHECK(items(fg::storage::InboxState::kFailed).empty());
    }
    SUBCASE("past the waiting limit the sweep fails it (reason directory_timeout)") {
        gated.clock.Advance(fg::engine::Engine::kWaitingLimit - 1min);
        REQUIRE(engine.Sweep());
        CHECK(items(fg::storage::InboxState::kWaiting).size() == 1);
        gated.clock.Advance(2min);
        REQUIRE(engine.Sweep());
        CHECK(items(fg::storage::InboxState::kWaiting).empty());
        const auto failed = items(fg::storage::InboxState::kFailed);
        REQUIRE(failed.size() == 1);
        CHECK(failed[0].reason == "directory_timeout");
        CHECK(failed[0].error ==
              "waited over 1h for the CRM directory: stage «Квалификация» is unknown");
        CHECK(engine.metrics().Render().find("funnelguard_inbox_processed_total{crm=\"generic\","
                                             "state=\"waiting\"} 1") != std::string::npos);
    }
    engine.Stop();
}

// A CRM-like decoder: a body's elements may fail alone or be about entities the rules do not
// judge. `{"events": [...], "failed": [...], "ignored": {...}}` says which.
class ElementDecoder final : public fg::crm::WebhookDecoder {
public:
    std::string_view Name() const override { return "generic"; }
    fg::Result<void> Validate(std::string_view) const override { return fg::Ok{}; }
    fg::Result<std::vector<fg::domain::Event>> Decode(
        const fg::crm::WebhookRequest& request) const override {
        return inner_.Decode(request);
    }
    fg::Result<fg::crm::Decoded> DecodeElements(
        const fg::crm::WebhookRequest& request) const override {
        const json body = json::parse(request.body);
        fg::crm::Decoded decoded;
        auto events = inner_.Decode({.tenant = request.tenant,
                                     .content_type = {},
                                     .body = json{{"events", body.at("events")}}.dump(),
                                     .received_at = request.received_at});
        REQUIRE(events);
        decoded.events = std::move(events).value();
        decoded.failed = body.value("failed", std::vector<std::string>{});
        decoded.ignored = body.value("ignored", std::map<std::string, int>{});
        return decoded;
    }
    std::string DedupeKey(std::string_view body) const override { return inner_.DedupeKey(body); }

private:
    fg::adapters::generic::GenericDecoder inner_;
};

TEST_CASE("Engine: an element that fails fails alone; what the rules do not judge is ignored") {
    DecoderEngine started(std::make_unique<ElementDecoder>());
    fg::engine::Engine& engine = *started.engine;
    fg::ManualClock& clock = started.clock;
    const auto post = [&](const json& body) {
        REQUIRE(engine.Intake("acme", "generic", body.dump(), clock.Now()).get());
    };
    post({{"events", json::array({Deal("e1", "d1", "Новая", 0min)})},
          {"failed", {"leads[status][1][id]: not a number (\"x\")"}}});
    post({{"events", json::array()}, {"ignored", {{"contacts", 2}, {"unsorted", 1}}}});
    post({{"events", json::array({Deal("e2", "d2", "Новая", 0min)})}});
    REQUIRE(engine.Drain());

    auto db = engine.OpenReader();
    REQUIRE(db);
    CHECK(fg::storage::LoadSnapshot(**db, "acme", "d1").has_value());  // the rest applied
    CHECK(fg::storage::LoadSnapshot(**db, "acme", "d2").has_value());
    const auto failed =
        fg::storage::ListInbox(**db, {.tenant = "", .state = fg::storage::InboxState::kFailed});
    REQUIRE(failed.size() == 1);
    CHECK(failed[0].reason == "bad_element");
    CHECK(failed[0].error ==
          "leads[status][1][id]: not a number (\"x\") (the body's other 1 event(s) were applied)");
    SQLite::Statement states((*db)->sql(), "SELECT state FROM inbox ORDER BY seq");
    std::vector<std::string> seen;
    while (states.executeStep()) {
        seen.push_back(states.getColumn(0).getString());
    }
    CHECK(seen == std::vector<std::string>{"failed", "ignored", "applied"});
    const std::string metrics = engine.metrics().Render();
    CHECK(metrics.find("funnelguard_webhook_elements_failed_total{crm=\"generic\"} 1") !=
          std::string::npos);
    CHECK(metrics.find("funnelguard_webhook_elements_ignored_total{crm=\"generic\",entity="
                       "\"contacts\"} 2") != std::string::npos);
    CHECK(metrics.find("funnelguard_inbox_processed_total{crm=\"generic\",state=\"ignored\"} 1") !=
          std::string::npos);
    const auto counts = fg::storage::UnsettledInboxCounts(**db);
    REQUIRE(counts.size() == 1);
    CHECK(std::get<3>(counts[0]) == 1);
    engine.Stop();
}

TEST_CASE("Engine: a body of many broken elements keeps the first ten reasons and a count") {
    DecoderEngine started(std::make_unique<ElementDecoder>());
    fg::engine::Engine& engine = *started.engine;
    std::vector<std::string> failed;
    for (int i = 0; i < 1000; ++i) {
        failed.push_back(fmt::format("task[delete][{}][id]: not a number", i));
    }
    REQUIRE(engine
                .Intake("acme", "generic",
                        json{{"events", json::array()}, {"failed", failed}}.dump(),
                        started.clock.Now())
                .get());
    REQUIRE(engine.Drain());
    auto db = engine.OpenReader();
    REQUIRE(db);
    const auto listed =
        fg::storage::ListInbox(**db, {.tenant = "", .state = fg::storage::InboxState::kFailed});
    REQUIRE(listed.size() == 1);
    CHECK(listed[0].error.starts_with("task[delete][0][id]: not a number; task[delete][1][id]"));
    CHECK(listed[0].error.ends_with("task[delete][9][id]: not a number; and 990 more element(s)"));
    engine.Stop();
}

}  // namespace engine_test_file
