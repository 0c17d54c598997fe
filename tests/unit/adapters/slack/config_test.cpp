// adapters/slack: its schema on the notifier port, webhook URLs as addresses, and its keys of
// [tenant.chat].
#include "adapters/slack/config.hpp"

#include <algorithm>

#include <doctest/doctest.h>

#include "adapters/slack/notifier.hpp"
#include "src/app/adapters.hpp"

namespace fg::adapters::slack {
namespace {

constexpr const char* kHook = "https://hooks.slack.com/services/T0001/B0001/SeCrEtXyZ123";

config::LoadResult Load(const std::string& chat, const std::string& people) {
    const std::string text =
        "[[tenant]]\n"                 // 1
        "id = \"acme\"\n"              // 2
        "secret = \"s\"\n"             // 3
        "[[tenant.pipeline]]\n"        // 4
        "id = \"main\"\n"              // 5
        "stages = [\"A\", \"B\"]\n" +  // 6
        chat +
        people;
    return config::LoadConfigFromString(text, "test.toml", app::ConfigSchemas(), "/cfg");
}

std::string Person(const std::string& webhook) {
    return "[[tenant.person]]\n"
           "crm_user = \"1\"\n"
           "name = \"Иван\"\n"
           "role = \"head\"\n"
           "slack_webhook = \"" +
           webhook + "\"\n";
}

std::string Problems(const config::LoadResult& result) {
    std::string out;
    for (const config::ConfigProblem& problem : result.problems) {
        out += config::FormatProblem(problem) + "\n";
    }
    return out;
}

}  // namespace

TEST_CASE("Slack schema: slack_webhook on people and teams, secret, no linking") {
    const config::NotifierSchema schema = Notifier().Schema();
    CHECK(Notifier().Name() == "slack");
    CHECK(schema.name == "slack");
    CHECK(schema.person_key == "slack_webhook");
    CHECK(schema.team_key == "slack_webhook");
    CHECK(schema.secret_addresses);
    CHECK_FALSE(schema.links_by_code);
    REQUIRE(schema.check_address);
    for (const char* good :
         {kHook, "https://mm.example.com/hooks/abc123", "https://chat.example.com/hooks/id/token",
          "http://127.0.0.1:8065/hooks/x"}) {
        CHECK(schema.check_address(good).empty());
    }
    for (const char* bad :
         {"", "hooks.slack.com/services/T/B/SeCrEt", "ftp://x.example/SeCrEt",
          "http://hooks.example.com/services/T/B/SeCrEt",
          "https://user:SeCrEt@hooks.slack.com/services/T/B/x", "https://hooks.slack.com",
          "https://hooks.slack.com/", "https://hooks.slack.com/services/T/B/Se CrEt"}) {
        const std::string problem = schema.check_address(bad);
        INFO(bad);
        CHECK_FALSE(problem.empty());
        CHECK(problem.find("SeCrEt") == std::string::npos);
    }
    CHECK(ShownUrl(kHook) == "https://hooks.slack.com/…");
    const auto& notifiers = app::Notifiers();
    CHECK(std::find(notifiers.begin(), notifiers.end(), &Notifier()) != notifiers.end());
}

TEST_CASE("Slack settings: slack_rate, and the channel used once someone has a webhook") {
    SUBCASE("defaults, a person with a webhook") {
        const config::LoadResult result = Load("[tenant.chat]\n", Person(kHook));
        INFO(Problems(result));
        REQUIRE(result.ok());
        const config::TenantConfig& tenant = result.config.tenants[0];
        const auto* settings = tenant.ChannelSettingsAs<SlackSettings>("slack");
        REQUIRE(settings != nullptr);
        CHECK(settings->rate == doctest::Approx(1.0));
        REQUIRE(tenant.people.size() == 1);
        CHECK(tenant.people[0].addresses.at("slack") == kHook);
    }
    SUBCASE("slack_rate as written") {
        const config::LoadResult result = Load("[tenant.chat]\nslack_rate = 0.5\n", Person(kHook));
        INFO(Problems(result));
        REQUIRE(result.ok());
        CHECK(result.config.tenants[0].ChannelSettingsAs<SlackSettings>("slack")->rate ==
              doctest::Approx(0.5));
    }
    SUBCASE("nobody has a webhook: not used") {
        const config::LoadResult result = Load("[tenant.chat]\nslack_rate = 1\n", "");
        INFO(Problems(result));
        REQUIRE(result.ok());
        CHECK(result.config.tenants[0].chat_channels.count("slack") == 0);
    }
    SUBCASE("a team's webhook alone is enough") {
        const config::LoadResult result =
            Load("[tenant.chat]\n",
                 "[[tenant.person]]\ncrm_user = \"1\"\nname = \"Иван\"\nrole = \"head\"\n"
                 "team = \"north\"\n"
                 "[[tenant.team]]\nid = \"north\"\nhead = \"1\"\nslack_webhook = \"" +
                     std::string(kHook) + "\"\n");
        INFO(Problems(result));
        REQUIRE(result.ok());
        CHECK(result.config.tenants[0].chat_channels.count("slack") == 1);
        CHECK(result.config.tenants[0].teams.at(0).chats.at("slack") == kHook);
    }
}

TEST_CASE("Slack config problems name file, line and key, and never the webhook's secret") {
    SUBCASE("slack_rate out of range or no number") {
        for (const char* rate : {"0", "-1", "11", "\"fast\""}) {
            const config::LoadResult result =
                Load(std::string("[tenant.chat]\nslack_rate = ") + rate + "\n", Person(kHook));
            INFO(rate);
            CHECK(Problems(result).find("test.toml:8: tenant \"acme\".chat.slack_rate: ") == 0);
        }
    }
    SUBCASE("a webhook over plain http to another host") {
        const config::LoadResult result =
            Load("[tenant.chat]\n", Person("http://hooks.example.com/services/T/B/SeCrEt"));
        const std::string problems = Problems(result);
        INFO(problems);
        CHECK_FALSE(result.ok());
        CHECK(problems.find("test.toml:12: ") == 0);
        CHECK(problems.find(".slack_webhook: http:// would send the webhook URL") !=
              std::string::npos);
        CHECK(problems.find("SeCrEt") == std::string::npos);
    }
    SUBCASE("an unknown slack key is still an unknown key") {
        const config::LoadResult result =
            Load("[tenant.chat]\nslack_webhook = \"x\"\n", Person(kHook));
        CHECK(Problems(result).find("slack_webhook") != std::string::npos);
    }
}

}  // namespace fg::adapters::slack
