#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "src/config/config.hpp"
#include "src/domain/model.hpp"
#include "src/rules/rule.hpp"

namespace fg::engine {

/// Fills `{name}` placeholders from `vars` (strings as is, arrays joined with ", ", numbers and
/// booleans as text). An unknown placeholder is left as written, so a typo in an overriding
/// template shows up in the message instead of vanishing.
std::string RenderTemplate(std::string_view text, const nlohmann::json& vars);

/// A time as people of the tenant read it: "02.11.2026 10:00" (ru), "2026-11-02 10:00" (en).
std::string LocalTime(Timestamp at, const config::TenantConfig& tenant);

enum class TextKind { kMessage, kTask };

/// The text people see for a finding: the tenant's override ("<rule>.message" / "<rule>.task")
/// or the rule's default in the tenant's locale, filled from the details and the deal.
std::string RenderFindingText(const rules::RuleSpec& spec, const rules::Finding& finding,
                              const domain::Deal& deal, const config::TenantConfig& tenant,
                              TextKind kind);

/// The head-of-sales escalation line for a violation that stayed open too long.
std::string RenderEscalation(const std::string& message, const std::string& responsible,
                             Duration open_for, const config::TenantConfig& tenant);

}  // namespace fg::engine
