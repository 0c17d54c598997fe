#include "src/domain/model.hpp"

namespace fg::domain {

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
