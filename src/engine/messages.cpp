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
    const std::string_view text = iso;
    std::string out;
    out.reserve(16);
    if (tenant.locale == "en") {
        out.append(text.substr(0, 10)).append(" ").append(text.substr(11, 5));
        return out;
    }
    out.append(text.substr(8, 2)).append(".").append(text.substr(5, 2)).append(".");
    out.append(text.substr(0, 4)).append(" ").append(text.substr(11, 5));
    return out;
}

namespace {

/// Fills `{name}` placeholders of `text` through `lookup(name, out)`, which appends the value and
/// returns true, or returns false for a name it does not know (left as written).
template <typename Lookup>
std::string Render(std::string_view text, Lookup lookup) {
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
        if (!lookup(text.substr(open + 1, close - open - 1), out)) {
            out.append(text.substr(open, close - open + 1));
        }
        i = close + 1;
    }
    return out;
}

}  // namespace

std::string RenderTemplate(std::string_view text, const nlohmann::json& vars) {
    return Render(text, [&vars](std::string_view name, std::string& out) {
        const auto found = vars.find(std::string(name));
        if (found == vars.end()) {
            return false;
        }
        out += ValueText(*found);
        return true;
    });
}

std::string RenderFindingText(const rules::RuleSpec& spec, const rules::Finding& finding,
                              const domain::Deal& deal, const config::TenantConfig& tenant,
                              TextKind kind) {
    const bool english = tenant.locale == "en";
    std::string_view text = kind == TextKind::kMessage
                                ? (english ? spec.texts.message_en : spec.texts.message_ru)
                                : (english ? spec.texts.task_en : spec.texts.task_ru);
    if (!tenant.templates.empty()) {
        const std::string override_key =
            fmt::format("{}.{}", spec.id, kind == TextKind::kMessage ? "message" : "task");
        if (const auto found = tenant.templates.find(override_key);
            found != tenant.templates.end()) {
            text = found->second;
        }
    }
    // The placeholders come from the details, except for the deal's own ones, which win; only the
    // ones the text names are looked at (a message runs per violation: no copy of the details).
    const nlohmann::json* details = finding.details.is_object() ? &finding.details : nullptr;
    return Render(text, [&](std::string_view name, std::string& out) {
        if (name == "deal") {
            out += deal.title.empty() ? deal.id : deal.title;
            return true;
        }
        if (name == "deal_id") {
            out += deal.id;
            return true;
        }
        if (name == "stage") {
            out += deal.stage;
            return true;
        }
        if (name == "responsible") {
            out += finding.responsible;
            return true;
        }
        if (name == "revert_to" && finding.revert_to) {
            out += *finding.revert_to;
            return true;
        }
        if (details == nullptr) {
            return false;
        }
        const auto found = details->find(std::string(name));
        if (found == details->end()) {
            return false;
        }
        if (found->is_string()) {
            // Rules speak UTC; people read their own wall clock.
            const std::string& value = found->get_ref<const std::string&>();
            if (const auto at = ParseIso8601(value)) {
                out += LocalTime(*at, tenant);
            } else {
                out += value;
            }
            return true;
        }
        out += ValueText(*found);
        return true;
    });
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
