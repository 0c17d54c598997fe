// One [[tenant]] table: identity, CRM (its section read by its adapter), pipelines, rules and
// templates.
#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "src/config/reader.hpp"

namespace fg::config::detail {
namespace {

bool IsValidClock(std::string_view text) {
    if (text.size() != 5 || text[2] != ':') {
        return false;
    }
    for (const std::size_t i : {0, 1, 3, 4}) {
        if (text[i] < '0' || text[i] > '9') {
            return false;
        }
    }
    const int hours = (text[0] - '0') * 10 + (text[1] - '0');
    const int minutes = (text[3] - '0') * 10 + (text[4] - '0');
    return hours < 24 && minutes < 60;
}

// "an" before a vowel ("an amocrm tenant"), else "a".
std::string_view Article(std::string_view word) {
    return !word.empty() && std::string_view("aeiou").find(word.front()) != std::string_view::npos
               ? "an"
               : "a";
}

// Reads `key` and checks it against `allowed`, reporting the allowed values otherwise.
std::optional<std::string> OneOf(TableReader& reader, std::string_view key,
                                 const std::vector<std::string>& allowed) {
    auto value = reader.String(key);
    if (!value) {
        return std::nullopt;
    }
    if (std::find(allowed.begin(), allowed.end(), *value) != allowed.end()) {
        return value;
    }
    reader.Problem(key, WithSuggestion(fmt::format("must be one of {}, not \"{}\"",
                                                   fmt::join(allowed, " | "), *value),
                                       *value, allowed));
    return std::nullopt;
}

// Checks the stage lists of one [[tenant.pipeline]] and builds the domain pipeline:
// intake stages first, then the funnel in order (open, then won), then lost ones.
std::optional<domain::Pipeline> ParsePipeline(TableReader& reader) {
    domain::Pipeline pipeline;
    bool ok = true;
    if (auto id = reader.String("id")) {
        if (id->empty()) {
            reader.Problem("id", "must not be empty");
            ok = false;
        }
        pipeline.id = *id;
    } else {
        if (reader.table().get("id") == nullptr) {
            reader.Problem("id", "required: the pipeline's id as the CRM events name it");
        }
        ok = false;
    }
    auto stages = reader.StringList("stages");
    if (!stages) {
        if (reader.table().get("stages") == nullptr) {
            reader.Problem("stages", "required: the open stages in order, then the won ones");
        }
        ok = false;
    } else if (stages->empty()) {
        reader.Problem("stages", "must list at least one stage");
        ok = false;
    }
    auto won = reader.StringList("won");
    auto lost = reader.StringList("lost");
    auto intake = reader.StringList("intake");
    if (!stages || (reader.table().get("won") != nullptr && !won) ||
        (reader.table().get("lost") != nullptr && !lost) ||
        (reader.table().get("intake") != nullptr && !intake)) {
        return std::nullopt;
    }
    const std::vector<std::pair<std::string, int>> none;
    const auto& won_list = won ? *won : none;
    const auto& lost_list = lost ? *lost : none;
    const auto& intake_list = intake ? *intake : none;

    // Every name once across stages, lost and intake: a stage has exactly one kind.
    std::map<std::string, std::string> seen;  // name -> list it first appeared in
    auto check_unique = [&](const std::vector<std::pair<std::string, int>>& list,
                            std::string_view key) {
        const std::string path = reader.Path(key);
        for (std::size_t i = 0; i < list.size(); ++i) {
            const auto& [name, line] = list[i];
            if (name.empty()) {
                reader.sink().Add(line, IndexKey(path, i), "stage name must not be empty");
                ok = false;
                continue;
            }
            auto [it, inserted] = seen.emplace(name, std::string(key));
            if (!inserted) {
                reader.sink().Add(line, IndexKey(path, i),
                                  it->second == key
                                      ? fmt::format("duplicate stage \"{}\"", name)
                                      : fmt::format("stage \"{}\" is already listed in {}: a "
                                                    "stage has one kind",
                                                    name, it->second));
                ok = false;
            }
        }
    };
    check_unique(intake_list, "intake");
    check_unique(*stages, "stages");
    check_unique(lost_list, "lost");

    std::set<std::string> won_names;
    const std::string won_path = reader.Path("won");
    for (std::size_t i = 0; i < won_list.size(); ++i) {
        // Not a structured binding: the lambda below uses `name`, and clang before 16 cannot
        // capture one (the fuzz build, bench/fuzz, compiles with clang 14).
        const std::string& name = won_list[i].first;
        const int line = won_list[i].second;
        const bool in_stages = std::any_of(stages->begin(), stages->end(),
                                           [&](const auto& stage) { return stage.first == name; });
        if (!in_stages) {
            reader.sink().Add(line, IndexKey(won_path, i),
                              fmt::format("won stage \"{}\" is not in stages (list the open "
                                          "stages, then the won ones)",
                                          name));
            ok = false;
        }
        won_names.insert(name);
    }
    // The funnel order is open stages, then won ones: a won stage in the middle would make every
    // later open stage unreachable without a "skip".
    bool after_won = false;
    std::string first_won;
    int open_count = 0;
    for (const auto& [name, line] : *stages) {
        if (won_names.count(name) != 0) {
            if (!after_won) {
                first_won = name;
            }
            after_won = true;
            continue;
        }
        ++open_count;
        if (after_won) {
            reader.sink().Add(line, reader.Path("stages"),
                              fmt::format("open stage \"{}\" comes after won stage \"{}\": list "
                                          "the open stages first, then the won ones",
                                          name, first_won));
            ok = false;
        }
    }
    if (!stages->empty() && open_count == 0) {
        reader.Problem("stages", "must have at least one open stage (one not listed in won)");
        ok = false;
    }
    if (!ok) {
        return std::nullopt;
    }
    for (const auto& [name, line] : intake_list) {
        pipeline.stages.push_back({.name = name, .kind = domain::StageKind::kIntake});
    }
    for (const auto& [name, line] : *stages) {
        pipeline.stages.push_back({.name = name,
                                   .kind = won_names.count(name) != 0 ? domain::StageKind::kWon
                                                                      : domain::StageKind::kOpen});
    }
    for (const auto& [name, line] : lost_list) {
        pipeline.stages.push_back({.name = name, .kind = domain::StageKind::kLost});
    }
    return pipeline;
}

// Returns false when a pipeline was rejected: stage references cannot be checked then.
bool ParsePipelines(TableReader& tenant, TenantConfig& config) {
    const toml::node* node = tenant.Get("pipeline");
    if (node == nullptr) {
        return true;
    }
    const auto* array = node->as_array();
    if (array == nullptr || !array->is_array_of_tables()) {
        tenant.Problem("pipeline", "must be an array of tables: write [[tenant.pipeline]]");
        return false;
    }
    bool all_ok = true;
    const std::string path = tenant.Path("pipeline");
    std::map<std::string, int> ids;
    for (std::size_t i = 0; i < array->size(); ++i) {
        const toml::table& table = *array->get(i)->as_table();
        TableReader reader(table, IndexKey(path, i), tenant.sink(), tenant.Line("pipeline"));
        auto pipeline = ParsePipeline(reader);
        reader.RejectUnknownKeys();
        if (!pipeline) {
            all_ok = false;
            continue;
        }
        auto [it, inserted] = ids.emplace(pipeline->id, reader.line());
        if (!inserted) {
            reader.Problem("id", fmt::format("duplicate pipeline id \"{}\" (first at line {})",
                                             pipeline->id, it->second));
            continue;
        }
        config.pipelines.push_back(std::move(*pipeline));
    }
    return all_ok;
}

// The chat core's texts (src/notify/compose): its message layouts and labels, and per rule its
// title and what to do.
constexpr std::array<std::string_view, 12> kChatTemplates = {
    "notify",          "escalate",        "digest_header",
    "digest_item",     "escalate_header", "escalate_item",
    "summary_manager", "summary_head",    "summary_head_line",
    "covering",        "open_deal",       "ack"};

bool IsRuleId(std::string_view id) {
    return std::find(kRuleIds.begin(), kRuleIds.end(), id) != kRuleIds.end();
}

bool IsTemplateKey(std::string_view key) {
    if (key.rfind("chat.", 0) == 0) {
        const std::string_view rest = key.substr(5);
        if (std::find(kChatTemplates.begin(), kChatTemplates.end(), rest) != kChatTemplates.end()) {
            return true;
        }
        for (const std::string_view kind : {"rule.", "todo."}) {
            if (rest.rfind(kind, 0) == 0 && IsRuleId(rest.substr(kind.size()))) {
                return true;
            }
        }
        return false;
    }
    const auto dot = key.rfind('.');
    if (dot == std::string_view::npos) {
        return false;
    }
    const std::string_view kind = key.substr(dot + 1);
    return (kind == "message" || kind == "task") && IsRuleId(key.substr(0, dot));
}

std::vector<std::string> TemplateKeys() {
    std::vector<std::string> keys;
    for (const std::string_view rule : kRuleIds) {
        keys.push_back(fmt::format("{}.message", rule));
        keys.push_back(fmt::format("{}.task", rule));
        keys.push_back(fmt::format("chat.rule.{}", rule));
        keys.push_back(fmt::format("chat.todo.{}", rule));
    }
    for (const std::string_view name : kChatTemplates) {
        keys.push_back(fmt::format("chat.{}", name));
    }
    return keys;
}

void AddTemplate(TenantConfig& config, ProblemSink& sink, const std::string& name,
                 const toml::node& node, const std::string& path, int line) {
    if (!IsTemplateKey(name)) {
        sink.Add(line, path,
                 WithSuggestion(fmt::format("unknown template \"{}\" (use \"<rule id>.message\", "
                                            "\"<rule id>.task\" or a \"chat.\" key)",
                                            name),
                                name, TemplateKeys()));
        return;
    }
    if (const auto* text = node.as_string()) {
        config.templates[name] = text->get();
    } else {
        sink.Add(line, path, "must be a string");
    }
}

// A template under a nested table: its dotted name.
void AddTemplates(TenantConfig& config, ProblemSink& sink, const std::string& name,
                  const toml::node& node, const std::string& path, int line) {
    if (const auto* nested = node.as_table()) {
        for (const auto& [inner_key, inner] : *nested) {
            const std::string inner_name{inner_key.str()};
            AddTemplates(config, sink, fmt::format("{}.{}", name, inner_name), inner,
                         JoinKey(path, inner_name), LineOf(inner, line));
        }
        return;
    }
    AddTemplate(config, sink, name, node, path, line);
}

// Keys are "<rule id>.message", "<rule id>.task" and "chat.<...>". Written quoted they are one
// key; written bare (stage_order.message = "...", chat.rule.stage_order = "...") TOML nests
// them, which is accepted too.
void ParseTemplates(TableReader& tenant, TenantConfig& config) {
    const toml::table* table = tenant.Table("templates");
    if (table == nullptr) {
        return;
    }
    const std::string path = tenant.Path("templates");
    const int table_line = LineOf(*table, tenant.line());
    for (const auto& [key, node] : *table) {
        const std::string name{key.str()};
        AddTemplates(config, tenant.sink(), name, node, JoinKey(path, name),
                     LineOf(node, table_line));
    }
}

}  // namespace

namespace {

// Rules that ask for chat messages, as "stage_order (notify, escalate)".
std::vector<std::string> RulesAskingForMessages(const TenantConfig& tenant) {
    const RulesConfig& rules = tenant.rules;
    const std::array<const RuleCommon*, kRuleIds.size()> commons = {
        &rules.stage_order.common, &rules.deal_without_task.common, &rules.actual_stage.common,
        &rules.card_filled.common, &rules.overdue_task.common};
    std::vector<std::string> asking;
    for (std::size_t i = 0; i < kRuleIds.size(); ++i) {
        const RuleCommon& common = *commons[i];
        if (!common.enabled) {
            continue;
        }
        std::vector<std::string> kinds;
        for (const ActionKind kind : common.actions) {
            if (domain::IsMessage(kind)) {
                kinds.emplace_back(ToString(kind));
            }
        }
        if (common.escalate_after &&
            std::find(kinds.begin(), kinds.end(), "escalate") == kinds.end()) {
            kinds.emplace_back("escalate");
        }
        if (!kinds.empty()) {
            asking.push_back(fmt::format("{} ({})", kRuleIds[i], fmt::join(kinds, ", ")));
        }
    }
    return asking;
}

}  // namespace

std::vector<ConfigProblem> TenantWarnings(const TenantConfig& tenant) {
    std::vector<ConfigProblem> warnings = PeopleWarnings(tenant);
    if (tenant.mode == Mode::kObserve) {
        return warnings;
    }
    const std::vector<std::string> asking = RulesAskingForMessages(tenant);
    if (asking.empty()) {
        return warnings;
    }
    if (tenant.MessageChannels().empty()) {
        warnings.push_back(ConfigProblem{
            .file = tenant.source_file,
            .line = tenant.source_line,
            .key = fmt::format("tenant \"{}\".rules", tenant.id),
            .message =
                fmt::format("rules {} ask for chat messages, but the tenant has no chat to send "
                            "them to ([tenant.chat]); they are not sent",
                            fmt::join(asking, ", "))});
    } else if (!tenant.chat_channels.empty() && tenant.people.empty()) {
        warnings.push_back(ConfigProblem{
            .file = tenant.source_file,
            .line = tenant.source_line,
            .key = fmt::format("tenant \"{}\".person", tenant.id),
            .message = fmt::format("rules {} ask for chat messages, but no [[tenant.person]] "
                                   "says who reads them; they reach no one in chat",
                                   fmt::join(asking, ", "))});
    }
    return warnings;
}

TenantConfig ParseTenant(const toml::table& table, const std::string& path, ProblemSink& sink,
                         int line, const std::string& base_dir, const Schemas& schemas) {
    const CrmSchemas& crms = schemas.crms;
    TenantConfig config;
    config.source_file = sink.file();
    config.source_line = line;
    ApplyRuleDefaults(config.rules);
    TableReader reader(table, path, sink, line);

    if (auto id = reader.String("id")) {
        if (!IsValidTenantId(*id)) {
            reader.Problem("id",
                           fmt::format("invalid tenant id \"{}\" (use a-z, 0-9, _ and -)", *id));
        }
        config.id = *id;
    } else if (table.get("id") == nullptr) {
        reader.Problem("id", "required: the tenant's id (a-z, 0-9, _ and -)");
    }
    std::vector<std::string> crm_names;
    const CrmSchema* schema = nullptr;
    for (const CrmSchema& candidate : crms) {
        crm_names.push_back(candidate.name);
        if (candidate.is_default) {
            schema = &candidate;
        }
    }
    if (table.get("crm") != nullptr) {
        schema = nullptr;
        if (auto crm = OneOf(reader, "crm", crm_names)) {
            schema = &*std::find_if(crms.begin(), crms.end(),
                                    [&](const CrmSchema& known) { return known.name == *crm; });
        }
    }
    if (schema != nullptr) {
        config.crm = schema->name;
        config.pipelines_from_api = schema->pipelines_from_api;
        config.crm_delivers_messages = schema->delivers_messages;
    }
    if (auto secret = reader.String("secret")) {
        if (secret->empty()) {
            reader.Problem("secret", "must not be empty");
        }
        config.secret = *secret;
    } else if (table.get("secret") == nullptr) {
        reader.Problem("secret",
                       "required: the webhook secret (keep it out of the file: \"${NAME}\")");
    }
    if (auto timezone = reader.String("timezone")) {
        if (!IsKnownTimeZone(*timezone)) {
            reader.Problem("timezone",
                           fmt::format("unknown time zone \"{}\" (use an IANA name such as "
                                       "\"Europe/Moscow\")",
                                       *timezone));
        } else {
            config.timezone = *timezone;
        }
    }
    if (auto locale = OneOf(reader, "locale", {"ru", "en"})) {
        config.locale = *locale;
    }
    if (auto mode = OneOf(reader, "mode", {"observe", "warn", "enforce"})) {
        config.mode = *mode == "observe" ? Mode::kObserve
                      : *mode == "warn"  ? Mode::kWarn
                                         : Mode::kEnforce;
    }
    if (auto at = reader.String("reconcile_at")) {
        if (!IsValidClock(*at)) {
            reader.Problem("reconcile_at",
                           fmt::format("invalid time \"{}\" (use HH:MM, e.g. \"03:00\")", *at));
        } else {
            config.reconcile_at = *at;
        }
    }

    const bool pipelines_ok = ParsePipelines(reader, config);
    if (schema != nullptr && !schema->pipelines_from_api && config.pipelines.empty() &&
        table.get("pipeline") == nullptr) {
        reader.sink().Add(reader.line(), reader.Path("pipeline"),
                          fmt::format("{} {} tenant needs at least one [[tenant.pipeline]]",
                                      Article(schema->name), schema->name));
    }
    if (schema != nullptr && schema->pipelines_from_api && table.get("pipeline") != nullptr) {
        reader.sink().Add(reader.Line("pipeline"), reader.Path("pipeline"),
                          fmt::format("{} {} tenant reads its pipelines from the {} API; remove "
                                      "[[tenant.pipeline]]",
                                      Article(schema->name), schema->name, schema->title));
    }
    StageCatalog stages;
    stages.check = pipelines_ok && !config.pipelines.empty();
    stages.refs = &config.names;
    for (const domain::Pipeline& pipeline : config.pipelines) {
        for (const domain::Stage& stage : pipeline.stages) {
            if (stages.names.insert(stage.name).second) {
                stages.list.push_back(stage.name);
            }
        }
    }
    ParseRules(reader, config.rules, stages);
    for (const CrmSchema& crm : crms) {
        if (schema == &crm) {
            if (crm.parse) {
                config.crm_settings = crm.parse(reader, base_dir);
            }
        } else if (table.get(crm.name) != nullptr) {
            reader.sink().Add(reader.Line(crm.name), reader.Path(crm.name),
                              fmt::format("[tenant.{0}] is for crm = \"{0}\"; this tenant's crm "
                                          "is \"{1}\"",
                                          crm.name, config.crm));
            reader.Known(crm.name);
        }
    }
    if (config.crm_settings) {
        config.deal_url = config.crm_settings->DealUrl();
    }
    ParsePeople(reader, config, schemas.notifiers);
    ParseChat(reader, config, schemas.notifiers, base_dir);
    ParseTemplates(reader, config);
    // The section of an unknown crm is covered by the crm problem above.
    if (schema == nullptr) {
        if (const auto* crm = table.get("crm"); crm != nullptr && crm->is_string()) {
            reader.Known(crm->as_string()->get());
        }
    }
    reader.RejectUnknownKeys();
    return config;
}

}  // namespace fg::config::detail
