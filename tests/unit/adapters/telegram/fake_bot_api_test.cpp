#include "adapters/telegram/fake/fake_bot_api.hpp"

#include <future>

#include <doctest/doctest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "adapters/telegram/fake/html_entities.hpp"

namespace fg::adapters::telegram::fake {
namespace {

using nlohmann::json;

struct Call {
    int status = 0;
    json body{};
    std::string retry_after_header{};
};

class FakeFixture {
public:
    FakeFixture() : clock_(FromEpoch(1767000000)), fake_(MakeOptions(clock_)) {
        REQUIRE(fake_.Start());
        fake_.AddPrivateChat(111);
        fake_.AddGroup(-222);
    }

    Call Post(const std::string& method, const json& params, const std::string& token = {}) {
        httplib::Client client("127.0.0.1", fake_.port());
        client.set_read_timeout(60, 0);
        const std::string path =
            "/bot" + (token.empty() ? fake_.options().token : token) + "/" + method;
        auto result = client.Post(path.c_str(), params.dump(), "application/json");
        REQUIRE(result);
        return Call{.status = result->status,
                    .body = json::parse(result->body),
                    .retry_after_header = result->get_header_value("Retry-After")};
    }

    ManualClock& clock() { return clock_; }
    FakeBotApi& fake() { return fake_; }

private:
    static FakeBotOptions MakeOptions(const ManualClock& clock) {
        FakeBotOptions options;
        options.clock = &clock;
        return options;
    }
    ManualClock clock_;
    FakeBotApi fake_;
};

std::string Description(const Call& call) { return call.body.value("description", ""); }

}  // namespace

TEST_CASE("Fake HTML parser refuses what TDLib refuses, with TDLib's words") {
    CHECK(ParseHtml("2 < 3").error == "Unsupported start tag \"\" at byte offset 2");
    CHECK(ParseHtml("Client <ACME>").error == "Unsupported start tag \"acme\" at byte offset 7");
    CHECK(ParseHtml("a<br>b").error == "Unsupported start tag \"br\" at byte offset 1");
    CHECK(ParseHtml("<b>text").error == "Can't find end tag corresponding to start tag \"b\"");
    CHECK(ParseHtml("x</b>").error == "Unexpected end tag at byte offset 1");
    CHECK(ParseHtml("<b><i>x</b></i>").error ==
          "Unmatched end tag at byte offset 7, expected \"</i>\", found \"</b>\"");
    CHECK(ParseHtml("text <b").error == "Unclosed start tag at byte offset 5");
    CHECK(ParseHtml("<span>x</span>").error ==
          "Tag \"span\" must have class \"tg-spoiler\" at byte offset 0");
}

TEST_CASE("Fake HTML parser decodes entities the way TDLib does") {
    CHECK(ParseHtml("R&amp;D &lt;ООО&gt;").text == "R&D <ООО>");
    CHECK(ParseHtml("R&ampD").text == "R&D");  // the ';' is optional
    CHECK(ParseHtml("a&ltb").text == "a<b");
    CHECK(ParseHtml("a & b > c &copy;").text == "a & b > c &copy;");
    CHECK(ParseHtml("&#1071;&#x44F;").text == "Яя");
    const ParsedHtml link = ParseHtml(
        "<a href=\"https://x/?a=1&amp;b=&quot;2&quot;\" "
        "data-x=1><b>deal</b></a>");
    CHECK(link.ok);
    CHECK(link.text == "deal");
    CHECK(CodePoints("Ёжик") == 4);
}

TEST_CASE("Fake Bot API answers with Telegram's envelopes and statuses") {
    FakeFixture f;
    SUBCASE("getMe, any case of the method name") {
        const Call me = f.Post("GETME", json::object());
        CHECK(me.status == 200);
        CHECK(me.body["ok"] == true);
        CHECK(me.body["result"]["username"] == "fg_test_bot");
    }
    SUBCASE("wrong and malformed tokens") {
        const Call wrong = f.Post("getMe", json::object(), "123:wrong");
        CHECK(wrong.status == 401);
        CHECK(wrong.body ==
              json{{"ok", false}, {"error_code", 401}, {"description", "Unauthorized"}});
        const Call malformed = f.Post("getMe", json::object(), "no-colon");
        CHECK(malformed.status == 401);
        CHECK(Description(malformed) == "Unauthorized: invalid token specified");
    }
    SUBCASE("unknown method") {
        const Call unknown = f.Post("sendTelepathy", json::object());
        CHECK(unknown.status == 404);
        CHECK(Description(unknown) == "Not Found: method not found");
    }
    SUBCASE("sendMessage: accepted, with the text as a reader sees it") {
        const Call sent =
            f.Post("sendMessage", {{"chat_id", 111},
                                   {"text", "<b>R&amp;D</b> &lt;ООО&gt;"},
                                   {"parse_mode", "HTML"},
                                   {"disable_notification", true},
                                   {"link_preview_options", {{"is_disabled", true}}}});
        CHECK(sent.status == 200);
        CHECK(sent.body["result"]["text"] == "R&D <ООО>");
        CHECK(sent.body["result"]["chat"]["id"] == 111);
        const auto messages = f.fake().Messages();
        REQUIRE(messages.size() == 1);
        CHECK(messages[0].text == "<b>R&amp;D</b> &lt;ООО&gt;");
        CHECK(messages[0].silent);
        CHECK(messages[0].preview_disabled);
        CHECK(messages[0].message_id == sent.body["result"]["message_id"]);
    }
    SUBCASE("sendMessage errors") {
        CHECK(Description(f.Post("sendMessage", {{"chat_id", 999}, {"text", "x"}})) ==
              "Bad Request: chat not found");
        CHECK(Description(f.Post("sendMessage",
                                 {{"chat_id", 111}, {"text", "2 < 3"}, {"parse_mode", "HTML"}})) ==
              "Bad Request: can't parse entities: Unsupported start tag \"\" at byte offset 2");
        CHECK(Description(f.Post("sendMessage", {{"chat_id", 111}, {"text", ""}})) ==
              "Bad Request: message text is empty");
        CHECK(
            Description(f.Post("sendMessage",
                               {{"chat_id", 111}, {"text", "<b></b>"}, {"parse_mode", "html"}})) ==
            "Bad Request: message text is empty");
        CHECK(Description(
                  f.Post("sendMessage", {{"chat_id", 111}, {"text", std::string(4097, 'x')}})) ==
              "Bad Request: message is too long");
        CHECK(Description(
                  f.Post("sendMessage", {{"chat_id", 111}, {"text", std::string(32769, 'x')}})) ==
              "Bad Request: text is too long");
        // 4096 code points of two bytes each are within the limit: it counts characters.
        std::string cyrillic;
        for (int i = 0; i < 4096; ++i) {
            cyrillic += "ж";
        }
        f.clock().Advance(Duration{10});
        CHECK(f.Post("sendMessage", {{"chat_id", 111}, {"text", cyrillic}}).status == 200);
        const json long_data = {
            {"inline_keyboard", {{{{"text", "ok"}, {"callback_data", std::string(65, 'a')}}}}}};
        const Call button =
            f.Post("sendMessage", {{"chat_id", 111}, {"text", "x"}, {"reply_markup", long_data}});
        CHECK(button.status == 400);
        CHECK(Description(button) == "Bad Request: BUTTON_DATA_INVALID");
        f.fake().SetBlocked(111, true);
        const Call blocked = f.Post("sendMessage", {{"chat_id", 111}, {"text", "x"}});
        CHECK(blocked.status == 403);
        CHECK(Description(blocked) == "Forbidden: bot was blocked by the user");
        f.fake().Upgrade(-222, -1001234567890);
        const Call moved = f.Post("sendMessage", {{"chat_id", -222}, {"text", "x"}});
        CHECK(moved.status == 400);
        CHECK(moved.body["parameters"]["migrate_to_chat_id"] == -1001234567890);
        CHECK(f.Post("sendMessage", {{"chat_id", -1001234567890}, {"text", "x"}}).status == 200);
    }
}

TEST_CASE("Fake Bot API keeps Telegram's flood limits on the injected clock") {
    FakeFixture f;
    SUBCASE("a private chat: a burst of 3, then 1 a second") {
        for (int i = 0; i < 3; ++i) {
            CHECK(f.Post("sendMessage", {{"chat_id", 111}, {"text", "x"}}).status == 200);
        }
        const Call refused = f.Post("sendMessage", {{"chat_id", 111}, {"text", "x"}});
        CHECK(refused.status == 429);
        CHECK(Description(refused) == "Too Many Requests: retry after 1");
        CHECK(refused.body["parameters"]["retry_after"] == 1);
        CHECK(refused.retry_after_header == "1");
        f.clock().Advance(Duration{1});
        CHECK(f.Post("sendMessage", {{"chat_id", 111}, {"text", "x"}}).status == 200);
        CHECK(f.fake().TooManyRequests(111) == 1);
    }
    SUBCASE("a group: 20 a minute") {
        for (int i = 0; i < 20; ++i) {
            CHECK(f.Post("sendMessage", {{"chat_id", -222}, {"text", "x"}}).status == 200);
        }
        const Call refused = f.Post("sendMessage", {{"chat_id", -222}, {"text", "x"}});
        CHECK(refused.status == 429);
        CHECK(refused.body["parameters"]["retry_after"] == 60);
        f.clock().Advance(Duration{60});
        CHECK(f.Post("sendMessage", {{"chat_id", -222}, {"text", "x"}}).status == 200);
    }
    SUBCASE("the bot: 30 a second across chats") {
        for (int i = 0; i < 30; ++i) {
            f.fake().AddPrivateChat(1000 + i);
            CHECK(f.Post("sendMessage", {{"chat_id", 1000 + i}, {"text", "x"}}).status == 200);
        }
        f.fake().AddPrivateChat(2000);
        CHECK(f.Post("sendMessage", {{"chat_id", 2000}, {"text", "x"}}).status == 429);
        CHECK(f.fake().TooManyRequestsTotal() == 1);
    }
}

TEST_CASE("Fake Bot API edits messages and answers callback queries") {
    FakeFixture f;
    const Call sent = f.Post("sendMessage", {{"chat_id", 111}, {"text", "hello"}});
    const auto id = sent.body["result"]["message_id"].get<std::int64_t>();
    const Call same =
        f.Post("editMessageText", {{"chat_id", 111}, {"message_id", id}, {"text", "hello"}});
    CHECK(same.status == 400);
    CHECK(Description(same).rfind("Bad Request: message is not modified", 0) == 0);
    CHECK(f.Post("editMessageText", {{"chat_id", 111}, {"message_id", id}, {"text", "hello\n\nok"}})
              .status == 200);
    CHECK(f.Post("editMessageText", {{"chat_id", 111}, {"message_id", id + 100}, {"text", "x"}})
              .status == 400);
    REQUIRE(f.fake().Edits().size() == 1);
    CHECK(f.fake().Edits()[0].text == "hello\n\nok");

    const std::string query = f.fake().InjectPress(111, "ack:v:1", 111, id);
    CHECK(f.Post("answerCallbackQuery", {{"callback_query_id", query}}).status == 200);
    CHECK(f.Post("answerCallbackQuery", {{"callback_query_id", query}}).status == 400);
    CHECK(f.fake().Answers().size() == 1);
}

TEST_CASE("Fake getUpdates keeps updates until a higher offset confirms them") {
    FakeFixture f;
    const std::int64_t first = f.fake().InjectText(555, "/start K7mQ2x", "Pablo");
    const Call batch = f.Post("getUpdates", {{"timeout", 0}});
    REQUIRE(batch.body["result"].size() == 1);
    CHECK(batch.body["result"][0]["update_id"] == first);
    CHECK(batch.body["result"][0]["message"]["text"] == "/start K7mQ2x");
    CHECK(batch.body["result"][0]["message"]["chat"]["type"] == "private");
    // Not confirmed yet: the same offset gets it again.
    CHECK(f.Post("getUpdates", {{"offset", first}, {"timeout", 0}}).body["result"].size() == 1);
    CHECK(f.Post("getUpdates", {{"offset", first + 1}, {"timeout", 0}}).body["result"].empty());
    CHECK(f.fake().PendingUpdates() == 0);

    SUBCASE("a long poll returns as soon as an update comes") {
        auto poll = std::async(std::launch::async, [&] {
            return f.Post("getUpdates", {{"offset", first + 1}, {"timeout", 30}});
        });
        REQUIRE(f.fake().WaitForPoll(std::chrono::seconds{10}));
        f.fake().InjectPress(555, "ack:v:9", 555, 1);
        const Call answer = poll.get();
        REQUIRE(answer.body["result"].size() == 1);
        CHECK(answer.body["result"][0]["callback_query"]["data"] == "ack:v:9");
    }
    SUBCASE("a second poll ends the first with 409") {
        auto older = std::async(std::launch::async, [&] {
            return f.Post("getUpdates", {{"offset", first + 1}, {"timeout", 30}});
        });
        REQUIRE(f.fake().WaitForPoll(std::chrono::seconds{10}));
        CHECK(f.Post("getUpdates", {{"offset", first + 1}, {"timeout", 0}}).status == 200);
        const Call ended = older.get();
        CHECK(ended.status == 409);
        CHECK(Description(ended).rfind("Conflict: terminated by other getUpdates request", 0) == 0);
        CHECK(f.fake().Conflicts() == 1);
    }
    SUBCASE("allowed_updates filters what is returned") {
        f.fake().InjectText(555, "hi");
        f.fake().InjectPress(555, "x", 555, 1);
        const Call only =
            f.Post("getUpdates",
                   {{"offset", first + 1}, {"allowed_updates", json::array({"callback_query"})}});
        REQUIRE(only.body["result"].size() == 1);
        CHECK(only.body["result"][0].contains("callback_query"));
    }
}

TEST_CASE("Fake Bot API reads form and query parameters too") {
    FakeFixture f;
    httplib::Client client("127.0.0.1", f.fake().port());
    const std::string base = "/bot" + f.fake().options().token;
    httplib::Params form{
        {"chat_id", "111"},
        {"text", "<b>hi</b>"},
        {"parse_mode", "HTML"},
        {"reply_markup", R"({"inline_keyboard":[[{"text":"ok","callback_data":"a"}]]})"}};
    auto posted = client.Post((base + "/sendMessage").c_str(), form);
    REQUIRE(posted);
    CHECK(posted->status == 200);
    auto got = client.Get((base + "/sendmessage?chat_id=111&text=plain").c_str());
    REQUIRE(got);
    f.clock().Advance(Duration{5});
    CHECK(got->status == 200);
    const auto messages = f.fake().Messages();
    REQUIRE(messages.size() == 2);
    REQUIRE(messages[0].buttons.size() == 1);
    CHECK(messages[0].buttons[0][0].callback_data == "a");
    CHECK(messages[1].plain == "plain");
}

}  // namespace fg::adapters::telegram::fake
