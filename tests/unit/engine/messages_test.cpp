// Message rendering: RenderFindingText against the straightforward form it replaced (copy the
// details, turn every time in them into local time, add the deal's placeholders, fill the text).
#include "src/engine/messages.hpp"

#include <optional>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "src/rules/catalog.hpp"

// Named, not anonymous: the test files are compiled together (FG_UNITY).
namespace messages_test_file {

using nlohmann::json;

std::string ReferenceRender(const fg::rules::RuleSpec& spec, const fg::rules::Finding& finding,
                            const fg::domain::Deal& deal, const fg::config::TenantConfig& tenant,
                            fg::engine::TextKind kind) {
    const bool english = tenant.locale == "en";
    std::string_view text = kind == fg::engine::TextKind::kMessage
                                ? (english ? spec.texts.message_en : spec.texts.message_ru)
                                : (english ? spec.texts.task_en : spec.texts.task_ru);
    const std::string override_key =
        std::string(spec.id) + "." + (kind == fg::engine::TextKind::kMessage ? "message" : "task");
    if (const auto found = tenant.templates.find(override_key); found != tenant.templates.end()) {
        text = found->second;
    }
    json vars = finding.details.is_object() ? finding.details : json::object();
    for (auto& [name, value] : vars.items()) {
        if (value.is_string()) {
            if (const auto at = fg::ParseIso8601(value.get_ref<const std::string&>())) {
                const std::string iso = fg::FormatIso8601Slow(*at, tenant.timezone);
                value = tenant.locale == "en" ? iso.substr(0, 10) + " " + iso.substr(11, 5)
                                              : iso.substr(8, 2) + "." + iso.substr(5, 2) + "." +
                                                    iso.substr(0, 4) + " " + iso.substr(11, 5);
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
    return fg::engine::RenderTemplate(text, vars);
}

TEST_CASE("RenderFindingText equals the copy-the-details rendering for every kind of detail") {
    const std::string every =
        "{deal}|{deal_id}|{stage}|{responsible}|{revert_to}|{reason}|{reason_en}|{at}|{due}|"
        "{skipped}|{missing}|{reschedules}|{flag}|{none}|{nested}|{ratio}|{plain}|{unknown}|"
        "{}|{{deal}|{deal} {unclosed";
    std::vector<fg::config::TenantConfig> tenants(4);
    tenants[0].locale = "ru";
    tenants[0].timezone = "Europe/Moscow";
    tenants[1].locale = "en";
    tenants[1].timezone = "America/New_York";
    tenants[2].locale = "ru";
    tenants[2].timezone = "Asia/Kolkata";
    tenants[2].templates = {{"stage_order.message", every},
                            {"overdue_task.task", every},
                            {"card_filled.message", "no placeholders at all"}};
    tenants[3].locale = "en";
    tenants[3].timezone = "Nowhere/Unknown";
    tenants[3].templates = {{"actual_stage.message", every}, {"deal_without_task.task", every}};

    std::vector<json> details = {
        {{"kind", "skip"},
         {"from", "Новая"},
         {"to", "КП отправлено"},
         {"skipped", {"Квалификация", "Переговоры"}},
         {"at", "2026-10-03T18:33:11Z"},
         {"revert_to", "Квалификация"},
         {"reason", "сделка перешла"},
         {"reason_en", "the deal moved"}},
        {{"due", "2026-03-29T00:30:00Z"},
         {"stage", "из деталей"},
         {"reschedules", 3},
         {"flag", true},
         {"none", nullptr},
         {"ratio", 2.5},
         {"nested", {{"a", 1}, {"b", {"x", "2026-11-02T06:00:00Z"}}}},
         {"missing", json::array()},
         {"plain", "2026-11-02 not a time"},
         {"reason", "задача «{deal}» просрочена"}},
        {{"at", "2026-11-01T06:59:59+03:00"}, {"revert_to", "Новая"}},
        json::object(),
        json::array({"not", "an", "object"}),
        json("a string"),
    };
    int rendered = 0;
    for (const fg::rules::RuleSpec* spec : fg::rules::AllRules()) {
        for (const fg::config::TenantConfig& tenant : tenants) {
            for (const json& detail : details) {
                for (const bool with_revert : {false, true}) {
                    for (const bool with_title : {false, true}) {
                        fg::rules::Finding finding{.rule = std::string(spec->id),
                                                   .key = "k",
                                                   .responsible = "manager7",
                                                   .details = detail};
                        if (with_revert) {
                            finding.revert_to = "Квалификация";
                        }
                        const fg::domain::Deal deal{.tenant = "acme",
                                                    .id = "101",
                                                    .title = with_title ? "ООО «Ромашка»" : "",
                                                    .stage = "Счёт выставлен"};
                        for (const auto kind :
                             {fg::engine::TextKind::kMessage, fg::engine::TextKind::kTask}) {
                            CAPTURE(spec->id);
                            CAPTURE(detail.dump());
                            CHECK(
                                fg::engine::RenderFindingText(*spec, finding, deal, tenant, kind) ==
                                ReferenceRender(*spec, finding, deal, tenant, kind));
                            ++rendered;
                        }
                    }
                }
            }
        }
    }
    CHECK(rendered == 5 * 4 * 6 * 2 * 2 * 2);
}

TEST_CASE("LocalTime: the tenant's wall clock in its locale's form") {
    fg::config::TenantConfig tenant;
    tenant.timezone = "Europe/Moscow";
    tenant.locale = "ru";
    const fg::Timestamp at = *fg::ParseIso8601("2026-11-02T06:05:00Z");
    CHECK(fg::engine::LocalTime(at, tenant) == "02.11.2026 09:05");
    tenant.locale = "en";
    CHECK(fg::engine::LocalTime(at, tenant) == "2026-11-02 09:05");
}

}  // namespace messages_test_file
