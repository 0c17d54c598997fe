// [tenant.rules.<rule id>]: one parser per rule, sharing the keys every rule has.
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "src/config/reader.hpp"

namespace fg::config::detail {
namespace {

constexpr Duration kDefaultEscalateAfter = std::chrono::hours{24};
// A task funnelguard creates is due no sooner than this (a reminder due in seconds is overdue
// before anyone can read it), and no later than kMaxTaskDue.
constexpr Duration kMinTaskDue = std::chrono::minutes{15};
constexpr Duration kMaxTaskDue = std::chrono::days{30};

// enabled, actions and escalate_after: the keys every rule section has.
void ReadCommon(TableReader& reader, std::string_view rule, RuleCommon& common) {
    reader.Read("enabled", common.enabled);
    if (auto actions = reader.StringList("actions")) {
        const bool may_revert = rule == "stage_order" || rule == "card_filled";
        const std::string path = reader.Path("actions");
        std::vector<ActionKind> parsed;
        for (std::size_t i = 0; i < actions->size(); ++i) {
            const auto& [name, line] = (*actions)[i];
            const auto kind = domain::ParseActionKind(name);
            if (!kind || !domain::IsRuleAction(*kind)) {
                reader.sink().Add(
                    line, IndexKey(path, i),
                    WithSuggestion(fmt::format("unknown action \"{}\" (use note, task, revert, "
                                               "notify or escalate)",
                                               name),
                                   name, {"note", "task", "revert", "notify", "escalate"}));
                continue;
            }
            if (*kind == ActionKind::kRevert && !may_revert) {
                reader.sink().Add(line, IndexKey(path, i),
                                  fmt::format("action \"revert\" is only available for "
                                              "stage_order and card_filled, not {}",
                                              rule));
                continue;
            }
            if (std::find(parsed.begin(), parsed.end(), *kind) != parsed.end()) {
                reader.sink().Add(line, IndexKey(path, i),
                                  fmt::format("action \"{}\" is listed twice", name));
                continue;
            }
            parsed.push_back(*kind);
        }
        common.actions = std::move(parsed);
    }
    if (auto escalate_after = reader.DurationValue("escalate_after")) {
        common.escalate_after = escalate_after;
    }
    if (auto task_due = reader.DurationValue("task_due")) {
        if (*task_due < kMinTaskDue || *task_due > kMaxTaskDue) {
            reader.Problem("task_due",
                           fmt::format("must be between {} and {}", FormatDuration(kMinTaskDue),
                                       FormatDuration(kMaxTaskDue)));
        } else {
            common.task_due = *task_due;
        }
    }
}

void ParseStageOrder(TableReader& reader, StageOrderConfig& config, const StageCatalog& stages) {
    ReadCommon(reader, "stage_order", config.common);
    reader.Read("allow_backward", config.allow_backward);
    reader.Read("lost_from_any", config.lost_from_any);
    if (auto create_in = reader.StringList("create_in")) {
        config.create_in.clear();
        const std::string path = reader.Path("create_in");
        for (std::size_t i = 0; i < create_in->size(); ++i) {
            const auto& [stage, line] = (*create_in)[i];
            stages.Require(stage, line, IndexKey(path, i), reader.sink());
            config.create_in.push_back(stage);
        }
    }
}

void ParseDealWithoutTask(TableReader& reader, DealWithoutTaskConfig& config) {
    ReadCommon(reader, "deal_without_task", config.common);
    if (auto grace = reader.DurationValue("grace")) {
        config.grace = *grace;
    }
}

void ParseOverdueTask(TableReader& reader, OverdueTaskConfig& config) {
    ReadCommon(reader, "overdue_task", config.common);
    if (auto grace = reader.DurationValue("grace")) {
        config.grace = *grace;
    }
}

void ParseMaxAge(TableReader& rule, ActualStageConfig& config, const StageCatalog& stages) {
    const toml::table* max_age = rule.Table("max_age");
    if (max_age == nullptr) {
        return;
    }
    const std::string path = rule.Path("max_age");
    const int table_line = LineOf(*max_age, rule.line());
    for (const auto& [key, node] : *max_age) {
        const std::string name{key.str()};
        const std::string key_path = JoinKey(path, name);
        const int line = LineOf(node, table_line);
        const auto duration = ReadDuration(node, key_path, rule.sink(), table_line);
        if (name == "default") {
            config.max_age_default = duration;
            continue;
        }
        stages.Require(name, line, key_path, rule.sink());
        if (duration) {
            config.max_age[name] = *duration;
        }
    }
}

// A string that must be present and non-empty; reports what it is for otherwise.
std::optional<std::string> RequiredName(TableReader& reader, std::string_view key,
                                        std::string_view what) {
    if (reader.table().get(key) == nullptr) {
        reader.Get(key);
        reader.Problem(key, fmt::format("required: {}", what));
        return std::nullopt;
    }
    auto text = reader.String(key);
    if (text && text->empty()) {
        reader.Problem(key, fmt::format("must not be empty: {}", what));
        return std::nullopt;
    }
    return text;
}

// One of when_filled / when_equals / when_at_least, plus stage_at_least.
std::optional<ConsistencyCheck> ParseConsistencyEntry(TableReader& entry,
                                                      const StageCatalog& stages) {
    ConsistencyCheck check;
    std::vector<std::string_view> conditions;
    for (const std::string_view key : {"when_filled", "when_equals", "when_at_least"}) {
        entry.Known(key);
        if (entry.table().get(key) != nullptr) {
            conditions.push_back(key);
        }
    }
    bool ok = true;
    if (conditions.empty()) {
        entry.sink().Add(entry.line(), entry.path(),
                         "needs one of when_filled, when_equals or when_at_least");
        ok = false;
    } else if (conditions.size() > 1) {
        entry.sink().Add(entry.line(), entry.path(),
                         fmt::format("has both {} and {}: use exactly one condition per entry",
                                     conditions[0], conditions[1]));
        ok = false;
    }
    if (entry.table().get("when_filled") != nullptr) {
        check.kind = ConsistencyCheck::Kind::kFilled;
        if (auto field = RequiredName(entry, "when_filled", "the card field to look at")) {
            stages.Field(*field, entry.Line("when_filled"), entry.Path("when_filled"),
                         entry.sink());
            check.field = *field;
        } else {
            ok = false;
        }
    }
    for (const std::string_view key : {"when_equals", "when_at_least"}) {
        const toml::table* condition = entry.Table(key);
        if (condition == nullptr) {
            ok = ok && entry.table().get(key) == nullptr;
            continue;
        }
        TableReader reader(*condition, entry.Path(key), entry.sink(), entry.Line(key));
        if (auto field = RequiredName(reader, "field", "the card field to look at")) {
            stages.Field(*field, reader.Line("field"), reader.Path("field"), reader.sink());
            check.field = *field;
        } else {
            ok = false;
        }
        const toml::node* value = reader.Get("value");
        if (value == nullptr) {
            reader.Problem("value", "required: the value that means the stage is reached");
            ok = false;
        } else if (key == "when_equals") {
            check.kind = ConsistencyCheck::Kind::kEquals;
            if (const auto* text = value->as_string()) {
                check.value = text->get();
            } else if (const auto* number = value->as_integer()) {
                check.value = std::to_string(number->get());
            } else {
                reader.Problem("value", "must be a string");
                ok = false;
            }
        } else {
            check.kind = ConsistencyCheck::Kind::kAtLeast;
            if (auto number = reader.Number("value")) {
                check.number = *number;
            } else {
                ok = false;
            }
        }
        reader.RejectUnknownKeys();
    }
    if (auto stage = RequiredName(entry, "stage_at_least", "the stage the condition implies")) {
        stages.Require(*stage, entry.Line("stage_at_least"), entry.Path("stage_at_least"),
                       entry.sink());
        check.stage_at_least = *stage;
    } else {
        ok = false;
    }
    entry.RejectUnknownKeys();
    if (!ok) {
        return std::nullopt;
    }
    return check;
}

void ParseActualStage(TableReader& reader, ActualStageConfig& config, const StageCatalog& stages) {
    ReadCommon(reader, "actual_stage", config.common);
    ParseMaxAge(reader, config, stages);
    const toml::array* consistency = reader.Array("consistency");
    if (consistency == nullptr) {
        return;
    }
    const std::string path = reader.Path("consistency");
    const int line = reader.Line("consistency");
    for (std::size_t i = 0; i < consistency->size(); ++i) {
        const toml::node& node = *consistency->get(i);
        const auto* table = node.as_table();
        if (table == nullptr) {
            reader.sink().Add(
                LineOf(node, line), IndexKey(path, i),
                "must be a table like { when_filled = \"F\", stage_at_least = \"S\" }");
            continue;
        }
        TableReader entry(*table, IndexKey(path, i), reader.sink(), line);
        if (auto check = ParseConsistencyEntry(entry, stages)) {
            config.consistency.push_back(std::move(*check));
        }
    }
}

void ParseCardFilled(TableReader& reader, CardFilledConfig& config, const StageCatalog& stages) {
    ReadCommon(reader, "card_filled", config.common);
    reader.Read("note_per_stage", config.note_per_stage);
    if (auto min_chars = reader.Integer("min_note_chars")) {
        if (*min_chars < 1 || *min_chars > 100000) {
            reader.Problem("min_note_chars", "must be at least 1");
        } else {
            config.min_note_chars = static_cast<int>(*min_chars);
        }
    }
    const toml::table* required = reader.Table("required");
    if (required == nullptr) {
        return;
    }
    const std::string path = reader.Path("required");
    const int table_line = LineOf(*required, reader.line());
    for (const auto& [key, node] : *required) {
        const std::string stage{key.str()};
        const std::string key_path = JoinKey(path, stage);
        const int line = LineOf(node, table_line);
        stages.Require(stage, line, key_path, reader.sink());
        auto fields = ReadStringList(node, key_path, reader.sink(), table_line);
        if (!fields) {
            continue;
        }
        std::vector<std::string> names;
        for (std::size_t i = 0; i < fields->size(); ++i) {
            if ((*fields)[i].first.empty()) {
                reader.sink().Add((*fields)[i].second, IndexKey(key_path, i), "must name a field");
                continue;
            }
            stages.Field((*fields)[i].first, (*fields)[i].second, IndexKey(key_path, i),
                         reader.sink());
            names.push_back(std::move((*fields)[i].first));
        }
        config.required[stage] = std::move(names);
    }
}

void ApplyEscalateDefault(RuleCommon& common) {
    if (!common.escalate_after && std::find(common.actions.begin(), common.actions.end(),
                                            ActionKind::kEscalate) != common.actions.end()) {
        common.escalate_after = kDefaultEscalateAfter;
    }
}

}  // namespace

void ApplyRuleDefaults(RulesConfig& rules) {
    rules.stage_order.common.actions = {ActionKind::kNote, ActionKind::kNotify};
    rules.deal_without_task.common.actions = {ActionKind::kTask, ActionKind::kNotify};
    rules.actual_stage.common.actions = {ActionKind::kNote, ActionKind::kNotify};
    rules.card_filled.common.actions = {ActionKind::kNote, ActionKind::kNotify};
    rules.overdue_task.common.actions = {ActionKind::kNote, ActionKind::kNotify};
}

void ParseRules(TableReader& tenant, RulesConfig& rules, const StageCatalog& stages) {
    const toml::table* table = tenant.Table("rules");
    if (table == nullptr) {
        return;
    }
    TableReader section(*table, tenant.Path("rules"), tenant.sink(), tenant.line());
    for (const std::string_view id : kRuleIds) {
        const toml::table* rule = section.Table(id);
        if (rule == nullptr) {
            continue;
        }
        TableReader reader(*rule, section.Path(id), section.sink(), section.Line(id));
        if (id == "stage_order") {
            ParseStageOrder(reader, rules.stage_order, stages);
        } else if (id == "deal_without_task") {
            ParseDealWithoutTask(reader, rules.deal_without_task);
        } else if (id == "actual_stage") {
            ParseActualStage(reader, rules.actual_stage, stages);
        } else if (id == "card_filled") {
            ParseCardFilled(reader, rules.card_filled, stages);
        } else {
            ParseOverdueTask(reader, rules.overdue_task);
        }
        reader.RejectUnknownKeys();
    }
    // Unknown rule names get their own message: the list of rules is part of the contract.
    const std::vector<std::string> ids(kRuleIds.begin(), kRuleIds.end());
    for (const auto& [key, node] : *table) {
        const std::string_view name = key.str();
        if (std::find(ids.begin(), ids.end(), name) != ids.end()) {
            continue;
        }
        section.sink().Add(
            LineOf(node, section.line()), section.Path(name),
            WithSuggestion(fmt::format("unknown rule (known: {})", fmt::join(kRuleIds, ", ")), name,
                           ids));
    }
    ApplyEscalateDefault(rules.stage_order.common);
    ApplyEscalateDefault(rules.deal_without_task.common);
    ApplyEscalateDefault(rules.actual_stage.common);
    ApplyEscalateDefault(rules.card_filled.common);
    ApplyEscalateDefault(rules.overdue_task.common);
}

}  // namespace fg::config::detail
