// The chat path end to end, as the program wires it (app::Adapters): a generic tenant whose
// [tenant.chat] points at a fake Telegram Bot API on loopback with its flood limits enforced.
// A violation opens → its manager gets one message; still open after escalate_after → the head
// and the team's group; the head presses the ack button → acknowledged, the message edited; a
// restart on the same database sends nothing twice. Time is a manual clock; the waits are for
// the engine's and the listener's threads, each with a deadline.
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "adapters/telegram/fake/fake_bot_api.hpp"
#include "src/app/adapters.hpp"
#include "src/app/wiring.hpp"
#include "src/engine/engine.hpp"
#include "src/storage/store.hpp"
#include "tests/support/process.hpp"

namespace fg {
namespace chat_telegram_test_file {

using nlohmann::json;
using namespace std::chrono_literals;
namespace fake = adapters::telegram::fake;

// Monday 2026-11-02 12:00 in Moscow: inside working hours.
const Timestamp kMonday = *ParseIso8601("2026-11-02T12:00:00+03:00");
constexpr std::int64_t kManagerChat = 111;
constexpr std::int64_t kHeadChat = 222;
constexpr std::int64_t kGroupChat = -333;
constexpr auto kDeadline = std::chrono::seconds{15};
// What a CRM user may type into a deal's title, and Telegram's HTML must not take for markup.
const std::string kTitle = "ООО «Ромашка» <R&D> 2 < 3";

bool WaitUntil(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + kDeadline;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds{5});
    }
    return true;
}

std::string Config(const std::string& db_path, const fake::FakeBotApi& telegram) {
    return fmt::format(R"(
[storage]
path = "{}"
[[tenant]]
id = "acme"
crm = "generic"
secret = "acme-hook-secret"
timezone = "Europe/Moscow"
  [[tenant.pipeline]]
  id = "main"
  stages = ["Новая", "Квалификация", "КП отправлено", "Успешно"]
  won = ["Успешно"]
  [tenant.generic]
  deal_url = "https://crm.example.com/deals/{{deal}}"
  [tenant.rules.stage_order]
  actions = ["notify", "escalate"]
  escalate_after = "2h"
  [tenant.rules.deal_without_task]
  enabled = false
  [tenant.rules.actual_stage]
  enabled = false
  [tenant.rules.card_filled]
  enabled = false
  [tenant.rules.overdue_task]
  enabled = false
  [tenant.chat]
  telegram_bot_token = "{}"
  telegram_api_url = "{}"
  digest = "0s"
  cooldown = "0s"
  working_hours = "09:00-19:00"
  morning_summary = ""
  [[tenant.person]]
  crm_user = "ivanova"
  name = "Анна Иванова"
  team = "sales"
  telegram = "{}"
  [[tenant.person]]
  crm_user = "petrov"
  name = "Пётр Петров"
  role = "head"
  team = "sales"
  telegram = "{}"
  [[tenant.team]]
  id = "sales"
  head = "petrov"
  chat = "{}"
)",
                       db_path, telegram.options().token, telegram.Url(), kManagerChat, kHeadChat,
                       kGroupChat);
}

json DealEvent(const std::string& event_id, const std::string& stage, Timestamp at) {
    return {{"id", event_id},
            {"type", "deal.upserted"},
            {"at", FormatIso8601(at, "Europe/Moscow")},
            {"deal",
             {{"id", "101"},
              {"title", kTitle},
              {"pipeline", "main"},
              {"stage", stage},
              {"responsible", "ivanova"}}}};
}

std::string CallbackOf(const fake::SentMessage& message) {
    for (const auto& row : message.buttons) {
        for (const auto& button : row) {
            if (!button.callback_data.empty()) {
                return button.callback_data;
            }
        }
    }
    return {};
}

// One run of the program's engine over the config: its adapters, its notifiers; the timers and
// the delivery are stepped by the test (Sweep, Deliver), the Telegram listener runs on its own.
struct Program {
    Program(const config::AppConfig& config, const Clock& clock) : adapters(config, clock) {
        engine::EngineOptions options = adapters.EngineOptionsFor(clock);
        options.timers = false;
        options.deliver = false;
        options.background = false;
        engine = std::make_unique<engine::Engine>(std::move(options));
        REQUIRE(engine->Start());
    }
    ~Program() { engine->Stop(); }

    void Feed(json events, Timestamp at) {
        const json body{{"events", std::move(events)}};
        REQUIRE(engine->Intake("acme", "generic", body.dump(), at).get());
        REQUIRE(engine->Drain());
    }

    app::Adapters adapters;
    std::unique_ptr<engine::Engine> engine;
};

TEST_CASE("Telegram end to end: notify, escalate, ack by button, restart without repeats") {
    testing::TempDir dir;
    ManualClock clock(kMonday);
    fake::FakeBotOptions fake_options;
    fake_options.clock = &clock;
    fake_options.enforce_limits = true;
    fake_options.max_poll_timeout = std::chrono::seconds{2};
    fake::FakeBotApi telegram(fake_options);
    REQUIRE(telegram.Start());
    telegram.AddPrivateChat(kManagerChat, "Анна");
    telegram.AddPrivateChat(kHeadChat, "Пётр");
    telegram.AddGroup(kGroupChat, "Отдел продаж");

    auto loaded = config::LoadConfigFromString(Config(dir.File("fg.db"), telegram), "fg.toml",
                                               app::ConfigSchemas(), dir.path());
    for (const auto& problem : loaded.problems) {
        FAIL(config::FormatProblem(problem));
    }
    const config::AppConfig config = std::move(loaded.config);

    std::string ack;
    std::int64_t head_message = 0;
    {
        Program program(config, clock);
        // The bot is checked (getMe) and its listener polls.
        REQUIRE(telegram.WaitForCalls("getme", 1, kDeadline));
        REQUIRE(telegram.WaitForPoll(kDeadline));

        // The deal skips a stage: stage_order opens a violation with notify.
        program.Feed(json::array({DealEvent("e1", "Новая", kMonday - 2min),
                                  DealEvent("e2", "КП отправлено", kMonday - 1min)}),
                     clock.Now());
        REQUIRE(program.engine->Deliver());
        REQUIRE(telegram.WaitForMessages(1, kDeadline));
        const auto to_manager = telegram.MessagesTo(kManagerChat);
        REQUIRE(to_manager.size() == 1);
        CHECK(to_manager[0].parse_mode == "HTML");
        // Escaped for Telegram's HTML (the fake refuses a stray `<`), read back as typed.
        CHECK(to_manager[0].text.find("&lt;R&amp;D&gt; 2 &lt; 3") != std::string::npos);
        CHECK(to_manager[0].plain.find(kTitle) != std::string::npos);
        CHECK(telegram.Messages().size() == 1);  // nobody else yet

        // Not yet: a minute short of escalate_after (in working time).
        clock.Advance(2h - 2min);
        REQUIRE(program.engine->Sweep());
        REQUIRE(program.engine->Deliver());
        CHECK(telegram.Messages().size() == 1);

        // escalate_after has passed: the head and the team's group, once each.
        clock.Advance(2min);
        REQUIRE(program.engine->Sweep());
        REQUIRE(program.engine->Deliver());
        REQUIRE(telegram.WaitForMessages(3, kDeadline));
        const auto to_head = telegram.MessagesTo(kHeadChat);
        const auto to_group = telegram.MessagesTo(kGroupChat);
        REQUIRE(to_head.size() == 1);
        REQUIRE(to_group.size() == 1);
        CHECK(to_head[0].plain.find(kTitle) != std::string::npos);
        CHECK(to_group[0].plain.find(kTitle) != std::string::npos);
        CHECK(telegram.MessagesTo(kManagerChat).size() == 1);
        ack = CallbackOf(to_head[0]);
        head_message = to_head[0].message_id;
        REQUIRE(ack.starts_with("ack:"));

        // Sweeping again escalates nothing twice.
        clock.Advance(1min);
        REQUIRE(program.engine->Sweep());
        REQUIRE(program.engine->Deliver());
        CHECK(telegram.Messages().size() == 3);

        // The head presses the button: acknowledged, the press answered, the message edited.
        telegram.InjectPress(kHeadChat, ack, kHeadChat, head_message, "Пётр");
        REQUIRE(telegram.WaitForAnswers(1, kDeadline));
        REQUIRE(telegram.WaitForEdits(1, kDeadline));
        const auto edits = telegram.Edits();
        CHECK(edits[0].chat_id == kHeadChat);
        CHECK(edits[0].message_id == head_message);
        CHECK(edits[0].text.find("Принято: Пётр Петров") != std::string::npos);
        auto reader = program.engine->OpenReader();
        REQUIRE(reader);
        const auto violations = storage::ListViolations(
            **reader, {.tenant = "acme", .state = storage::ViolationFilter::State::kAll});
        REQUIRE(violations.size() == 1);
        CHECK(violations[0].resolution == "acknowledged");
        CHECK(telegram.TooManyRequestsTotal() == 0);
    }

    // A restart on the same database: nothing is sent again, the press is not taken twice.
    const std::size_t sent_before = telegram.Messages().size();
    {
        Program program(config, clock);
        REQUIRE(telegram.WaitForCalls("getme", 2, kDeadline));
        clock.Advance(1min);
        REQUIRE(program.engine->Sweep());
        REQUIRE(program.engine->Deliver());
        CHECK(telegram.Messages().size() == sent_before);
        // An update after the press: once its answer is out, the listener has read past the
        // press (updates come in order), so a press read again would have shown by now.
        telegram.InjectText(999, "/start nonsense", "Someone");
        REQUIRE(telegram.WaitForMessages(sent_before + 1, kDeadline));
        CHECK(telegram.MessagesTo(999).size() == 1);
        CHECK(telegram.Edits().size() == 1);
        CHECK(telegram.Answers().size() == 1);
        REQUIRE(program.engine->Deliver());
    }
    CHECK(telegram.Messages().size() == sent_before + 1);
    CHECK(telegram.TooManyRequestsTotal() == 0);
}

}  // namespace chat_telegram_test_file
}  // namespace fg
