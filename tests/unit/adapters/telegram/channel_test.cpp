#include "adapters/telegram/channel.hpp"

#include <doctest/doctest.h>

#include "adapters/telegram/fake/html_entities.hpp"
#include "tests/unit/adapters/telegram/fixture.hpp"

namespace fg::adapters::telegram {
namespace {

using outbox::DeliveryStatus;
using testing::TelegramFixture;
using testing::TextMessage;
using testing::To;

}  // namespace

TEST_CASE("Telegram channel sends HTML, silent, without previews, with buttons") {
    TelegramFixture f;
    f.fake().AddPrivateChat(111);
    auto channel = f.Channel();
    notify::Message message;
    message.blocks.push_back(
        notify::Block{.spans = {notify::Span{.text = "Сделка без задачи", .bold = true}}});
    message.blocks.push_back(
        notify::Block{.spans = {notify::Span{.text = "R&D <ООО>",
                                             .url = "https://acme.amocrm.ru/leads/detail/42"},
                                notify::Span{.text = ": 2 < 3"}}});
    message.buttons = {
        notify::Button{.label = "Открыть сделку", .url = "https://acme.amocrm.ru/leads/detail/42"},
        notify::Button{.label = "Принято", .callback = "ack:v:42"}};
    message.reference = "#V-42";
    message.silent = true;
    const notify::SendResult result = channel->Send(To("111", message));
    INFO(result.delivery.error);
    REQUIRE(result.delivery.status == DeliveryStatus::kDelivered);
    const auto sent = f.fake().Messages();
    REQUIRE(sent.size() == 1);
    CHECK(result.message_id == std::to_string(sent[0].message_id));
    CHECK(sent[0].parse_mode == "HTML");
    CHECK(sent[0].plain == "Сделка без задачи\nR&D <ООО>: 2 < 3\n#V-42");
    CHECK(sent[0].silent);
    CHECK(sent[0].preview_disabled);
    REQUIRE(sent[0].buttons.size() == 2);
    CHECK(sent[0].buttons[0][0].url == "https://acme.amocrm.ru/leads/detail/42");
    CHECK(sent[0].buttons[1][0].callback_data == "ack:v:42");
}

TEST_CASE("Telegram channel splits a 10,000-character message, buttons on the last part") {
    TelegramFixture f;
    f.fake().AddPrivateChat(111);
    auto channel = f.Channel();
    notify::Message message;
    for (int i = 0; i < 100; ++i) {
        std::string text = "Нарушение № " + std::to_string(i) + " R&D <ООО> ";
        while (fake::CodePoints(text) < 99) {
            text += "ж";
        }
        message.blocks.push_back(
            notify::Block{.spans = {notify::Span{.text = text, .bold = true}}});
    }
    message.buttons = {notify::Button{.label = "Принято", .callback = "ack:d:1"}};
    const notify::SendResult result = channel->Send(To("111", message));
    INFO(result.delivery.error);
    REQUIRE(result.delivery.status == DeliveryStatus::kDelivered);
    const auto sent = f.fake().Messages();
    REQUIRE(sent.size() == 3);
    for (std::size_t i = 0; i < sent.size(); ++i) {
        CHECK(fake::CodePoints(sent[i].plain) <= 4096);
        CHECK(sent[i].buttons.empty() == (i + 1 < sent.size()));
    }
    CHECK(result.message_id == std::to_string(sent.back().message_id));
    CHECK(f.fake().TooManyRequestsTotal() == 0);
}

TEST_CASE("Telegram channel maps each kind of refusal as chat.md §4.2 says") {
    TelegramFixture f;
    f.fake().AddPrivateChat(111);
    f.fake().AddGroup(-222);
    auto channel = f.Channel();
    SUBCASE("blocked by the user: the address is gone") {
        f.fake().SetBlocked(111, true);
        const notify::SendResult result = channel->Send(To("111", TextMessage("x")));
        CHECK(result.delivery.status == DeliveryStatus::kRejected);
        CHECK(result.failure == notify::Failure::kAddressGone);
        CHECK(result.delivery.error.find("bot was blocked by the user") != std::string::npos);
    }
    SUBCASE("chat not found: the address is gone") {
        const notify::SendResult result = channel->Send(To("999", TextMessage("x")));
        CHECK(result.delivery.status == DeliveryStatus::kRejected);
        CHECK(result.failure == notify::Failure::kAddressGone);
    }
    SUBCASE("a bad token: the channel is gone, and the error does not hold the token") {
        auto wrong = f.Channel({}, "123456:WrongTokenWrongTokenWrongToken");
        const notify::SendResult result = wrong->Send(To("111", TextMessage("x")));
        CHECK(result.delivery.status == DeliveryStatus::kRejected);
        CHECK(result.failure == notify::Failure::kChannelGone);
        CHECK(result.delivery.error.find("WrongToken") == std::string::npos);
        CHECK(result.delivery.error.find("401") != std::string::npos);
    }
    SUBCASE("404 (a wrong API address): the channel is gone") {
        TelegramSettings settings = f.settings();
        settings.api_url = f.fake().Url() + "/nothing";
        TelegramChannel misplaced("acme", settings, "ru", f.clock());
        const notify::SendResult result = misplaced.Send(To("111", TextMessage("x")));
        CHECK(result.failure == notify::Failure::kChannelGone);
        CHECK(result.delivery.error.find(f.settings().bot_token) == std::string::npos);
    }
    SUBCASE("429: retry after what Telegram said, certainly not sent, and the chat waits") {
        f.fake().InjectError(fake::InjectedError{.method = "sendMessage",
                                                 .error_code = 429,
                                                 .description = "Too Many Requests: retry after 7",
                                                 .retry_after = 7});
        const notify::SendResult result = channel->Send(To("111", TextMessage("x")));
        CHECK(result.delivery.status == DeliveryStatus::kRetry);
        REQUIRE(result.delivery.retry_after.has_value());
        CHECK(*result.delivery.retry_after == Duration{7});
        CHECK(result.delivery.not_sent);
        CHECK(channel->WaitFor(notify::Address{.value = "111"}) == Duration{7});
        CHECK(channel->WaitFor(notify::Address{.value = "-222", .group = true}) ==
              Duration::zero());
    }
    SUBCASE("429 with the wait in the Retry-After header only") {
        f.fake().InjectError(fake::InjectedError{.method = "sendMessage",
                                                 .error_code = 429,
                                                 .description = "Too Many Requests: retry after 5",
                                                 .retry_after = 5,
                                                 .retry_after_in_body = false});
        const notify::SendResult result = channel->Send(To("111", TextMessage("x")));
        REQUIRE(result.delivery.retry_after.has_value());
        CHECK(*result.delivery.retry_after == Duration{5});
    }
    SUBCASE("500: retry, and it may have landed") {
        f.fake().InjectError(fake::InjectedError{});
        const notify::SendResult result = channel->Send(To("111", TextMessage("x")));
        CHECK(result.delivery.status == DeliveryStatus::kRetry);
        CHECK_FALSE(result.delivery.not_sent);
        CHECK(result.failure == notify::Failure::kNone);
    }
    SUBCASE("a parse error: resent once as plain text without parse_mode") {
        f.fake().InjectError(fake::InjectedError{
            .method = "sendMessage",
            .error_code = 400,
            .description = "Bad Request: can't parse entities: Unsupported start tag \"\" at byte "
                           "offset 2"});
        const notify::SendResult result = channel->Send(To("111", TextMessage("R&D <ООО>")));
        CHECK(result.delivery.status == DeliveryStatus::kDelivered);
        const auto sent = f.fake().Messages();
        REQUIRE(sent.size() == 1);
        CHECK(sent[0].parse_mode.empty());
        CHECK(sent[0].text == "R&D <ООО>");
        CHECK(f.fake().Calls("sendmessage") == 2);
    }
    SUBCASE("a parse error twice: a content failure, tried twice only") {
        f.fake().InjectError(
            fake::InjectedError{.method = "sendMessage",
                                .error_code = 400,
                                .description = "Bad Request: can't parse entities: x",
                                .times = 5});
        const notify::SendResult result = channel->Send(To("111", TextMessage("x")));
        CHECK(result.delivery.status == DeliveryStatus::kRejected);
        CHECK(result.failure == notify::Failure::kContent);
        CHECK(f.fake().Calls("sendmessage") == 2);
    }
    SUBCASE("callback data over 64 bytes: resent without the keyboard") {
        notify::Message message = TextMessage("x");
        std::string data;  // 40 characters, 80 bytes
        for (int i = 0; i < 40; ++i) {
            data += "ж";
        }
        message.buttons = {notify::Button{.label = "Принято", .callback = data}};
        const notify::SendResult result = channel->Send(To("111", message));
        CHECK(result.delivery.status == DeliveryStatus::kDelivered);
        REQUIRE(f.fake().Messages().size() == 1);
        CHECK(f.fake().Messages()[0].buttons.empty());
    }
    SUBCASE("a group upgraded to a supergroup: sent there at once, and the new id reported") {
        f.fake().Upgrade(-222, -1001234567890);
        const notify::SendResult result = channel->Send(To("-222", TextMessage("x")));
        CHECK(result.delivery.status == DeliveryStatus::kDelivered);
        CHECK(result.moved_to == "-1001234567890");
        REQUIRE(f.fake().MessagesTo(-1001234567890).size() == 1);
    }
    SUBCASE("no connection: retry, certainly not sent, no token in the error") {
        TelegramSettings settings = f.settings();
        f.fake().Stop();
        TelegramChannel unreachable("acme", settings, "ru", f.clock());
        const notify::SendResult result = unreachable.Send(To("111", TextMessage("x")));
        CHECK(result.delivery.status == DeliveryStatus::kRetry);
        CHECK(result.delivery.not_sent);
        CHECK(result.delivery.error.find(settings.bot_token) == std::string::npos);
        CHECK(result.delivery.error.find("cannot connect") != std::string::npos);
    }
}

TEST_CASE("Telegram channel keeps the flood limits with WaitFor on the injected clock") {
    TelegramFixture f;
    auto channel = f.Channel();
    SUBCASE("100 messages to one group: all delivered, none refused") {
        f.fake().AddGroup(-222);
        const notify::Address group{.value = "-222", .group = true};
        const Timestamp start = f.clock().Now();
        for (int i = 0; i < 100; ++i) {
            for (Duration wait = channel->WaitFor(group); wait > Duration::zero();
                 wait = channel->WaitFor(group)) {
                f.clock().Advance(wait);
            }
            REQUIRE(
                channel->Send(To("-222", TextMessage("m" + std::to_string(i)))).delivery.status ==
                DeliveryStatus::kDelivered);
        }
        CHECK(f.fake().MessagesTo(-222).size() == 100);
        CHECK(f.fake().TooManyRequestsTotal() == 0);
        CHECK(f.clock().Now() - start == Duration{99 * 3});  // one each 3 s, 20 a minute
    }
    SUBCASE("a private chat: a burst of 3, then 1 a second, none refused") {
        f.fake().AddPrivateChat(111);
        const notify::Address person{.value = "111"};
        for (int i = 0; i < 3; ++i) {
            CHECK(channel->WaitFor(person) == Duration::zero());
            CHECK(channel->Send(To("111", TextMessage("x"))).delivery.status ==
                  DeliveryStatus::kDelivered);
        }
        CHECK(channel->WaitFor(person) == Duration{1});
        for (int i = 0; i < 20; ++i) {
            f.clock().Advance(channel->WaitFor(person));
            CHECK(channel->Send(To("111", TextMessage("x"))).delivery.status ==
                  DeliveryStatus::kDelivered);
        }
        CHECK(f.fake().TooManyRequestsTotal() == 0);
    }
    SUBCASE("the bot: at most 29 a second across many chats, none refused") {
        const Timestamp start = f.clock().Now();
        for (int i = 0; i < 200; ++i) {
            f.fake().AddPrivateChat(5000 + i);
            const notify::Address person{.value = std::to_string(5000 + i)};
            for (Duration wait = channel->WaitFor(person); wait > Duration::zero();
                 wait = channel->WaitFor(person)) {
                f.clock().Advance(wait);
            }
            REQUIRE(channel->Send(To(person.value, TextMessage("x"))).delivery.status ==
                    DeliveryStatus::kDelivered);
        }
        CHECK(f.fake().TooManyRequestsTotal() == 0);
        CHECK(f.clock().Now() - start == Duration{6});  // 29 in each second: 200 take 7 seconds
        std::map<std::int64_t, int> per_second;
        for (const auto& message : f.fake().Messages()) {
            ++per_second[message.date];
        }
        for (const auto& [second, count] : per_second) {
            CHECK(count <= 29);
        }
        CHECK(per_second.begin()->second == 29);  // the pace, not less: the fraction of the limit
    }
}

TEST_CASE("Telegram channel Check: getMe names the bot, and a bad token is a clear error") {
    TelegramFixture f;
    SUBCASE("a good token: the bot's deep link") {
        auto channel = f.Channel();
        CHECK(channel->LinkUrl("K7mQ2x").empty());  // before Check, the username is unknown
        CHECK(channel->Check().empty());
        CHECK(channel->LinkUrl("K7mQ2x") == "https://t.me/fg_test_bot?start=K7mQ2x");
    }
    SUBCASE("a refused token") {
        auto channel = f.Channel({}, "123456:WrongTokenWrongTokenWrongToken");
        const std::string error = channel->Check();
        CHECK(error == "the bot token of tenant acme is refused by Telegram (401 Unauthorized)");
    }
    SUBCASE("an unreachable API") {
        TelegramSettings settings = f.settings();
        f.fake().Stop();
        TelegramChannel channel("acme", settings, "ru", f.clock());
        const std::string error = channel.Check();
        CHECK(error.find("the Telegram API of tenant acme is unreachable") == 0);
        CHECK(error.find(settings.bot_token) == std::string::npos);
    }
    SUBCASE("no token configured") {
        TelegramChannel channel("acme", TelegramSettings{}, "ru", f.clock());
        CHECK(channel.Check() == "tenant acme has no telegram_bot_token");
        const notify::SendResult result = channel.Send(To("111", TextMessage("x")));
        CHECK(result.failure == notify::Failure::kChannelGone);
    }
}

}  // namespace fg::adapters::telegram
