// The chat side of the timers and the outbox worker: a message that must wait for its receiver
// waits exactly as long as it said, without spending attempts; escalations count working time;
// morning summaries go once per working day.
#include <set>

#include <doctest/doctest.h>

#include "src/outbox/action_codec.hpp"
#include "src/storage/store.hpp"
#include "tests/unit/engine/chat_support.hpp"

namespace fg::chat_test {
namespace chat_timers_test_file {

struct OutboxRow {
    std::string key{};
    std::string status{};
    int attempts = 0;
    Timestamp next_attempt_at{};
    std::string payload{};
};

std::vector<OutboxRow> Outbox(testing::TempDir& dir, const std::string& kind) {
    auto db = OpenDb(dir);
    SQLite::Statement query(
        (*db).sql(),
        "SELECT idempotency_key, status, attempts, next_attempt_at, payload FROM outbox "
        "WHERE kind = ?1 ORDER BY idempotency_key");
    query.bind(1, kind);
    std::vector<OutboxRow> rows;
    while (query.executeStep()) {
        rows.push_back({.key = query.getColumn(0).getString(),
                        .status = query.getColumn(1).getString(),
                        .attempts = query.getColumn(2).getInt(),
                        .next_attempt_at = FromEpoch(query.getColumn(3).getInt64()),
                        .payload = query.getColumn(4).getString()});
    }
    return rows;
}

std::vector<std::string> Keys(const std::vector<OutboxRow>& rows) {
    std::vector<std::string> keys;
    for (const OutboxRow& row : rows) {
        keys.push_back(row.key);
    }
    return keys;
}

// Tells the worker to wait `wait` (not sent) while `waiting`, then takes the message.
class WaitingSink final : public outbox::ActionSink {
public:
    WaitingSink(std::atomic<bool>& waiting, std::vector<std::string>& seen)
        : waiting_(waiting), seen_(seen) {}
    outbox::DeliveryResult Deliver(const outbox::Action& action) override {
        seen_.push_back(fmt::format("attempt={} previous_not_sent={}", action.attempt,
                                    action.previous_not_sent));
        if (waiting_) {
            return {.status = outbox::DeliveryStatus::kRetry,
                    .retry_after = 90s,
                    .error = "waits for the chat's pace",
                    .not_sent = true};
        }
        return {.status = outbox::DeliveryStatus::kDelivered,
                .retry_after = std::nullopt,
                .error = {},
                .not_sent = false};
    }

private:
    std::atomic<bool>& waiting_;
    std::vector<std::string>& seen_;
};

const std::string kNotify = "  [tenant.rules.stage_order]\n  actions = [\"notify\"]\n";

TEST_CASE("Not sent, after N: due exactly N later, no attempt spent, never dead for waiting") {
    testing::TempDir dir;
    ManualClock clock(kMonday);
    ChatTenant chat(dir, clock, kNotify);
    std::atomic<bool> waiting{true};
    std::vector<std::string> seen;
    chat.options.make_chat_sink = [&waiting, &seen](notify::ChatSinkParts) {
        return outbox::PacedSink(std::make_unique<WaitingSink>(waiting, seen), 1000);
    };
    engine::Engine engine(std::move(chat.options));
    REQUIRE(engine.Start());
    Feed(engine, clock,
         json::array({DealEvent("e1", "101", "Новая", kMonday - 2min),
                      DealEvent("e2", "101", "КП отправлено", kMonday - 1min)}));
    CHECK(engine.Deliver().value() == 1);
    auto rows = Outbox(dir, "notify");
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].status == "pending");
    CHECK(rows[0].attempts == 0);
    CHECK(rows[0].next_attempt_at == kMonday + 90s);

    clock.Advance(89s);
    CHECK(engine.Deliver().value() == 0);
    clock.Advance(1s);
    CHECK(engine.Deliver().value() == 1);
    CHECK(Outbox(dir, "notify")[0].next_attempt_at == kMonday + 180s);
    // Four days of waiting (a long weekend of working hours) is not four days of failing.
    clock.Advance(std::chrono::hours{96});
    CHECK(engine.Deliver().value() == 1);
    rows = Outbox(dir, "notify");
    CHECK(rows[0].status == "pending");
    CHECK(rows[0].attempts == 0);
    CHECK(rows[0].next_attempt_at == clock.Now() + 90s);

    waiting = false;
    clock.Advance(90s);
    CHECK(engine.Deliver().value() == 1);
    CHECK(Outbox(dir, "notify")[0].status == "done");
    CHECK(Outbox(dir, "notify")[0].attempts == 1);
    REQUIRE(seen.size() == 4);
    CHECK(seen.back() == "attempt=1 previous_not_sent=false");
    engine.Stop();
}

const std::string kEscalate =
    "  [tenant.rules.stage_order]\n  actions = [\"notify\", \"escalate\"]\n"
    "  escalate_after = \"2h\"\n";
// Monday 18:00 in Moscow: one working hour left that day (09:00-19:00).
const Timestamp kEvening = *ParseIso8601("2026-11-02T18:00:00+03:00");

TEST_CASE("escalate_after counts working time with [tenant.chat]; sent once, to the responsible") {
    testing::TempDir dir;
    ManualClock clock(kEvening);
    ChatTenant chat(dir, clock, kEscalate);
    engine::Engine engine(std::move(chat.options));
    REQUIRE(engine.Start());
    Feed(engine, clock,
         json::array({DealEvent("e1", "101", "Новая", kEvening),
                      DealEvent("e2", "101", "КП отправлено", kEvening)}));
    clock.Set(kEvening + 2h);  // 20:00: two hours, one of them working
    REQUIRE(engine.Sweep());
    CHECK(Outbox(dir, "escalate").empty());
    clock.Set(*ParseIso8601("2026-11-03T09:59:00+03:00"));
    REQUIRE(engine.Sweep());
    CHECK(Outbox(dir, "escalate").empty());
    clock.Set(*ParseIso8601("2026-11-03T10:00:00+03:00"));
    REQUIRE(engine.Sweep());
    auto rows = Outbox(dir, "escalate");
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].key == "acme:v1:escalate:testchat");
    const auto body = outbox::DecodeAction(rows[0].payload);
    REQUIRE(body);
    REQUIRE(body->message() != nullptr);
    CHECK(body->message()->to == "ivanova");  // the chat core routes it to her head
    clock.Advance(1h);
    REQUIRE(engine.Sweep());
    CHECK(Outbox(dir, "escalate").size() == 1);
    engine.Stop();
}

TEST_CASE("Without [tenant.chat] escalate_after is wall time") {
    testing::TempDir dir;
    ManualClock clock(kEvening);
    ChatTenant chat(dir, clock, kEscalate);
    chat.config.tenants[0].chat.configured = false;
    engine::Engine engine(std::move(chat.options));
    REQUIRE(engine.Start());
    Feed(engine, clock,
         json::array({DealEvent("e1", "101", "Новая", kEvening),
                      DealEvent("e2", "101", "КП отправлено", kEvening)}));
    clock.Set(kEvening + 2h);
    REQUIRE(engine.Sweep());
    CHECK(Outbox(dir, "escalate").size() == 1);
    engine.Stop();
}

TEST_CASE("A violation resolved before its escalation is due is never escalated") {
    testing::TempDir dir;
    ManualClock clock(kEvening);
    ChatTenant chat(dir, clock, kEscalate);
    engine::Engine engine(std::move(chat.options));
    REQUIRE(engine.Start());
    Feed(engine, clock,
         json::array({DealEvent("e1", "101", "Новая", kEvening),
                      DealEvent("e2", "101", "КП отправлено", kEvening)}));
    clock.Advance(30min);
    const json deleted = {{"id", "e3"},
                          {"type", "deal.deleted"},
                          {"at", FormatIso8601(clock.Now(), "Europe/Moscow")},
                          {"deal", {{"id", "101"}}}};
    Feed(engine, clock, json::array({deleted}));
    clock.Set(*ParseIso8601("2026-11-03T15:00:00+03:00"));
    REQUIRE(engine.Sweep());
    CHECK(Outbox(dir, "escalate").empty());
    engine.Stop();
}

// Violations of ivanova (deal 101) and sidorov (deal 102), opened Monday 12:00.
void TwoViolations(engine::Engine& engine, ManualClock& clock) {
    Feed(engine, clock,
         json::array({DealEvent("e1", "101", "Новая", kMonday - 2min),
                      DealEvent("e2", "101", "КП отправлено", kMonday - 1min),
                      DealEvent("e3", "102", "Новая", kMonday - 2min, "sidorov"),
                      DealEvent("e4", "102", "КП отправлено", kMonday - 1min, "sidorov")}));
}

TEST_CASE("The morning summary: once per working day, a message per person who has something") {
    testing::TempDir dir;
    ManualClock clock(kMonday);
    const Timestamp tuesday_0930 = *ParseIso8601("2026-11-03T09:30:00+03:00");
    {
        ChatTenant chat(dir, clock, kNotify);
        engine::Engine engine(std::move(chat.options));
        REQUIRE(engine.Start());
        TwoViolations(engine, clock);
        // Monday's own summary time had passed at start: today's goes out at the first sweep.
        REQUIRE(engine.Sweep());
        CHECK(Keys(Outbox(dir, "summary")).size() == 3);
        // sidorov's deal is fixed overnight (deleted): he gets none on Tuesday.
        clock.Set(*ParseIso8601("2026-11-02T20:00:00+03:00"));
        const json deleted = {{"id", "e5"},
                              {"type", "deal.deleted"},
                              {"at", FormatIso8601(clock.Now(), "Europe/Moscow")},
                              {"deal", {{"id", "102"}}}};
        Feed(engine, clock, json::array({deleted}));
        clock.Set(tuesday_0930 - 1min);
        REQUIRE(engine.Sweep());
        CHECK(Keys(Outbox(dir, "summary")).size() == 3);
        clock.Set(tuesday_0930);
        REQUIRE(engine.Sweep());
        engine.Stop();
    }
    const auto rows = Outbox(dir, "summary");
    std::vector<std::string> tuesday;
    for (const OutboxRow& row : rows) {
        if (row.key.find("2026-11-03") != std::string::npos) {
            tuesday.push_back(row.key);
        }
    }
    CHECK(tuesday == std::vector<std::string>{"acme:summary:2026-11-03:ivanova:testchat",
                                              "acme:summary:2026-11-03:petrov:testchat"});
    for (const OutboxRow& row : rows) {
        if (row.key != "acme:summary:2026-11-03:petrov:testchat") {
            continue;
        }
        const auto body = outbox::DecodeAction(row.payload);
        REQUIRE(body);
        REQUIRE(body->summary() != nullptr);
        CHECK(body->summary()->to == "petrov");
        CHECK(body->summary()->day == "2026-11-03");
        // The team's open ones: only ivanova's are still open; the day's new ones include
        // sidorov's, fixed since.
        REQUIRE_FALSE(body->summary()->open.empty());
        for (const outbox::SummaryItem& item : body->summary()->open) {
            CHECK(item.responsible == "ivanova");
        }
        std::set<std::string> fresh;
        for (const outbox::SummaryItem& item : body->summary()->fresh) {
            fresh.insert(item.responsible);
        }
        CHECK(fresh == std::set<std::string>{"ivanova", "sidorov"});
    }
    // A restart the same day sends nothing again.
    ChatTenant chat(dir, clock, kNotify);
    engine::Engine engine(std::move(chat.options));
    REQUIRE(engine.Start());
    clock.Set(tuesday_0930 + 3h);
    REQUIRE(engine.Sweep());
    CHECK(Outbox(dir, "summary").size() == rows.size());
    // Saturday is not a working day.
    clock.Set(*ParseIso8601("2026-11-07T09:30:00+03:00"));
    REQUIRE(engine.Sweep());
    CHECK(Outbox(dir, "summary").size() == rows.size());
    engine.Stop();
}

TEST_CASE("No morning summary in observe mode") {
    testing::TempDir dir;
    ManualClock clock(kMonday);
    ChatTenant chat(dir, clock, kNotify);
    chat.config.tenants[0].mode = config::Mode::kObserve;
    engine::Engine engine(std::move(chat.options));
    REQUIRE(engine.Start());
    TwoViolations(engine, clock);
    REQUIRE(engine.Sweep());
    CHECK(Outbox(dir, "summary").empty());
    engine.Stop();
}

}  // namespace chat_timers_test_file
}  // namespace fg::chat_test
