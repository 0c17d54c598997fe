// adapters/slack: the channel against the fake webhook service: what arrives, how each refusal
// is classified (reference/chat.md §2.2, §4.2), pacing, and no webhook URL in any error.
#include "adapters/slack/channel.hpp"

#include <doctest/doctest.h>

#include "tests/unit/adapters/slack/fixture.hpp"

namespace fg::adapters::slack {
namespace {

using notify::Failure;
using outbox::DeliveryStatus;
using testing::SecretOf;
using testing::SlackFixture;
using testing::TextMessage;
using testing::To;

notify::Message DealMessage(const std::string& title) {
    notify::Message message;
    message.blocks.push_back(
        notify::Block{.spans = {notify::Span{.text = "Сделка без задачи", .bold = true}}});
    message.blocks.push_back(notify::Block{
        .spans = {notify::Span{.text = title, .url = "https://acme.amocrm.ru/leads/detail/42"},
                  notify::Span{.text = " — нет открытой задачи 2 ч 😀"}}});
    message.buttons = {
        notify::Button{.label = "Открыть сделку", .url = "https://acme.amocrm.ru/leads/detail/42"},
        notify::Button{.label = "Принято", .callback = "ack:v:42"}};
    message.reference = "#V-42";
    return message;
}

}  // namespace

TEST_CASE("Slack channel posts escaped mrkdwn text and blocks as JSON") {
    SlackFixture f;
    const std::string hook = f.fake().AddHook();
    auto channel = f.Channel();
    const notify::SendResult result = channel->Send(To(hook, DealMessage("R&D <ООО> <!channel>")));
    INFO(result.delivery.error);
    REQUIRE(result.delivery.status == DeliveryStatus::kDelivered);
    const auto sent = f.fake().MessagesTo(hook);
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].content_type == "application/json");
    CHECK(sent[0].plain ==
          "*Сделка без задачи*\n"
          "R&D <ООО> <!channel> — нет открытой задачи 2 ч 😀\n"
          "Открыть сделку   ·   _Принято: эта кнопка работает в Telegram_\n"
          "#V-42");
    // The title's <!channel> reached Slack as text, never as a mention.
    CHECK(f.fake().Unsafe().empty());
    CHECK(sent[0].text.find("<!channel>") == std::string::npos);
    CHECK(sent[0].text.find("&lt;!channel&gt;") != std::string::npos);
    REQUIRE(sent[0].links.size() == 2);
    CHECK(sent[0].links[0].url == "https://acme.amocrm.ru/leads/detail/42");
    CHECK(sent[0].links[0].label == "R&D <ООО> <!channel>");
    CHECK(sent[0].links[1].label == "Открыть сделку");
    REQUIRE(sent[0].block_texts.size() == 4);
    CHECK(sent[0].block_texts[0] == "*Сделка без задачи*");
    CHECK(sent[0].block_texts[3] == "#V-42");
}

TEST_CASE("Slack channel: a Mattermost hook gets the whole message in text") {
    SlackFixture f;
    const std::string hook = f.fake().AddMattermostHook();
    auto channel = f.Channel({}, "en");
    const notify::SendResult result = channel->Send(To(hook, DealMessage("ООО «Ромашка»")));
    REQUIRE(result.delivery.status == DeliveryStatus::kDelivered);
    const auto sent = f.fake().MessagesTo(hook);
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].blocks.is_null());
    CHECK(sent[0].plain.find("ООО «Ромашка» — нет открытой задачи") != std::string::npos);
    CHECK(sent[0].plain.find("Принято: this button works in Telegram") != std::string::npos);
}

TEST_CASE("Slack channel splits a 30,000-character message and every part is accepted") {
    SlackFixture f;
    const std::string hook = f.fake().AddHook();
    auto channel = f.Channel();
    notify::Message message;
    for (int i = 0; i < 100; ++i) {
        std::string text = "Нарушение №" + std::to_string(i) + " R&D <ООО> ";
        text.resize(text.size() + 270, 'x');
        message.blocks.push_back(notify::Block{.spans = {notify::Span{.text = text}}});
    }
    message.reference = "#V-9";
    const notify::SendResult result = channel->Send(To(hook, message));
    INFO(result.delivery.error);
    REQUIRE(result.delivery.status == DeliveryStatus::kDelivered);
    const auto sent = f.fake().MessagesTo(hook);
    REQUIRE(sent.size() == 3);
    std::string all;
    for (const auto& post : sent) {
        all += post.plain + "\n";
    }
    for (int i = 0; i < 100; ++i) {
        CHECK(all.find("Нарушение №" + std::to_string(i) + " R&D <ООО> ") != std::string::npos);
    }
    CHECK(sent.back().plain.find("#V-9") != std::string::npos);
    CHECK(f.fake().TooManyRequestsTotal() == 0);
    CHECK(f.fake().Unsafe().empty());
}

TEST_CASE("Slack channel maps each refusal as chat.md §4.2 says, and never names the URL") {
    SlackFixture f;
    const std::string hook = f.fake().AddHook();
    auto channel = f.Channel();
    std::vector<std::string> errors;
    auto send = [&](const std::string& to, notify::Message message = TextMessage("x")) {
        f.clock().Advance(channel->WaitFor(notify::Address{.value = to}));
        notify::SendResult result = channel->Send(To(to, std::move(message)));
        errors.push_back(result.delivery.error);
        return result;
    };

    SUBCASE("revoked, channel not found, archived, prohibited: the address is gone") {
        for (const auto refusal : {fake::Refusal::kChannelNotFound, fake::Refusal::kChannelArchived,
                                   fake::Refusal::kActionProhibited}) {
            f.fake().SetRefusal(hook, refusal);
            const notify::SendResult result = send(hook);
            CHECK(result.delivery.status == DeliveryStatus::kRejected);
            CHECK(result.failure == Failure::kAddressGone);
        }
        f.fake().SetRefusal(hook, fake::Refusal::kNone);
        f.fake().Revoke(hook);
        const notify::SendResult revoked = send(hook);
        CHECK(revoked.delivery.status == DeliveryStatus::kRejected);
        CHECK(revoked.failure == Failure::kAddressGone);
        CHECK(revoked.delivery.error == "POST to http://127.0.0.1/…: 404 no_service");
        CHECK(errors[0].find("404 channel_not_found") != std::string::npos);
        CHECK(errors[1].find("410 channel_is_archived") != std::string::npos);
        CHECK(errors[2].find("403 action_prohibited") != std::string::npos);
    }
    SUBCASE("rollup_error: retried later, maybe processed") {
        f.fake().FailNext(1, hook);
        const notify::SendResult result = send(hook);
        CHECK(result.delivery.status == DeliveryStatus::kRetry);
        CHECK_FALSE(result.delivery.not_sent);
        CHECK(result.failure == Failure::kNone);
        CHECK(send(hook).delivery.status == DeliveryStatus::kDelivered);
    }
    SUBCASE("429: retried after Retry-After, certainly not sent, and the hook waits") {
        for (int i = 0; i < 3; ++i) {  // past the pacer, into the fake's limit
            REQUIRE(channel->Send(To(hook, TextMessage("x"))).delivery.status ==
                    DeliveryStatus::kDelivered);
        }
        const notify::SendResult result = channel->Send(To(hook, TextMessage("x")));
        errors.push_back(result.delivery.error);
        CHECK(result.delivery.status == DeliveryStatus::kRetry);
        CHECK(result.delivery.not_sent);
        REQUIRE(result.delivery.retry_after);
        CHECK(*result.delivery.retry_after == Duration{1});
        CHECK(channel->WaitFor(notify::Address{.value = hook}) >= Duration{1});
    }
    SUBCASE("no text at all: a content error, dead") {
        const notify::SendResult result = send(hook, notify::Message{});
        CHECK(result.delivery.status == DeliveryStatus::kRejected);
        CHECK(result.failure == Failure::kContent);
        CHECK(result.delivery.error.find("400 no_text") != std::string::npos);
    }
    SUBCASE("blocks Slack refuses: resent once as text alone, and delivered") {
        auto wide = f.Channel(ChannelOptions{.posts = PostLimits{.max_section_chars = 5000}});
        const notify::SendResult result = wide->Send(To(hook, TextMessage(std::string(4000, 'a'))));
        CHECK(result.delivery.status == DeliveryStatus::kDelivered);
        const auto sent = f.fake().MessagesTo(hook);
        REQUIRE(sent.size() == 1);
        CHECK(sent[0].blocks.is_null());
        CHECK(sent[0].text.size() == 4000);
    }
    SUBCASE("nobody listening: retried, certainly not sent") {
        const std::string dead = "http://127.0.0.1:1" + SecretOf(hook);
        const notify::SendResult result = send(dead);
        CHECK(result.delivery.status == DeliveryStatus::kRetry);
        CHECK(result.delivery.not_sent);
    }
    SUBCASE("an address that is no usable webhook URL: gone, without repeating it") {
        const std::string plain_http = "http://hooks.example.com" + SecretOf(hook);
        const notify::SendResult result = send(plain_http);
        CHECK(result.delivery.status == DeliveryStatus::kRejected);
        CHECK(result.failure == Failure::kAddressGone);
    }
    const std::string secret = SecretOf(hook);
    for (const std::string& error : errors) {
        INFO(error);
        CHECK(error.find(secret) == std::string::npos);
        CHECK(error.find(secret.substr(secret.rfind('/') + 1)) == std::string::npos);
    }
}

TEST_CASE("Slack channel: 30 messages to one webhook paced by WaitFor get no 429") {
    SlackFixture f;
    const std::string hook = f.fake().AddHook();
    auto channel = f.Channel();
    const Timestamp start = f.clock().Now();
    for (int i = 0; i < 30; ++i) {
        const Duration wait = channel->WaitFor(notify::Address{.value = hook});
        f.clock().Advance(wait);
        CHECK(channel->WaitFor(notify::Address{.value = hook}) == Duration::zero());
        const notify::SendResult result =
            channel->Send(To(hook, TextMessage("№" + std::to_string(i)), "k" + std::to_string(i)));
        REQUIRE(result.delivery.status == DeliveryStatus::kDelivered);
    }
    CHECK(f.fake().WaitForMessages(30, std::chrono::seconds{5}));
    CHECK(f.fake().TooManyRequestsTotal() == 0);
    // 1 a second after a burst of 2: the limit kept, not undercut by much either.
    CHECK(f.clock().Now() - start == Duration{28});
}

TEST_CASE("Slack channel: a split message refused part-way resumes after the parts that landed") {
    SlackFixture f;
    const std::string hook = f.fake().AddHook();
    auto channel = f.Channel(ChannelOptions{.posts = PostLimits{.max_post_chars = 100}});
    notify::Message message;
    for (int i = 0; i < 5; ++i) {
        message.blocks.push_back(notify::Block{
            .spans = {notify::Span{.text = "часть " + std::to_string(i) + std::string(80, '.')}}});
    }
    notify::SendResult result = channel->Send(To(hook, message, "split:1"));
    CHECK(result.delivery.status == DeliveryStatus::kRetry);
    CHECK(result.delivery.not_sent);
    CHECK(result.delivery.error.find("(part 4 of 5): 429") != std::string::npos);
    for (int tries = 0; tries < 10 && result.delivery.status != DeliveryStatus::kDelivered;
         ++tries) {
        f.clock().Advance(std::max(result.delivery.retry_after.value_or(Duration{1}),
                                   channel->WaitFor(notify::Address{.value = hook})));
        result = channel->Send(To(hook, message, "split:1"));
    }
    REQUIRE(result.delivery.status == DeliveryStatus::kDelivered);
    const auto sent = f.fake().MessagesTo(hook);
    REQUIRE(sent.size() == 5);
    for (int i = 0; i < 5; ++i) {
        CHECK(sent[i].plain.rfind("часть " + std::to_string(i), 0) == 0);
    }
}

}  // namespace fg::adapters::slack
