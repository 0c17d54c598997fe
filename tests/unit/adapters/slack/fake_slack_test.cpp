// adapters/slack/fake: the fake webhook service answers as Slack and Mattermost do
// (reference/chat.md §2.2, §2.5), on the injected clock.
#include "adapters/slack/fake/fake_slack.hpp"

#include <doctest/doctest.h>
#include <httplib.h>

namespace fg::adapters::slack::fake {
namespace {

struct Posted {
    int status = 0;
    std::string body{};
    std::string content_type{};
    std::string retry_after{};
};

Posted PostTo(const FakeSlack& slack, const std::string& url, const std::string& body,
              const std::string& content_type = "application/json") {
    httplib::Client client("127.0.0.1", slack.port());
    client.set_connection_timeout(5);
    client.set_read_timeout(5);
    const std::string path = url.substr(slack.Url().size());
    auto result = client.Post(path.c_str(), body, content_type.c_str());
    REQUIRE(result);
    return Posted{.status = result->status,
                  .body = result->body,
                  .content_type = result->get_header_value("Content-Type"),
                  .retry_after = result->get_header_value("Retry-After")};
}

struct Fixture {
    Fixture() : clock(FromEpoch(1767000000)), slack(FakeSlackOptions{.clock = &clock}) {
        REQUIRE(slack.Start());
    }
    ManualClock clock;
    FakeSlack slack;
};

}  // namespace

TEST_CASE("ReadMrkdwn: links are read, everything else that opens with '<' is unsafe") {
    const MrkdwnReading reading = ReadMrkdwn(
        "*Сделка* <https://acme.amocrm.ru/leads/detail/42|R&amp;D &lt;ООО&gt;> и "
        "<https://x.example/a?b=1&amp;c=2> <!channel> 2 < 3 <@U024BE7LH|bob>");
    REQUIRE(reading.links.size() == 2);
    CHECK(reading.links[0].url == "https://acme.amocrm.ru/leads/detail/42");
    CHECK(reading.links[0].label == "R&D <ООО>");
    CHECK(reading.links[1].label == "https://x.example/a?b=1&c=2");
    CHECK(reading.plain ==
          "*Сделка* R&D <ООО> и https://x.example/a?b=1&c=2 <!channel> 2 < 3 <@U024BE7LH|bob>");
    REQUIRE(reading.unsafe.size() == 3);
    CHECK(reading.unsafe[0] == "<!channel>");
    CHECK(reading.unsafe[1].rfind("< 3", 0) == 0);
    CHECK(reading.unsafe[2] == "<@U024BE7LH|bob>");
    CHECK(ReadMrkdwn("<javascript:alert(1)|x> <https://a b|c>").unsafe.size() == 2);
    CHECK(ReadMrkdwn("R&amp;D &lt;ООО&gt; 😀").unsafe.empty());
}

TEST_CASE("Fake Slack accepts a post with 200 text/plain ok and records it") {
    Fixture f;
    const std::string hook = f.slack.AddHook();
    CHECK(hook.rfind(f.slack.Url() + "/services/T", 0) == 0);
    const Posted posted = PostTo(
        f.slack, hook,
        R"({"text":"x <https://a.example|A &amp; B>","blocks":[{"type":"section","text":{"type":"mrkdwn","text":"*x*"}},{"type":"context","elements":[{"type":"mrkdwn","text":"#V-1"}]}]})");
    CHECK(posted.status == 200);
    CHECK(posted.body == "ok");
    CHECK(posted.content_type.rfind("text/plain", 0) == 0);
    const auto messages = f.slack.MessagesTo(hook);
    REQUIRE(messages.size() == 1);
    CHECK(messages[0].plain == "x A & B");
    CHECK(messages[0].block_texts == std::vector<std::string>{"*x*", "#V-1"});
    REQUIRE(messages[0].links.size() == 1);
    CHECK(messages[0].links[0].url == "https://a.example");
    CHECK(f.slack.Unsafe().empty());
    CHECK(f.slack.WaitForMessages(1, std::chrono::milliseconds{100}));
}

TEST_CASE("Fake Slack refuses bodies as Slack does") {
    Fixture f;
    const std::string hook = f.slack.AddHook();
    CHECK(PostTo(f.slack, hook, "{not json").body == "invalid_payload");
    CHECK(PostTo(f.slack, hook, "{not json").status == 400);
    CHECK(PostTo(f.slack, hook, R"({"text":"x"})", "text/plain").body == "invalid_payload");
    f.clock.Advance(Duration{10});  // the refused posts count against the rate limit too
    CHECK(PostTo(f.slack, hook, "payload=%7B%22text%22%3A%22x%22%7D",
                 "application/x-www-form-urlencoded")
              .status == 200);
    f.clock.Advance(Duration{10});
    CHECK(PostTo(f.slack, hook, R"({"text":""})").body == "no_text");
    CHECK(PostTo(f.slack, hook, R"({"username":"x"})").body == "no_text");
    CHECK(PostTo(f.slack, hook, R"({"text":5})").body == "invalid_payload");
    f.clock.Advance(Duration{10});
    const std::string long_section(3001, 'a');
    CHECK(PostTo(f.slack, hook,
                 R"({"text":"x","blocks":[{"type":"section","text":{"type":"mrkdwn","text":")" +
                     long_section + "\"}}]}")
              .body == "invalid_blocks");
    CHECK(f.slack.Messages().size() == 1);
}

TEST_CASE("Fake Slack: unknown, revoked and refusing hooks, and rollup_error on demand") {
    Fixture f;
    const std::string hook = f.slack.AddHook();
    const std::string body = R"({"text":"x"})";
    CHECK(PostTo(f.slack, f.slack.Url() + "/services/T1/B1/nope", body).body == "no_service");
    f.slack.FailNext(1, hook);
    const Posted failed = PostTo(f.slack, hook, body);
    CHECK(failed.status == 500);
    CHECK(failed.body == "rollup_error");
    f.clock.Advance(Duration{10});
    f.slack.SetRefusal(hook, Refusal::kChannelNotFound);
    CHECK(PostTo(f.slack, hook, body).body == "channel_not_found");
    f.slack.SetRefusal(hook, Refusal::kChannelArchived);
    CHECK(PostTo(f.slack, hook, body).status == 410);
    f.clock.Advance(Duration{10});
    f.slack.SetRefusal(hook, Refusal::kActionProhibited);
    CHECK(PostTo(f.slack, hook, body).status == 403);
    f.slack.SetRefusal(hook, Refusal::kNone);
    f.slack.Revoke(hook);
    const Posted revoked = PostTo(f.slack, hook, body);
    CHECK(revoked.status == 404);
    CHECK(revoked.body == "no_service");
    CHECK(f.slack.Messages().empty());
}

TEST_CASE("Fake Slack: more than 1 a second beyond a burst of 3 is 429 with Retry-After") {
    Fixture f;
    const std::string hook = f.slack.AddHook();
    const std::string other = f.slack.AddHook();
    const std::string body = R"({"text":"x"})";
    for (int i = 0; i < 3; ++i) {
        CHECK(PostTo(f.slack, hook, body).status == 200);
    }
    const Posted limited = PostTo(f.slack, hook, body);
    CHECK(limited.status == 429);
    CHECK(limited.retry_after == "1");
    const auto json = nlohmann::json::parse(limited.body);
    CHECK(json["error"] == "rate_limited");
    CHECK(PostTo(f.slack, other, body).status == 200);  // per hook
    f.clock.Advance(Duration{1});
    CHECK(PostTo(f.slack, hook, body).status == 200);
    CHECK(PostTo(f.slack, hook, body).status == 429);
    CHECK(f.slack.TooManyRequests(hook) == 2);
    CHECK(f.slack.TooManyRequests(other) == 0);
    CHECK(f.slack.TooManyRequestsTotal() == 2);
}

TEST_CASE("Fake Mattermost hook answers ok and records text only; unsafe markup is recorded") {
    Fixture f;
    const std::string hook = f.slack.AddMattermostHook();
    CHECK(hook.rfind(f.slack.Url() + "/hooks/", 0) == 0);
    const Posted posted = PostTo(f.slack, hook, R"({"text":"<!channel> R&D"})");
    CHECK(posted.status == 200);
    CHECK(posted.body == "ok");
    REQUIRE(f.slack.Unsafe().size() == 1);
    CHECK(f.slack.Unsafe()[0].excerpt == "<!channel>");
    const Posted empty = PostTo(f.slack, hook, R"({"blocks":[]})");
    CHECK(empty.status == 400);
    CHECK(empty.content_type.rfind("application/json", 0) == 0);
}

}  // namespace fg::adapters::slack::fake
