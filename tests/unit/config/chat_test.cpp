// [tenant.chat] read through the notifiers' schemas, and the warning for chat messages a tenant
// has no chat for.
#include <memory>
#include <string>

#include <doctest/doctest.h>

#include "src/config/section.hpp"
#include "tests/unit/config/support.hpp"

namespace fg::config {
namespace {

using testing::Dump;

struct TestChatSettings final : ChannelSettings {
    std::string url{};
};

// A notifier that owns one key of [tenant.chat], as a chat service's adapter would.
NotifierSchema TestChat() {
    return {.name = "testchat",
            .links_by_code = true,  // so that the tenant uses it without any address
            .parse = [](TableReader& chat,
                        const std::string&) -> std::shared_ptr<const ChannelSettings> {
                auto url = chat.String("testchat_url");
                if (!url) {
                    return nullptr;
                }
                if (!IsHttpUrl(*url)) {
                    chat.Problem("testchat_url", "must be an http(s) URL");
                    return nullptr;
                }
                auto settings = std::make_shared<TestChatSettings>();
                settings->url = *url;
                return settings;
            }};
}

LoadResult LoadWithChat(const std::string& text) {
    return LoadConfigFromString(text, "test.toml", Schemas(fg::app::CrmSchemas(), {TestChat()}),
                                "/cfg");
}

// An amoCRM tenant on line 1 with every rule's default actions (most list notify).
std::string ChatAmoTenant(const std::string& extra = "") {
    return "[[tenant]]\nid = \"acme\"\nsecret = \"s\"\ncrm = \"amocrm\"\n"
           "[tenant.amocrm]\nsubdomain = \"acme\"\ntoken = \"tok\"\n" +
           extra;
}

TEST_CASE("A tenant whose rules ask for chat messages it has no chat for gets one warning") {
    const LoadResult result = LoadWithChat(ChatAmoTenant());
    INFO(Dump(result.problems));
    REQUIRE(result.ok());
    const auto warnings = Warnings(result.config);
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].file == "test.toml");
    CHECK(warnings[0].line == 1);
    CHECK(warnings[0].key == "tenant \"acme\".rules");
    CHECK(warnings[0].message.find("stage_order (notify)") != std::string::npos);
    CHECK(warnings[0].message.find("overdue_task (notify)") != std::string::npos);
    CHECK(warnings[0].message.find("[tenant.chat]") != std::string::npos);
    CHECK(result.config.tenants[0].MessageChannels().empty());
}

TEST_CASE("escalate_after asks for an escalation even when escalate is not listed") {
    const LoadResult result = LoadWithChat(ChatAmoTenant(
        "[tenant.rules.stage_order]\nactions = [\"note\"]\n"
        "[tenant.rules.deal_without_task]\nactions = [\"task\"]\n"
        "[tenant.rules.actual_stage]\nenabled = false\nactions = [\"notify\"]\n"
        "[tenant.rules.card_filled]\nactions = [\"note\"]\n"
        "[tenant.rules.overdue_task]\nactions = [\"note\"]\nescalate_after = \"4h\"\n"));
    INFO(Dump(result.problems));
    REQUIRE(result.ok());
    const auto warnings = Warnings(result.config);
    REQUIRE(warnings.size() == 1);
    // A rule switched off asks for nothing.
    CHECK(warnings[0].message.find("actual_stage") == std::string::npos);
    CHECK(warnings[0].message.find("rules overdue_task (escalate) ask") != std::string::npos);
}

TEST_CASE("No warning where messages can go or nothing is sent") {
    SUBCASE("a chat notifier is configured") {
        const LoadResult result =
            LoadWithChat(ChatAmoTenant("[[tenant.person]]\ncrm_user = \"u1\"\n"
                                       "[tenant.chat]\ntestchat_url = \"http://127.0.0.1:9/x\"\n"));
        INFO(Dump(result.problems));
        REQUIRE(result.ok());
        CHECK(Warnings(result.config).empty());
    }
    SUBCASE("a generic tenant: its actions_url receives notify and escalate") {
        const LoadResult result = LoadWithChat(testing::Tenant());
        INFO(Dump(result.problems));
        REQUIRE(result.ok());
        CHECK(Warnings(result.config).empty());
        CHECK(result.config.tenants[0].MessageChannels() == std::vector<std::string>{"crm"});
    }
    SUBCASE("observe mode sends nothing at all") {
        const LoadResult result = LoadWithChat(
            ChatAmoTenant().replace(ChatAmoTenant().find("crm = "), 0, "mode = \"observe\"\n"));
        INFO(Dump(result.problems));
        REQUIRE(result.ok());
        CHECK(Warnings(result.config).empty());
    }
}

TEST_CASE("[tenant.chat] keys go to the notifier that owns them; the rest are unknown") {
    SUBCASE("a notifier's settings land on the tenant under its channel") {
        const LoadResult result =
            LoadWithChat(ChatAmoTenant("[tenant.chat]\ntestchat_url = \"http://127.0.0.1:9/x\"\n"));
        INFO(Dump(result.problems));
        REQUIRE(result.ok());
        const TenantConfig& tenant = result.config.tenants[0];
        CHECK(tenant.MessageChannels() == std::vector<std::string>{"testchat"});
        const auto* settings = tenant.ChannelSettingsAs<TestChatSettings>("testchat");
        REQUIRE(settings != nullptr);
        CHECK(settings->url == "http://127.0.0.1:9/x");
    }
    SUBCASE("a notifier reports its own problems with line and key") {
        const LoadResult result =
            LoadWithChat(ChatAmoTenant("[tenant.chat]\ntestchat_url = \"ftp://x\"\n"));
        CHECK(testing::HasProblem(result, "tenant \"acme\".chat.testchat_url", "http(s) URL"));
        CHECK(result.config.tenants[0].chat_channels.empty());
    }
    SUBCASE("a key no notifier knows") {
        const LoadResult result = LoadWithChat(ChatAmoTenant("[tenant.chat]\nbogus = 1\n"));
        const ConfigProblem* problem = testing::FindProblem(result, "tenant \"acme\".chat.bogus");
        REQUIRE(problem != nullptr);
        CHECK(problem->line == 9);
    }
    SUBCASE("without notifiers in the build, every chat key is unknown") {
        const LoadResult result = testing::Load(
            ChatAmoTenant("[tenant.chat]\ntestchat_url = \"http://127.0.0.1:9/x\"\n"));
        CHECK(testing::FindProblem(result, "tenant \"acme\".chat.testchat_url") != nullptr);
    }
}

}  // namespace
}  // namespace fg::config
