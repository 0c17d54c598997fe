// [[tenant.person]], [[tenant.team]] and the common keys of [tenant.chat] (DESIGN.md §4 "People
// and chat"), read through test notifier schemas, and the warnings about them.
#include <memory>
#include <string>

#include <doctest/doctest.h>

#include "adapters/amocrm/config.hpp"
#include "src/config/section.hpp"
#include "tests/unit/config/support.hpp"

namespace fg::config {
namespace {

using testing::Dump;
using testing::FindProblem;
using testing::HasProblem;

struct PeopleTestSettings final : ChannelSettings {};

bool AllDigits(const std::string& text) {
    const std::string digits = text.front() == '-' ? text.substr(1) : text;
    return !digits.empty() && digits.find_first_not_of("0123456789") == std::string::npos;
}

// Like Telegram: chat ids, groups per team, people may link themselves.
NotifierSchema ChatIds() {
    return {.name = "tg",
            .person_key = "telegram",
            .team_key = "chat",
            .links_by_code = true,
            .check_address = [](const std::string& address) -> std::string {
                return AllDigits(address) ? "" : "must be a numeric chat id";
            },
            .parse = [](TableReader& chat,
                        const std::string&) -> std::shared_ptr<const ChannelSettings> {
                if (!chat.String("tg_token")) {
                    return nullptr;
                }
                return std::make_shared<PeopleTestSettings>();
            }};
}

// Like Slack webhooks: secret addresses, nobody links themselves.
NotifierSchema Hooks() {
    return {.name = "hook",
            .person_key = "hook_url",
            .team_key = "hook_chat",
            .secret_addresses = true,
            .check_address = [](const std::string& address) -> std::string {
                return IsHttpUrl(address) ? "" : "must be an http(s) URL";
            },
            .parse = [](TableReader& chat,
                        const std::string&) -> std::shared_ptr<const ChannelSettings> {
                bool enabled = false;
                chat.Read("hooks", enabled);
                if (!enabled) {
                    return nullptr;
                }
                return std::make_shared<PeopleTestSettings>();
            }};
}

LoadResult LoadPeople(const std::string& text) {
    return LoadConfigFromString(text, "people.toml",
                                Schemas(fg::app::CrmSchemas(), {ChatIds(), Hooks()}), "/cfg");
}

// The generic tenant of the config tests (pipeline on lines 4-8), then `extra` from line 9.
std::string WithPeople(const std::string& extra) { return testing::Tenant(extra); }

const std::string kTeam =
    "[[tenant.person]]\n"             // 9
    "crm_user = \"u1\"\n"             // 10
    "name = \"Иван Петров\"\n"        // 11
    "team = \"north\"\n"              // 12
    "telegram = \"123\"\n"            // 13
    "[[tenant.person]]\n"             // 14
    "crm_user = \"Анна Смирнова\"\n"  // 15
    "role = \"head\"\n"               // 16
    "team = \"north\"\n"              // 17
    "[[tenant.team]]\n"               // 18
    "id = \"north\"\n"                // 19
    "head = \"Анна Смирнова\"\n"      // 20
    "chat = \"-100200\"\n";           // 21

TEST_CASE("People and teams land in the config with their addresses by channel") {
    const LoadResult result = LoadPeople(WithPeople(kTeam + "[tenant.chat]\ntg_token = \"t\"\n"));
    INFO(Dump(result.problems));
    REQUIRE(result.ok());
    const TenantConfig& tenant = result.config.tenants[0];
    REQUIRE(tenant.people.size() == 2);
    CHECK(tenant.people[0].crm_user == "u1");
    CHECK(tenant.people[0].name == "Иван Петров");
    CHECK(tenant.people[0].role == Role::kManager);  // the default
    CHECK(tenant.people[0].team == "north");
    CHECK(tenant.people[0].addresses == std::map<std::string, std::string>{{"tg", "123"}});
    CHECK(tenant.people[0].source_line == 9);
    CHECK(tenant.people[1].role == Role::kHead);
    CHECK(tenant.people[1].addresses.empty());
    REQUIRE(tenant.teams.size() == 1);
    CHECK(tenant.teams[0].id == "north");
    CHECK(tenant.teams[0].head == "Анна Смирнова");
    CHECK(tenant.teams[0].chats == std::map<std::string, std::string>{{"tg", "-100200"}});
    CHECK(Warnings(result.config).empty());
}

TEST_CASE("Person and team errors name file, line and key") {
    SUBCASE("crm_user is required") {
        const LoadResult result = LoadPeople(WithPeople("[[tenant.person]]\nname = \"X\"\n"));
        const ConfigProblem* problem = FindProblem(result, "tenant \"acme\".person[0].crm_user");
        REQUIRE(problem != nullptr);
        CHECK(problem->file == "people.toml");
        CHECK(problem->line == 9);
        CHECK(problem->message.find("required") != std::string::npos);
    }
    SUBCASE("a duplicate crm_user") {
        const LoadResult result = LoadPeople(
            WithPeople("[[tenant.person]]\ncrm_user = \"u1\"\n[[tenant.person]]\ncrm_user = "
                       "\"u1\"\n"));
        const ConfigProblem* problem = FindProblem(result, "tenant \"acme\".person[1].crm_user");
        REQUIRE(problem != nullptr);
        CHECK(problem->line == 12);
        CHECK(problem->message.find("first at line 10") != std::string::npos);
    }
    SUBCASE("a role that is neither manager nor head") {
        const LoadResult result =
            LoadPeople(WithPeople("[[tenant.person]]\ncrm_user = \"u1\"\nrole = \"haed\"\n"));
        const ConfigProblem* problem = FindProblem(result, "tenant \"acme\".person[0].role");
        REQUIRE(problem != nullptr);
        CHECK(problem->line == 11);
        CHECK(problem->message.find("did you mean \"head\"") != std::string::npos);
    }
    SUBCASE("an address the notifier refuses") {
        const LoadResult result =
            LoadPeople(WithPeople("[[tenant.person]]\ncrm_user = \"u1\"\ntelegram = \"@ivan\"\n"));
        const ConfigProblem* problem = FindProblem(result, "tenant \"acme\".person[0].telegram");
        REQUIRE(problem != nullptr);
        CHECK(problem->line == 11);
        CHECK(problem->message == "must be a numeric chat id");
    }
    SUBCASE("a person key no notifier declares is unknown") {
        const LoadResult result =
            LoadPeople(WithPeople("[[tenant.person]]\ncrm_user = \"u1\"\nwhatsapp = \"1\"\n"));
        const ConfigProblem* problem = FindProblem(result, "tenant \"acme\".person[0].whatsapp");
        REQUIRE(problem != nullptr);
        CHECK(problem->line == 11);
        CHECK(problem->message.find("unknown key") != std::string::npos);
    }
    SUBCASE("without notifiers, an address key is unknown too") {
        const LoadResult result =
            testing::Load(WithPeople("[[tenant.person]]\ncrm_user = \"u1\"\ntelegram = \"1\"\n"));
        CHECK(FindProblem(result, "tenant \"acme\".person[0].telegram") != nullptr);
    }
    SUBCASE("a person's team must exist") {
        const LoadResult result =
            LoadPeople(WithPeople("[[tenant.person]]\ncrm_user = \"u1\"\nteam = \"south\"\n"));
        const ConfigProblem* problem = FindProblem(result, "tenant \"acme\".person[0].team");
        REQUIRE(problem != nullptr);
        CHECK(problem->line == 11);
        CHECK(problem->message.find("unknown team \"south\"") != std::string::npos);
    }
    SUBCASE("a team's id is required and unique") {
        const LoadResult result =
            LoadPeople(WithPeople("[[tenant.team]]\nhead = \"h\"\n[[tenant.team]]\nid = \"a\"\n"
                                  "[[tenant.team]]\nid = \"a\"\n"));
        CHECK(HasProblem(result, "tenant \"acme\".team[0].id", "required"));
        CHECK(HasProblem(result, "tenant \"acme\".team[2].id", "duplicate team id \"a\""));
    }
    SUBCASE("a team's head must be a person with role head") {
        const LoadResult result =
            LoadPeople(WithPeople("[[tenant.person]]\ncrm_user = \"u1\"\n"               // 9-10
                                  "[[tenant.team]]\nid = \"a\"\nhead = \"u1\"\n"         // 11-13
                                  "[[tenant.team]]\nid = \"b\"\nhead = \"nobody\"\n"));  // 14-16
        const ConfigProblem* manager = FindProblem(result, "tenant \"acme\".team[0].head");
        REQUIRE(manager != nullptr);
        CHECK(manager->line == 13);
        CHECK(manager->message.find("role = \"head\"") != std::string::npos);
        const ConfigProblem* missing = FindProblem(result, "tenant \"acme\".team[1].head");
        REQUIRE(missing != nullptr);
        CHECK(missing->line == 16);
        CHECK(missing->message.find("no [[tenant.person]]") != std::string::npos);
    }
    SUBCASE("person written as a table, not an array of tables") {
        const LoadResult result = LoadPeople(WithPeople("[tenant.person]\ncrm_user = \"u1\"\n"));
        CHECK(HasProblem(result, "tenant \"acme\".person", "[[tenant.person]]"));
    }
}

TEST_CASE("[tenant.chat] common keys: defaults and values") {
    SUBCASE("defaults without the keys") {
        const LoadResult result =
            LoadPeople(WithPeople(kTeam + "[tenant.chat]\ntg_token = \"t\"\n"));
        INFO(Dump(result.problems));
        REQUIRE(result.ok());
        const ChatSettings& chat = result.config.tenants[0].chat;
        CHECK(chat.configured);
        CHECK(chat.digest == Duration::zero());
        CHECK(chat.cooldown == std::chrono::minutes{10});
        CHECK(chat.work_start_minute == 9 * 60);
        CHECK(chat.work_end_minute == 19 * 60);
        CHECK(chat.working_days == std::array<bool, 7>{true, true, true, true, true, false, false});
        CHECK(chat.morning_summary_minute == 9 * 60 + 30);
    }
    SUBCASE("a tenant without [tenant.chat]") {
        const LoadResult result = LoadPeople(WithPeople(""));
        REQUIRE(result.ok());
        CHECK_FALSE(result.config.tenants[0].chat.configured);
    }
    SUBCASE("every key set") {
        const LoadResult result =
            LoadPeople(WithPeople(
                kTeam + "[tenant.chat]\ntg_token = \"t\"\ndigest = \"30m\"\ncooldown = \"5m\"\n"
                        "working_hours = \"00:00-24:00\"\nworking_days = [\"sat\", \"sun\"]\n"
                        "morning_summary = \"\"\n"));
        INFO(Dump(result.problems));
        REQUIRE(result.ok());
        const ChatSettings& chat = result.config.tenants[0].chat;
        CHECK(chat.digest == std::chrono::minutes{30});
        CHECK(chat.cooldown == std::chrono::minutes{5});
        CHECK(chat.work_start_minute == 0);
        CHECK(chat.work_end_minute == 24 * 60);
        CHECK(chat.working_days ==
              std::array<bool, 7>{false, false, false, false, false, true, true});
        CHECK_FALSE(chat.morning_summary_minute.has_value());
    }
}

TEST_CASE("[tenant.chat] common key errors name file, line and key") {
    auto problem_for = [](const std::string& line, const std::string& key) {
        const LoadResult result =
            LoadPeople(WithPeople("[tenant.chat]\ntg_token = \"t\"\n" + line + "\n"));
        const ConfigProblem* problem = FindProblem(result, "tenant \"acme\".chat." + key);
        REQUIRE_MESSAGE(problem != nullptr, Dump(result.problems));
        CHECK(problem->file == "people.toml");
        CHECK(problem->line == 11);
        return problem->message;
    };
    CHECK(problem_for("working_hours = \"19:00-09:00\"", "working_hours")
              .find("ends before it starts") != std::string::npos);
    CHECK(problem_for("working_hours = \"9-19\"", "working_hours").find("HH:MM-HH:MM") !=
          std::string::npos);
    CHECK(problem_for("working_hours = \"09:00-24:30\"", "working_hours").find("invalid") !=
          std::string::npos);
    CHECK(problem_for("working_days = []", "working_days").find("at least one") !=
          std::string::npos);
    CHECK(problem_for("working_days = [\"mon\", \"fry\"]", "working_days[1]")
              .find("did you mean \"fri\"") != std::string::npos);
    CHECK(
        problem_for("working_days = [\"mon\", \"mon\"]", "working_days[1]").find("listed twice") !=
        std::string::npos);
    CHECK(problem_for("morning_summary = \"9:30\"", "morning_summary").find("HH:MM") !=
          std::string::npos);
    CHECK(problem_for("digest = \"30 minutes\"", "digest").size() > 0);
    CHECK(problem_for("cooldown = 5", "cooldown").size() > 0);
    CHECK(problem_for("bogus = 1", "bogus").find("unknown key") != std::string::npos);
}

TEST_CASE("A notifier is used when it is set up and someone can get its messages") {
    SUBCASE("set up, and a person has an address") {
        const LoadResult result = LoadPeople(
            WithPeople("[[tenant.person]]\ncrm_user = \"u1\"\nhook_url = \"https://h.example/1\"\n"
                       "[tenant.chat]\nhooks = true\n"));
        INFO(Dump(result.problems));
        REQUIRE(result.ok());
        CHECK(result.config.tenants[0].chat_channels.count("hook") == 1);
        CHECK(Warnings(result.config).empty());
    }
    SUBCASE("set up, but nobody has an address and nobody can link one") {
        const LoadResult result = LoadPeople(
            WithPeople("[[tenant.person]]\ncrm_user = \"u1\"\n[tenant.chat]\nhooks = true\n"));
        REQUIRE(result.ok());
        CHECK(result.config.tenants[0].chat_channels.count("hook") == 0);
    }
    SUBCASE("a team's group chat is someone too") {
        const LoadResult result = LoadPeople(WithPeople(
            "[[tenant.person]]\ncrm_user = \"h\"\nrole = \"head\"\n[[tenant.team]]\nid = \"a\"\n"
            "head = \"h\"\nhook_chat = \"https://h.example/team\"\n[tenant.chat]\nhooks = true\n"));
        INFO(Dump(result.problems));
        REQUIRE(result.ok());
        CHECK(result.config.tenants[0].chat_channels.count("hook") == 1);
    }
    SUBCASE("people who link by code need no address yet") {
        const LoadResult result = LoadPeople(
            WithPeople("[[tenant.person]]\ncrm_user = \"u1\"\n[tenant.chat]\ntg_token = \"t\"\n"));
        REQUIRE(result.ok());
        CHECK(result.config.tenants[0].chat_channels.count("tg") == 1);
    }
    SUBCASE("addresses alone do not set a notifier up") {
        const LoadResult result = LoadPeople(WithPeople(kTeam));
        REQUIRE(result.ok());
        CHECK(result.config.tenants[0].chat_channels.empty());
    }
}

TEST_CASE("Warnings about people and chat") {
    SUBCASE("addresses on a channel the tenant does not use") {
        const LoadResult result = LoadPeople(WithPeople(kTeam));
        REQUIRE(result.ok());
        const auto warnings = Warnings(result.config);
        const auto person = std::find_if(warnings.begin(), warnings.end(), [](const auto& w) {
            return w.key == "tenant \"acme\".person[0]";
        });
        REQUIRE(person != warnings.end());
        CHECK(person->file == "people.toml");
        CHECK(person->line == 9);
        CHECK(person->message.find("does not use tg") != std::string::npos);
        const auto team = std::find_if(warnings.begin(), warnings.end(), [](const auto& w) {
            return w.key == "tenant \"acme\".team[0]";
        });
        REQUIRE(team != warnings.end());
        CHECK(team->line == 18);
    }
    SUBCASE("a head who leads no team") {
        const LoadResult result = LoadPeople(WithPeople(
            "[[tenant.person]]\ncrm_user = \"h\"\nrole = \"head\"\n[tenant.chat]\ntg_token = "
            "\"t\"\n"));
        REQUIRE(result.ok());
        const auto warnings = Warnings(result.config);
        REQUIRE(warnings.size() == 1);
        CHECK(warnings[0].key == "tenant \"acme\".person[0]");
        CHECK(warnings[0].message.find("leads no team") != std::string::npos);
    }
    SUBCASE("rules ask for messages, a chat is set up, but no people") {
        const std::string amo =
            "[[tenant]]\nid = \"acme\"\nsecret = \"s\"\ncrm = \"amocrm\"\n"
            "[tenant.amocrm]\nsubdomain = \"acme\"\ntoken = \"tok\"\n"
            "[tenant.chat]\ntg_token = \"t\"\n";
        const LoadResult result = LoadPeople(amo);
        INFO(Dump(result.problems));
        REQUIRE(result.ok());
        const auto warnings = Warnings(result.config);
        REQUIRE(warnings.size() == 1);
        CHECK(warnings[0].key == "tenant \"acme\".person");
        CHECK(warnings[0].message.find("no [[tenant.person]]") != std::string::npos);
    }
}

TEST_CASE("deal_url: a generic tenant's template, derived for amoCRM") {
    SUBCASE("generic: optional, absent means no link") {
        const LoadResult result = LoadPeople(WithPeople(""));
        REQUIRE(result.ok());
        CHECK(result.config.tenants[0].deal_url.empty());
    }
    SUBCASE("generic: set") {
        const LoadResult result = LoadPeople(
            WithPeople("[tenant.generic]\ndeal_url = \"https://crm.example/deals/{deal}\"\n"));
        INFO(Dump(result.problems));
        REQUIRE(result.ok());
        CHECK(result.config.tenants[0].deal_url == "https://crm.example/deals/{deal}");
    }
    SUBCASE("generic: without {deal}") {
        const LoadResult result =
            LoadPeople(WithPeople("[tenant.generic]\ndeal_url = \"https://crm.example/deals\"\n"));
        const ConfigProblem* problem = FindProblem(result, "tenant \"acme\".generic.deal_url");
        REQUIRE(problem != nullptr);
        CHECK(problem->line == 10);
        CHECK(problem->message.find("{deal}") != std::string::npos);
    }
    SUBCASE("generic: not a URL") {
        const LoadResult result =
            LoadPeople(WithPeople("[tenant.generic]\ndeal_url = \"{deal}\"\n"));
        CHECK(HasProblem(result, "tenant \"acme\".generic.deal_url", "http"));
    }
    SUBCASE("amoCRM: from the subdomain") {
        const LoadResult result = LoadPeople(
            "[[tenant]]\nid = \"acme\"\nsecret = \"s\"\ncrm = \"amocrm\"\n"
            "[tenant.amocrm]\nsubdomain = \"acme\"\ntoken = \"tok\"\n");
        INFO(Dump(result.problems));
        REQUIRE(result.ok());
        CHECK(result.config.tenants[0].deal_url == "https://acme.amocrm.ru/leads/detail/{deal}");
    }
    SUBCASE("amoCRM: from base_url") {
        const LoadResult result = LoadPeople(
            "[[tenant]]\nid = \"acme\"\nsecret = \"s\"\ncrm = \"amocrm\"\n"
            "[tenant.amocrm]\nbase_url = \"http://127.0.0.1:9/\"\ntoken = \"tok\"\n");
        INFO(Dump(result.problems));
        REQUIRE(result.ok());
        CHECK(result.config.tenants[0].deal_url == "http://127.0.0.1:9/leads/detail/{deal}");
    }
}

TEST_CASE("Chat templates are read, bare or quoted; unknown chat keys are errors") {
    const LoadResult result =
        LoadPeople(WithPeople("[tenant.templates]\n"
                              "\"chat.notify\" = \"N {deal}\"\n"
                              "chat.rule.stage_order = \"Этапы\"\n"
                              "chat.todo.overdue_task = \"Сделайте\"\n"
                              "chat.bogus = \"x\"\n"
                              "chat.rule.nope = \"x\"\n"));
    CHECK(result.config.tenants[0].templates.at("chat.notify") == "N {deal}");
    CHECK(result.config.tenants[0].templates.at("chat.rule.stage_order") == "Этапы");
    CHECK(result.config.tenants[0].templates.at("chat.todo.overdue_task") == "Сделайте");
    const ConfigProblem* bogus = FindProblem(result, "tenant \"acme\".templates.chat.bogus");
    REQUIRE(bogus != nullptr);
    CHECK(bogus->line == 13);
    CHECK(FindProblem(result, "tenant \"acme\".templates.chat.rule.nope") != nullptr);
    CHECK(result.problems.size() == 2);
}

}  // namespace
}  // namespace fg::config
