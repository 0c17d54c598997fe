// [[tenant.person]] and [[tenant.team]]: who the CRM users are, who leads whom, and where each
// of them reads chat (the notifiers' keys).
#include <map>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "src/config/reader.hpp"

namespace fg::config::detail {
namespace {

// Where a parsed entry's cross-referenced keys sit, for problems found after all are read.
struct PersonSource {
    std::string path{};
    int team_line = 0;
};
struct TeamSource {
    std::string path{};
    int head_line = 0;
};

const toml::array* TablesOf(TableReader& tenant, std::string_view key, std::string_view how) {
    const toml::node* node = tenant.Get(key);
    if (node == nullptr) {
        return nullptr;
    }
    const auto* array = node->as_array();
    if (array == nullptr || !array->is_array_of_tables()) {
        tenant.Problem(key, fmt::format("must be an array of tables: write {}", how));
        return nullptr;
    }
    return array;
}

// Reads one notifier address key (person_key or team_key) into `out` by channel.
void ReadAddresses(TableReader& reader, const NotifierSchemas& notifiers, bool team,
                   std::map<std::string, std::string>& out) {
    for (const NotifierSchema& notifier : notifiers) {
        const std::string& key = team ? notifier.team_key : notifier.person_key;
        if (key.empty()) {
            continue;
        }
        auto address = reader.String(key);
        if (!address) {
            continue;
        }
        if (address->empty()) {
            reader.Problem(key, "must not be empty (leave the key out instead)");
            continue;
        }
        if (notifier.check_address) {
            if (std::string problem = notifier.check_address(*address); !problem.empty()) {
                reader.Problem(key, problem);
                continue;
            }
        }
        out[notifier.name] = *address;
    }
}

std::optional<std::string> RequiredId(TableReader& reader, std::string_view key,
                                      std::string_view what) {
    auto value = reader.String(key);
    if (!value) {
        if (reader.table().get(key) == nullptr) {
            reader.Problem(key, fmt::format("required: {}", what));
        }
        return std::nullopt;
    }
    if (value->empty()) {
        reader.Problem(key, "must not be empty");
        return std::nullopt;
    }
    return value;
}

void ParsePersons(TableReader& tenant, TenantConfig& config, const NotifierSchemas& notifiers,
                  std::vector<PersonSource>& sources) {
    const toml::array* array = TablesOf(tenant, "person", "[[tenant.person]]");
    if (array == nullptr) {
        return;
    }
    const std::string path = tenant.Path("person");
    std::map<std::string, int> seen;  // crm_user -> line of its first person
    for (std::size_t i = 0; i < array->size(); ++i) {
        TableReader reader(*array->get(i)->as_table(), IndexKey(path, i), tenant.sink(),
                           tenant.Line("person"));
        Person person;
        person.source_line = reader.line();
        if (auto user = RequiredId(reader, "crm_user",
                                   "the CRM's user id, or the user's name as the CRM shows it")) {
            auto [it, inserted] = seen.emplace(*user, reader.Line("crm_user"));
            if (!inserted) {
                reader.Problem("crm_user", fmt::format("duplicate person \"{}\" (first at line {})",
                                                       *user, it->second));
            }
            person.crm_user = *user;
        }
        reader.Read("name", person.name);
        if (auto role = reader.String("role")) {
            if (*role == "manager" || *role == "head") {
                person.role = *role == "head" ? Role::kHead : Role::kManager;
            } else {
                reader.Problem("role",
                               WithSuggestion(fmt::format("must be one of manager | head, not "
                                                          "\"{}\"",
                                                          *role),
                                              *role, {"manager", "head"}));
            }
        }
        reader.Read("team", person.team);
        ReadAddresses(reader, notifiers, /*team=*/false, person.addresses);
        reader.RejectUnknownKeys();
        sources.push_back({.path = reader.path(), .team_line = reader.Line("team")});
        config.people.push_back(std::move(person));
    }
}

void ParseTeams(TableReader& tenant, TenantConfig& config, const NotifierSchemas& notifiers,
                std::vector<TeamSource>& sources) {
    const toml::array* array = TablesOf(tenant, "team", "[[tenant.team]]");
    if (array == nullptr) {
        return;
    }
    const std::string path = tenant.Path("team");
    std::map<std::string, int> seen;
    for (std::size_t i = 0; i < array->size(); ++i) {
        TableReader reader(*array->get(i)->as_table(), IndexKey(path, i), tenant.sink(),
                           tenant.Line("team"));
        Team team;
        team.source_line = reader.line();
        if (auto id = RequiredId(reader, "id", "the team's id, which people name in team")) {
            auto [it, inserted] = seen.emplace(*id, reader.Line("id"));
            if (!inserted) {
                reader.Problem("id", fmt::format("duplicate team id \"{}\" (first at line {})", *id,
                                                 it->second));
            }
            team.id = *id;
        }
        if (auto head = RequiredId(reader, "head", "the crm_user of the team's head of sales")) {
            team.head = *head;
        }
        ReadAddresses(reader, notifiers, /*team=*/true, team.chats);
        reader.RejectUnknownKeys();
        sources.push_back({.path = reader.path(), .head_line = reader.Line("head")});
        config.teams.push_back(std::move(team));
    }
}

}  // namespace

void ParsePeople(TableReader& tenant, TenantConfig& config, const NotifierSchemas& notifiers) {
    std::vector<PersonSource> person_sources;
    std::vector<TeamSource> team_sources;
    ParsePersons(tenant, config, notifiers, person_sources);
    ParseTeams(tenant, config, notifiers, team_sources);

    std::set<std::string> team_ids;
    for (const Team& team : config.teams) {
        team_ids.insert(team.id);
    }
    for (std::size_t i = 0; i < config.people.size(); ++i) {
        const Person& person = config.people[i];
        if (!person.team.empty() && team_ids.count(person.team) == 0) {
            tenant.sink().Add(person_sources[i].team_line, JoinKey(person_sources[i].path, "team"),
                              fmt::format("unknown team \"{}\" (add a [[tenant.team]] with "
                                          "id = \"{}\")",
                                          person.team, person.team));
        }
    }
    for (std::size_t i = 0; i < config.teams.size(); ++i) {
        const Team& team = config.teams[i];
        if (team.head.empty()) {
            continue;
        }
        const Person* head = nullptr;
        for (const Person& person : config.people) {
            if (person.crm_user == team.head) {
                head = &person;
            }
        }
        const std::string key = JoinKey(team_sources[i].path, "head");
        if (head == nullptr) {
            tenant.sink().Add(team_sources[i].head_line, key,
                              fmt::format("no [[tenant.person]] has crm_user = \"{}\"; the head "
                                          "must be one, with role = \"head\"",
                                          team.head));
        } else if (head->role != Role::kHead) {
            tenant.sink().Add(team_sources[i].head_line, key,
                              fmt::format("person \"{}\" is a manager; a team's head needs "
                                          "role = \"head\"",
                                          team.head));
        }
    }
}

std::vector<ConfigProblem> PeopleWarnings(const TenantConfig& tenant) {
    std::vector<ConfigProblem> warnings;
    const std::string prefix = fmt::format("tenant \"{}\"", tenant.id);
    auto warn = [&](int line, std::string key, std::string message) {
        warnings.push_back(ConfigProblem{.file = tenant.source_file,
                                         .line = line,
                                         .key = std::move(key),
                                         .message = std::move(message)});
    };
    for (std::size_t i = 0; i < tenant.people.size(); ++i) {
        const Person& person = tenant.people[i];
        const std::string key = IndexKey(JoinKey(prefix, "person"), i);
        for (const auto& [channel, address] : person.addresses) {
            if (tenant.chat_channels.count(channel) == 0) {
                warn(person.source_line, key,
                     fmt::format("person \"{}\" has a {} address, but the tenant does not use {} "
                                 "(its [tenant.chat] does not set it up): nothing is sent there",
                                 person.crm_user, channel, channel));
            }
        }
        if (person.role == Role::kHead) {
            bool leads = false;
            for (const Team& team : tenant.teams) {
                leads = leads || team.head == person.crm_user;
            }
            if (!leads) {
                warn(person.source_line, key,
                     fmt::format("head \"{}\" leads no team (no [[tenant.team]] has head = "
                                 "\"{}\"): no escalation or team summary reaches them",
                                 person.crm_user, person.crm_user));
            }
        }
    }
    for (std::size_t i = 0; i < tenant.teams.size(); ++i) {
        const Team& team = tenant.teams[i];
        for (const auto& [channel, address] : team.chats) {
            if (tenant.chat_channels.count(channel) == 0) {
                warn(team.source_line, IndexKey(JoinKey(prefix, "team"), i),
                     fmt::format("team \"{}\" has a {} chat, but the tenant does not use {} (its "
                                 "[tenant.chat] does not set it up): nothing is sent there",
                                 team.id, channel, channel));
            }
        }
    }
    return warnings;
}

}  // namespace fg::config::detail
