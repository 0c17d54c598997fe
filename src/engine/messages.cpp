#include "src/engine/messages.hpp"

#include <fmt/format.h>

namespace fg::engine {
namespace {

std::string ValueText(const nlohmann::json& value) {
    if (value.is_string()) {
        return value.get<std::string>();
    }
    if (value.is_array()) {
        std::string out;
        for (const auto& item : value) {
            if (!out.empty()) {
                out += ", ";
            }
            out += ValueText(item);
        }
        return out;
    }
    if (value.is_null()) {
        return "—";
    }
    return value.dump();
}

}  // namespace

std::string LocalTime(Timestamp at, const config::TenantConfig& tenant) {
    const std::string iso = FormatIso8601(at, tenant.timezone);  // 2026-11-02T10:00:00+03:00
    if (tenant.locale == "en") {
        return iso.substr(0, 10) + " " + iso.substr(11, 5);
    }
    return iso.substr(8, 2) + "." + iso.substr(5, 2) + "." + iso.substr(0, 4) + " " +
           iso.substr(11, 5);
}

std::string RenderTemplate(std::string_view text, const nlohmann::json& vars) {
    std::string out;
    out.reserve(text.size() + 64);
    std::size_t i = 0;
    while (i < text.size()) {
        const std::size_t open = text.find('{', i);
        if (open == std::string_view::npos) {
            out.append(text.substr(i));
            break;
        }
        out.append(text.substr(i, open - i));
        const std::size_t close = text.find('}', open + 1);
        if (close == std::string_view::npos) {
            out.append(text.substr(open));
            break;
        }
        const std::string name(text.substr(open + 1, close - open - 1));
        const auto found = vars.find(name);
        if (found != vars.end()) {
            out += ValueText(*found);
        } else {
            out.append(text.substr(open, close - open + 1));
        }
        i = close + 1;
    }
    return out;
}

std::string RenderFindingText(const rules::RuleSpec& spec, const rules::Finding& finding,
                              const domain::Deal& deal, const config::TenantConfig& tenant,
                              TextKind kind) {
    const bool english = tenant.locale == "en";
    std::string_view text = kind == TextKind::kMessage
                                ? (english ? spec.texts.message_en : spec.texts.message_ru)
                                : (english ? spec.texts.task_en : spec.texts.task_ru);
    const std::string override_key =
        fmt::format("{}.{}", spec.id, kind == TextKind::kMessage ? "message" : "task");
    if (const auto found = tenant.templates.find(override_key); found != tenant.templates.end()) {
        text = found->second;
    }
    nlohmann::json vars = finding.details.is_object() ? finding.details : nlohmann::json::object();
    // Rules speak UTC; people read their own wall clock.
    for (auto& [name, value] : vars.items()) {
        if (value.is_string()) {
            if (const auto at = ParseIso8601(value.get_ref<const std::string&>())) {
                value = LocalTime(*at, tenant);
            }
        }
    }
    vars["deal"] = deal.title.empty() ? deal.id : deal.title;
    vars["deal_id"] = deal.id;
    vars["stage"] = deal.stage;
    vars["responsible"] = finding.responsible;
    if (finding.revert_to) {
        vars["revert_to"] = *finding.revert_to;
    }
    return RenderTemplate(text, vars);
}

std::string RenderEscalation(const std::string& message, const std::string& responsible,
                             Duration open_for, const config::TenantConfig& tenant) {
    if (tenant.locale == "en") {
        return fmt::format("Not fixed for {} (responsible: {}). {}", HumanDuration(open_for, "en"),
                           responsible, message);
    }
    return fmt::format("Не исправлено уже {} (ответственный: {}). {}",
                       HumanDuration(open_for, "ru"), responsible, message);
}

}  // namespace fg::engine
