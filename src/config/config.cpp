#include "src/config/config.hpp"

#include <fmt/format.h>

namespace fg::config {

const TenantConfig* AppConfig::FindTenant(const std::string& id) const {
    for (const TenantConfig& tenant : tenants) {
        if (tenant.id == id) {
            return &tenant;
        }
    }
    return nullptr;
}

std::string FormatProblem(const ConfigProblem& problem) {
    std::string out = problem.file;
    if (problem.line > 0) {
        out += fmt::format(":{}", problem.line);
    }
    out += ": ";
    if (!problem.key.empty()) {
        out += problem.key;
        out += ": ";
    }
    out += problem.message;
    return out;
}

std::string_view ToString(ActionKind kind) {
    switch (kind) {
        case ActionKind::kNote:
            return "note";
        case ActionKind::kTask:
            return "task";
        case ActionKind::kRevert:
            return "revert";
        case ActionKind::kNotify:
            return "notify";
        case ActionKind::kEscalate:
            return "escalate";
    }
    return "unknown";
}

std::string_view ToString(Mode mode) {
    switch (mode) {
        case Mode::kObserve:
            return "observe";
        case Mode::kWarn:
            return "warn";
        case Mode::kEnforce:
            return "enforce";
    }
    return "unknown";
}

}  // namespace fg::config
