#include "src/domain/model.hpp"

#include <array>
#include <utility>

namespace fg::domain {

namespace {
constexpr std::array<std::pair<ActionKind, std::string_view>, 6> kActionKindNames{{
    {ActionKind::kNote, "note"},
    {ActionKind::kTask, "task"},
    {ActionKind::kRevert, "revert"},
    {ActionKind::kNotify, "notify"},
    {ActionKind::kEscalate, "escalate"},
    {ActionKind::kSummary, "summary"},
}};
}  // namespace

std::string_view ActionKindName(ActionKind kind) {
    for (const auto& [value, name] : kActionKindNames) {
        if (value == kind) {
            return name;
        }
    }
    return "unknown";
}

std::optional<ActionKind> ParseActionKind(std::string_view name) {
    for (const auto& [value, known] : kActionKindNames) {
        if (known == name) {
            return value;
        }
    }
    return std::nullopt;
}

const Stage* Pipeline::Find(const std::string& name) const {
    for (const Stage& stage : stages) {
        if (stage.name == name) {
            return &stage;
        }
    }
    return nullptr;
}

std::optional<int> Pipeline::OrderOf(const std::string& name) const {
    int index = 0;
    for (const Stage& stage : stages) {
        if (stage.kind != StageKind::kOpen && stage.kind != StageKind::kWon) {
            continue;
        }
        if (stage.name == name) {
            return index;
        }
        ++index;
    }
    return std::nullopt;
}

std::vector<const Stage*> Pipeline::Ordered() const {
    std::vector<const Stage*> out;
    for (const Stage& stage : stages) {
        if (stage.kind == StageKind::kOpen || stage.kind == StageKind::kWon) {
            out.push_back(&stage);
        }
    }
    return out;
}

}  // namespace fg::domain
