#include "adapters/telegram/listener.hpp"

#include <doctest/doctest.h>

#include "tests/unit/adapters/telegram/fixture.hpp"

namespace fg::adapters::telegram {
namespace {

using testing::RecordingInbound;
using testing::TelegramFixture;

constexpr std::chrono::seconds kDeadline{20};

ChannelOptions QuickOptions() {
    ChannelOptions options;
    options.error_backoff = Duration{1};
    return options;
}

}  // namespace

TEST_CASE("Telegram listener links a person who sends /start CODE, and replies") {
    TelegramFixture f;
    auto channel = f.Channel(QuickOptions());
    RecordingInbound inbound;
    inbound.Answer(notify::Reply{.done = true, .reply = "Готово: чат связан с Иван Петров"});
    channel->Listen(inbound);
    const std::int64_t update = f.fake().InjectText(788018187, "/start K7mQ2x", "Pablo");
    REQUIRE(inbound.WaitForCalls(1, kDeadline));
    const auto calls = inbound.Calls();
    CHECK(calls[0].what == "link");
    CHECK(calls[0].value == "K7mQ2x");
    CHECK(calls[0].from == "788018187");
    CHECK(calls[0].name == "Pablo");
    REQUIRE(f.fake().WaitForMessages(1, kDeadline));
    const auto sent = f.fake().MessagesTo(788018187);
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].text == "Готово: чат связан с Иван Петров");
    REQUIRE(inbound.WaitForSaves(1, kDeadline));
    CHECK(inbound.Cursor() == std::to_string(update + 1));

    SUBCASE("a plain /start gets a hint and links nobody; other texts get nothing") {
        f.fake().InjectText(900, "hello");
        f.fake().InjectText(900, "/start");
        REQUIRE(f.fake().WaitForMessages(2, kDeadline));
        CHECK(f.fake().MessagesTo(900).size() == 1);
        CHECK(f.fake().MessagesTo(900)[0].text.find("ссылку") != std::string::npos);
        CHECK(inbound.Calls().size() == 1);
    }
    SUBCASE("a code with characters a deep link cannot carry is no link request") {
        f.fake().InjectText(901, "/start K7m;Q2x");
        const std::int64_t last = f.fake().InjectText(901, "/start ok_code-1");
        REQUIRE(inbound.WaitForCalls(2, kDeadline));
        CHECK(inbound.Calls()[1].value == "ok_code-1");
        // Both updates handled, in one batch or two, and the cursor past the last.
        CHECK(inbound.WaitForCursor(std::to_string(last + 1), kDeadline));
    }
    channel->Stop();
}

TEST_CASE("Telegram listener hands a button press on, answers it and edits the message") {
    TelegramFixture f;
    f.fake().AddPrivateChat(111, "Иван");
    auto channel = f.Channel(QuickOptions());
    notify::Message message = testing::TextMessage("Сделка без задачи");
    message.buttons = {notify::Button{.label = "Принято", .callback = "ack:v:42"}};
    const notify::SendResult sent = channel->Send(testing::To("111", message));
    REQUIRE(sent.delivery.status == outbox::DeliveryStatus::kDelivered);
    RecordingInbound inbound;
    channel->Listen(inbound);

    SUBCASE("with a note: answered with the reply, the message edited and its keyboard gone") {
        inbound.Answer(notify::Reply{.done = true, .reply = "Отмечено", .note = "✅ Принято: Иван"});
        f.fake().InjectPress(111, "ack:v:42", 111, std::stoll(sent.message_id), "Иван");
        REQUIRE(inbound.WaitForCalls(1, kDeadline));
        CHECK(inbound.Calls()[0].what == "press");
        CHECK(inbound.Calls()[0].value == "ack:v:42");
        CHECK(inbound.Calls()[0].from == "111");
        REQUIRE(f.fake().WaitForAnswers(1, kDeadline));
        CHECK(f.fake().Answers()[0].text == "Отмечено");
        REQUIRE(f.fake().WaitForEdits(1, kDeadline));
        const auto edit = f.fake().Edits()[0];
        CHECK(edit.message_id == std::stoll(sent.message_id));
        CHECK(edit.text == "Сделка без задачи\n\n✅ Принято: Иван");
        CHECK(edit.parse_mode.empty());
        CHECK(edit.buttons.empty());
    }
    SUBCASE("without a note, or when nothing changed: answered all the same, nothing edited") {
        inbound.Answer(notify::Reply{.done = false});
        f.fake().InjectPress(111, "ack:v:unknown", 111, std::stoll(sent.message_id));
        REQUIRE(f.fake().WaitForAnswers(1, kDeadline));
        CHECK(f.fake().Answers()[0].text.empty());
        REQUIRE(inbound.WaitForSaves(1, kDeadline));
        CHECK(f.fake().Edits().empty());
    }
    channel->Stop();
}

TEST_CASE("Telegram listener resumes from the saved cursor and does not see old updates again") {
    TelegramFixture f;
    RecordingInbound inbound;
    {
        auto channel = f.Channel(QuickOptions());
        channel->Listen(inbound);
        f.fake().InjectText(555, "/start first");
        REQUIRE(inbound.WaitForCalls(1, kDeadline));
        REQUIRE(inbound.WaitForSaves(1, kDeadline));
        channel->Stop();
    }
    f.fake().InjectText(556, "/start second");
    auto restarted = f.Channel(QuickOptions());
    restarted->Listen(inbound);
    REQUIRE(inbound.WaitForCalls(2, kDeadline));
    REQUIRE(inbound.WaitForSaves(2, kDeadline));
    restarted->Stop();
    const auto calls = inbound.Calls();
    REQUIRE(calls.size() == 2);
    CHECK(calls[1].value == "second");
}

TEST_CASE("Telegram listener starts from Inbound's cursor, skipping updates handled before") {
    TelegramFixture f;
    // Handled and saved by an earlier run that stopped before the fake saw a higher offset:
    // the fake still holds it.
    const std::int64_t handled = f.fake().InjectText(555, "/start old");
    f.fake().InjectText(556, "/start new");
    RecordingInbound inbound;
    inbound.SaveCursor(std::to_string(handled + 1));
    auto channel = f.Channel(QuickOptions());
    channel->Listen(inbound);
    REQUIRE(inbound.WaitForCalls(1, kDeadline));
    REQUIRE(inbound.WaitForSaves(2, kDeadline));
    channel->Stop();
    const auto calls = inbound.Calls();
    REQUIRE(calls.size() == 1);
    CHECK(calls[0].value == "new");
}

TEST_CASE("Telegram listener Stop returns promptly though a long poll is pending") {
    TelegramFixture f;
    auto channel = f.Channel();  // production timings: a 25 s long poll
    RecordingInbound inbound;
    channel->Listen(inbound);
    REQUIRE(f.fake().WaitForPoll(kDeadline));
    const auto start = std::chrono::steady_clock::now();
    channel->Stop();
    // Well under the 25 s poll it did not wait for, with room for a loaded machine.
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds{10});
    CHECK(f.fake().WaitingPolls() == 0);
    // Nothing is handled after Stop.
    f.fake().InjectText(555, "/start late");
    CHECK_FALSE(inbound.WaitForCalls(1, std::chrono::milliseconds{300}));
}

TEST_CASE("Telegram listener backs off after a 409 instead of spinning") {
    TelegramFixture f;
    f.fake().SetWebhookActive(true);
    ChannelOptions options;
    options.conflict_backoff = Duration{60};
    auto channel = f.Channel(options);
    RecordingInbound inbound;
    channel->Listen(inbound);
    REQUIRE(f.fake().WaitForCalls("getupdates", 1, kDeadline));
    // Backing off: within a second of the first conflict no second poll came.
    CHECK_FALSE(f.fake().WaitForCalls("getupdates", 2, std::chrono::milliseconds{1000}));
    // Stop ends the back-off: well before its 60 s, with room for a loaded machine.
    const auto start = std::chrono::steady_clock::now();
    channel->Stop();
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds{10});
}

}  // namespace fg::adapters::telegram
