// adapters/bitrix24/notify: its schema on the notifier port and `[tenant.chat] bitrix24_notify`.
#include "adapters/bitrix24/notify/config.hpp"

#include <doctest/doctest.h>

#include "adapters/bitrix24/notify/notifier.hpp"
#include "src/app/adapters.hpp"

namespace fg::adapters::bitrix24::notify {
namespace config_test {

config::LoadResult Load(const std::string& text) {
    return config::LoadConfigFromString(text, "test.toml", app::ConfigSchemas(), "/cfg");
}

// A Bitrix24 tenant, lines 1-8; `chat` from line 9.
std::string B24(const std::string& chat) {
    return "[[tenant]]\n"                                 // 1
           "id = \"acme\"\n"                              // 2
           "secret = \"app-token\"\n"                     // 3
           "crm = \"bitrix24\"\n"                         // 4
           "[tenant.bitrix24]\n"                          // 5
           "portal_url = \"https://acme.bitrix24.ru\"\n"  // 6
           "webhook_user = 1\n"                           // 7
           "webhook_token = \"wh-secret-token\"\n" +      // 8
           chat;
}

std::string Problems(const config::LoadResult& result) {
    std::string out;
    for (const config::ConfigProblem& problem : result.problems) {
        out += config::FormatProblem(problem) + "\n";
    }
    return out;
}

const std::string kPeople =
    "[[tenant.person]]\ncrm_user = \"7\"\nname = \"Анна\"\nteam = \"north\"\n"
    "[[tenant.person]]\ncrm_user = \"Пётр Петров\"\nrole = \"head\"\nteam = \"north\"\n"
    "bitrix24_user = \"1\"\n"
    "[[tenant.person]]\ncrm_user = \"Ольга\"\nteam = \"north\"\n"
    "[[tenant.team]]\nid = \"north\"\nhead = \"Пётр Петров\"\n";

TEST_CASE("Bitrix24 notify schema: channel bitrix24, bitrix24_user, no team key, no linking") {
    const config::NotifierSchema schema = Notifier().Schema();
    CHECK(Notifier().Name() == "bitrix24");
    CHECK(schema.name == "bitrix24");
    CHECK(schema.person_key == "bitrix24_user");
    CHECK(schema.team_key.empty());
    CHECK_FALSE(schema.secret_addresses);
    CHECK_FALSE(schema.links_by_code);
    CHECK(schema.crm == "bitrix24");
    REQUIRE(schema.check_address);
    CHECK(schema.check_address("7").empty());
    CHECK(schema.check_address("123456").empty());
    for (const char* bad : {"0", "-1", "07", "Анна", "7a", ""}) {
        CHECK_FALSE(schema.check_address(bad).empty());
    }
}

TEST_CASE("bitrix24_notify = true: people reach their Bitrix24 user id, crm_user by default") {
    const auto result = Load(B24("[tenant.chat]\nbitrix24_notify = true\n" + kPeople));
    INFO(Problems(result));
    REQUIRE(result.ok());
    const config::TenantConfig& tenant = result.config.tenants[0];
    CHECK(tenant.chat_channels.count("bitrix24") == 1);
    REQUIRE(tenant.people.size() == 3);
    // A numeric crm_user is the Bitrix24 user id.
    CHECK(tenant.people[0].addresses.at("bitrix24") == "7");
    // A person named by display name needs bitrix24_user...
    CHECK(tenant.people[1].addresses.at("bitrix24") == "1");
    // ...or has no address here (their head covers for them).
    CHECK(tenant.people[2].addresses.count("bitrix24") == 0);
}

TEST_CASE("bitrix24_notify absent or false: the channel is off and no address is implied") {
    for (const std::string& chat : {std::string("[tenant.chat]\ndigest = \"0s\"\n"),
                                    std::string("[tenant.chat]\nbitrix24_notify = false\n")}) {
        const auto result = Load(B24(chat + kPeople));
        INFO(Problems(result));
        REQUIRE(result.ok());
        const config::TenantConfig& tenant = result.config.tenants[0];
        CHECK(tenant.chat_channels.count("bitrix24") == 0);
        CHECK(tenant.people[0].addresses.count("bitrix24") == 0);
    }
}

TEST_CASE("bitrix24_notify on a tenant of another CRM is an error naming file:line:key") {
    const std::string text =
        "[[tenant]]\n"               // 1
        "id = \"acme\"\n"            // 2
        "secret = \"s\"\n"           // 3
        "[[tenant.pipeline]]\n"      // 4
        "id = \"main\"\n"            // 5
        "stages = [\"A\", \"B\"]\n"  // 6
        "[tenant.chat]\n"            // 7
        "bitrix24_notify = true\n"   // 8
        "[[tenant.person]]\ncrm_user = \"7\"\nrole = \"head\"\n";
    const auto result = Load(text);
    REQUIRE_FALSE(result.ok());
    const std::string problems = Problems(result);
    CHECK(problems.find("test.toml:8: tenant \"acme\".chat.bitrix24_notify") != std::string::npos);
    CHECK(problems.find("crm = \"bitrix24\"") != std::string::npos);
}

TEST_CASE("bitrix24_notify of the wrong type and a bad bitrix24_user name file:line:key") {
    const auto typed = Load(B24("[tenant.chat]\nbitrix24_notify = \"yes\"\n"));
    REQUIRE_FALSE(typed.ok());
    CHECK(Problems(typed).find("test.toml:10: tenant \"acme\".chat.bitrix24_notify: must be true "
                               "or false") != std::string::npos);

    const auto bad_user =
        Load(B24("[tenant.chat]\nbitrix24_notify = true\n"  // 9, 10
                 "[[tenant.person]]\n"                      // 11
                 "crm_user = \"Анна\"\n"                    // 12
                 "bitrix24_user = \"anna\"\n"));            // 13
    REQUIRE_FALSE(bad_user.ok());
    const std::string problems = Problems(bad_user);
    INFO(problems);
    CHECK(problems.find("test.toml:13: tenant \"acme\".person[0].bitrix24_user: must be a "
                        "Bitrix24 user id") != std::string::npos);
}

}  // namespace config_test
}  // namespace fg::adapters::bitrix24::notify
