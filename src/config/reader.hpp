#pragma once

// Internal to src/config: helpers the section parsers share. Not part of the module's contract.

#include <array>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <toml++/toml.h>

#include "src/common/time.hpp"
#include "src/config/config.hpp"
#include "src/config/section.hpp"

namespace fg::config::detail {

using config::IsHttpUrl;
using config::ProblemSink;
using config::TableReader;

/// The rule ids of DESIGN.md §1, in the order of the document.
inline constexpr std::array<std::string_view, 5> kRuleIds = {
    "stage_order", "deal_without_task", "actual_stage", "card_filled", "overdue_task"};

/// `prefix.key`, quoting keys that are not bare TOML keys: max_age."Счёт выставлен".
std::string JoinKey(std::string_view prefix, std::string_view key);
/// `prefix[index]`.
std::string IndexKey(std::string_view prefix, std::size_t index);
/// A tenant id: lowercase letters, digits, "_" and "-".
bool IsValidTenantId(std::string_view id);
/// How problems name the `index`-th [[tenant]] table of a file: by its id, `tenant "beta"`, which
/// stays right when tenants are reordered; by position, `tenant[1]`, only while the table has no
/// valid id to go by (missing, not a string, or not a valid id).
std::string TenantKey(const toml::table& table, std::size_t index);
/// The 1-based line a node starts on, or `fallback` when the parser recorded none.
int LineOf(const toml::node& node, int fallback);
/// The closest of `candidates` to `word` within an edit distance of 2 (in code points), if any.
std::optional<std::string> Suggest(std::string_view word,
                                   const std::vector<std::string>& candidates);
/// `word`, plus ` (did you mean "x"?)` when a candidate is close.
std::string WithSuggestion(std::string message, std::string_view word,
                           const std::vector<std::string>& candidates);

/// Replaces ${NAME} in every string value under `table` with the environment's value. Unset or
/// malformed references are problems (the variable's name, never a value, is reported).
void ExpandEnvironment(toml::table& table, std::string_view path, ProblemSink& sink);

/// Reads a node as a duration ("30s", "15m", "4h", "14d"), reporting a problem otherwise.
std::optional<Duration> ReadDuration(const toml::node& node, const std::string& path,
                                     ProblemSink& sink, int fallback_line);
/// Reads an array of strings, reporting a problem for the array or each bad element.
std::optional<std::vector<std::pair<std::string, int>>> ReadStringList(const toml::node& node,
                                                                       const std::string& path,
                                                                       ProblemSink& sink,
                                                                       int fallback_line);

/// The stage names a tenant's pipelines define; empty set = nothing to check against.
struct StageCatalog {
    std::set<std::string> names{};
    std::vector<std::string> list{};  // the same names, for suggestions
    bool check = false;
    /// Where every stage and field reference is recorded (CheckNames); null: nowhere.
    std::vector<NameRef>* refs = nullptr;

    /// Reports `unknown stage "X"` at (line, key) unless the stage is known; records the
    /// reference either way.
    void Require(const std::string& stage, int line, const std::string& key,
                 ProblemSink& sink) const;
    /// Records a card field reference (fields are checked against the CRM's directory).
    void Field(const std::string& field, int line, const std::string& key,
               const ProblemSink& sink) const;
};

/// Parses `[tenant.rules]` into `rules`. `rules` must already hold the defaults.
void ParseRules(TableReader& tenant, RulesConfig& rules, const StageCatalog& stages);
/// Fills the default actions of every rule.
void ApplyRuleDefaults(RulesConfig& rules);

/// Parses one [[tenant]] table. `line` is the table's own line; relative file names (ca_file)
/// resolve against `base_dir`, the folder of the file that defines the tenant; its CRM section is
/// read by the CRM schema its `crm` names, its `[tenant.chat]` by the notifiers' schemas.
TenantConfig ParseTenant(const toml::table& table, const std::string& path, ProblemSink& sink,
                         int line, const std::string& base_dir, const Schemas& schemas);

/// Reads `[[tenant.person]]` and `[[tenant.team]]` (the notifiers' person_key and team_key are
/// their address keys) and checks their references: a person's team exists, a team's head is a
/// person with role head.
void ParsePeople(TableReader& tenant, TenantConfig& config, const NotifierSchemas& notifiers);
/// Reads `[tenant.chat]`: the common keys into config.chat, each notifier's through its schema;
/// a notifier is among chat_channels when it parsed settings and has someone to send to (an
/// address of a person or a team, or links_by_code). After ParsePeople.
void ParseChat(TableReader& tenant, TenantConfig& config, const NotifierSchemas& notifiers,
               const std::string& base_dir);
/// Addresses on channels the tenant does not use; heads who lead no team.
std::vector<ConfigProblem> PeopleWarnings(const TenantConfig& tenant);

/// What a loaded tenant asks for that cannot happen: a rule that lists notify or escalate while
/// the tenant has no chat to send them to (those messages are not planned).
std::vector<ConfigProblem> TenantWarnings(const TenantConfig& tenant);

}  // namespace fg::config::detail
