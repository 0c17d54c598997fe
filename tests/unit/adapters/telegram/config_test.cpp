// adapters/telegram: its keys of [tenant.chat] and its schema on the notifier port.
#include "adapters/telegram/config.hpp"

#include <doctest/doctest.h>

#include "adapters/telegram/notifier.hpp"
#include "src/app/adapters.hpp"

namespace fg::adapters::telegram {
namespace {

constexpr const char* kToken = "7000000001:AAHsecretSECRETsecret_0123456789-abc";

config::LoadResult LoadChat(const std::string& chat) {
    const std::string text =
        "[[tenant]]\n"
        "id = \"acme\"\n"
        "secret = \"s\"\n"
        "[[tenant.pipeline]]\n"
        "id = \"main\"\n"
        "stages = [\"A\", \"B\"]\n"
        "[tenant.chat]\n" +
        chat;
    return config::LoadConfigFromString(text, "test.toml", app::ConfigSchemas(), "/cfg");
}

std::string Problems(const config::LoadResult& result) {
    std::string out;
    for (const config::ConfigProblem& problem : result.problems) {
        out += config::FormatProblem(problem) + "\n";
    }
    return out;
}

}  // namespace

TEST_CASE("Telegram schema: its keys on people and teams, links by code, chat ids checked") {
    const config::NotifierSchema schema = Notifier().Schema();
    CHECK(Notifier().Name() == "telegram");
    CHECK(schema.name == "telegram");
    CHECK(schema.person_key == "telegram");
    CHECK(schema.team_key == "chat");
    CHECK(schema.links_by_code);
    CHECK_FALSE(schema.secret_addresses);
    REQUIRE(schema.check_address);
    CHECK(schema.check_address("123456789").empty());
    CHECK(schema.check_address("-1001234567890").empty());
    for (const char* bad :
         {"", "abc", "12 34", "@ivan", "0", "+7", "99999999999999999999", "1.5"}) {
        CHECK_FALSE(schema.check_address(bad).empty());
    }
    const auto& notifiers = app::Notifiers();
    CHECK(std::find(notifiers.begin(), notifiers.end(), &Notifier()) != notifiers.end());
}

TEST_CASE("Telegram settings come from [tenant.chat]") {
    SUBCASE("a token and the default API") {
        const config::LoadResult result =
            LoadChat(std::string("telegram_bot_token = \"") + kToken + "\"\n");
        INFO(Problems(result));
        REQUIRE(result.ok());
        const auto* settings =
            result.config.tenants[0].ChannelSettingsAs<TelegramSettings>("telegram");
        REQUIRE(settings != nullptr);
        CHECK(settings->bot_token == kToken);
        CHECK(settings->api_url == "https://api.telegram.org");
    }
    SUBCASE("an API address of a fake on loopback, trailing '/' dropped") {
        const config::LoadResult result =
            LoadChat(std::string("telegram_bot_token = \"") + kToken +
                     "\"\ntelegram_api_url = \"http://127.0.0.1:8081/\"\n");
        INFO(Problems(result));
        REQUIRE(result.ok());
        CHECK(result.config.tenants[0].ChannelSettingsAs<TelegramSettings>("telegram")->api_url ==
              "http://127.0.0.1:8081");
    }
    SUBCASE("neither key: the tenant uses no Telegram") {
        const config::LoadResult result = LoadChat("");
        INFO(Problems(result));
        REQUIRE(result.ok());
        CHECK(result.config.tenants[0].chat_channels.count("telegram") == 0);
    }
}

TEST_CASE("Telegram settings problems name file, line and key, and never the token") {
    SUBCASE("a malformed token") {
        const std::string token = "7000000001/AAHsecretSECRETsecret";
        const config::LoadResult result = LoadChat("telegram_bot_token = \"" + token + "\"\n");
        const std::string problems = Problems(result);
        CHECK(problems.find("test.toml:8: tenant \"acme\".chat.telegram_bot_token: is not a "
                            "Telegram bot token") == 0);
        CHECK(problems.find("AAHsecret") == std::string::npos);
    }
    SUBCASE("an API address without a token") {
        const config::LoadResult result =
            LoadChat("telegram_api_url = \"https://tg.example.com\"\n");
        CHECK(Problems(result).find("tenant \"acme\".chat.telegram_bot_token: required with "
                                    "telegram_api_url") != std::string::npos);
    }
    SUBCASE("the token in clear over http:// to another host, or a URL that is none") {
        for (const char* url : {"http://tg.example.com", "not a url", "ftp://x"}) {
            const config::LoadResult result =
                LoadChat(std::string("telegram_bot_token = \"") + kToken +
                         "\"\ntelegram_api_url = \"" + url + "\"\n");
            const std::string problems = Problems(result);
            INFO(problems);
            CHECK(problems.find("test.toml:9: tenant \"acme\".chat.telegram_api_url: ") == 0);
            CHECK(problems.find("AAHsecret") == std::string::npos);
        }
    }
    SUBCASE("a token that is no string") {
        const config::LoadResult result = LoadChat("telegram_bot_token = 12345\n");
        CHECK(Problems(result).find("test.toml:8: tenant \"acme\".chat.telegram_bot_token") == 0);
    }
    SUBCASE("an unknown key next to them is still an unknown key") {
        const config::LoadResult result =
            LoadChat(std::string("telegram_bot_token = \"") + kToken + "\"\ntelegram_bot = 1\n");
        CHECK(Problems(result).find("telegram_bot") != std::string::npos);
        CHECK(Problems(result).find(kToken) == std::string::npos);
    }
}

TEST_CASE("Telegram bot token format: as @BotFather gives it") {
    CHECK(IsWellFormedToken(kToken));
    CHECK(IsWellFormedToken("1:a"));
    CHECK_FALSE(IsWellFormedToken("no-colon"));
    CHECK_FALSE(IsWellFormedToken("0123:abc"));
    CHECK_FALSE(IsWellFormedToken(":abc"));
    CHECK_FALSE(IsWellFormedToken("123:"));
    CHECK_FALSE(IsWellFormedToken("123:ab/c"));
    CHECK_FALSE(IsWellFormedToken("12a:abc"));
    CHECK_FALSE(IsWellFormedToken("123:" + std::string(77, 'a')));
}

}  // namespace fg::adapters::telegram
