#pragma once

// Builds deal snapshots for the rule tests: one pipeline, a deal, its history, tasks and notes.

#include <algorithm>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "src/common/time.hpp"
#include "src/config/config.hpp"
#include "src/domain/model.hpp"
#include "src/rules/catalog.hpp"
#include "src/rules/rule.hpp"

namespace fg::rules::testing {

using namespace std::chrono_literals;

// Stage names of the test pipeline, in funnel order.
inline const std::string kIntake = "Неразобранное";
inline const std::string kNew = "Новая";
inline const std::string kQualified = "Квалификация";
inline const std::string kProposal = "КП отправлено";
inline const std::string kInvoice = "Счёт выставлен";
inline const std::string kPaid = "Оплачено";
inline const std::string kWon = "Успешно";
inline const std::string kLost = "Закрыто и не реализовано";

/// 2026-11-02T06:00:00Z: every test time is an offset from it.
inline constexpr Timestamp kT0 = Timestamp{Duration{1793599200}};
inline Timestamp At(Duration offset) { return kT0 + offset; }
inline Duration Days(int n) { return std::chrono::days{n}; }

inline domain::Pipeline MainPipeline() {
    using domain::StageKind;
    return domain::Pipeline{
        .id = "main",
        .stages = {{kIntake, StageKind::kIntake},
                   {kNew, StageKind::kOpen},
                   {kQualified, StageKind::kOpen},
                   {kProposal, StageKind::kOpen},
                   {kInvoice, StageKind::kOpen},
                   {kPaid, StageKind::kOpen},
                   {kWon, StageKind::kWon},
                   {kLost, StageKind::kLost}},
    };
}

struct Fixture {
    domain::Pipeline pipeline = MainPipeline();
    config::RulesConfig config{};
    domain::DealSnapshot snapshot{.deal = {.tenant = "acme",
                                           .id = "101",
                                           .title = "ООО Ромашка",
                                           .pipeline = "main",
                                           .stage = kNew,
                                           .responsible = "u7"}};
    Timestamp now = kT0;
    bool pipeline_known = true;

    /// The deal appears in `stage` at `at`: its creation and first history entry.
    Fixture& Create(Timestamp at, const std::string& stage) {
        snapshot.deal.created_at = at;
        snapshot.deal.updated_at = at;
        return Move(at, stage);
    }

    /// The CRM reports the deal in `stage` at `at` (own: funnelguard moved it).
    Fixture& Move(Timestamp at, const std::string& stage, bool own = false,
                  const std::string& pipeline_id = "main") {
        snapshot.history.push_back({.at = at, .pipeline = pipeline_id, .stage = stage, .own = own});
        snapshot.deal.stage = stage;
        snapshot.deal.pipeline = pipeline_id;
        snapshot.deal.updated_at = std::max(snapshot.deal.updated_at, at);
        return *this;
    }

    Fixture& AddTask(domain::Task task) {
        task.deal_id = snapshot.deal.id;
        snapshot.tasks.push_back(std::move(task));
        return *this;
    }

    Fixture& AddNote(Timestamp at, const std::string& text, bool own = false) {
        snapshot.notes.push_back({.id = "n" + std::to_string(snapshot.notes.size() + 1),
                                  .deal_id = snapshot.deal.id,
                                  .at = at,
                                  .text = text,
                                  .own = own});
        return *this;
    }

    Fixture& Field(const std::string& name, const std::string& value) {
        snapshot.deal.fields[name] = value;
        return *this;
    }

    RuleInput Input() const {
        return RuleInput{.snapshot = snapshot,
                         .pipeline = pipeline_known ? &pipeline : nullptr,
                         .config = config,
                         .now = now};
    }

    Evaluation Run(const RuleSpec& spec) const { return spec.evaluate(Input()); }
    Evaluation RunAll() const { return EvaluateAll(Input()); }
};

inline std::vector<std::string> Keys(const Evaluation& evaluation) {
    std::vector<std::string> keys;
    for (const Finding& finding : evaluation.findings) {
        keys.push_back(finding.key);
    }
    return keys;
}

inline std::vector<std::string> Rules(const Evaluation& evaluation) {
    std::vector<std::string> rules;
    for (const Finding& finding : evaluation.findings) {
        if (std::find(rules.begin(), rules.end(), finding.rule) == rules.end()) {
            rules.push_back(finding.rule);
        }
    }
    std::sort(rules.begin(), rules.end());
    return rules;
}

inline std::string Epoch(Timestamp t) { return std::to_string(ToEpoch(t)); }

}  // namespace fg::rules::testing
