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

std::vector<std::string> TenantConfig::MessageChannels() const {
    std::vector<std::string> channels;
    if (crm_delivers_messages) {
        channels.emplace_back(domain::kCrmChannel);
    }
    for (const auto& [channel, settings] : chat_channels) {
        channels.push_back(channel);
    }
    return channels;
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

std::string_view ToString(ActionKind kind) { return domain::ActionKindName(kind); }

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
