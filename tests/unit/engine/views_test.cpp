// The JSON item of `check --format json`, written directly, against the nlohmann object it
// replaced.
#include "src/engine/views.hpp"

#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

// Named, not anonymous: the test files are compiled together (FG_UNITY).
namespace views_test_file {

using nlohmann::json;

std::string LibraryItem(const std::string& tenant, const fg::domain::Deal& deal,
                        const fg::rules::Finding& finding, fg::Timestamp opened_at,
                        const std::string& message, const std::string& time_zone,
                        const std::string* name, bool acknowledged) {
    return json{{"acknowledged", acknowledged},
                {"tenant", tenant},
                {"deal", deal.id},
                {"deal_title", deal.title},
                {"rule", finding.rule},
                {"responsible", finding.responsible},
                {"responsible_name", name != nullptr ? json(*name) : json(nullptr)},
                {"opened_at", fg::FormatIso8601Slow(opened_at, time_zone)},
                {"details", finding.details},
                {"message", message}}
        .dump();
}

TEST_CASE("AppendCheckItem writes what dumping the nlohmann object writes") {
    using namespace std::string_literals;
    const std::string odd = "quote \" back \\ nul \0 tab \t "s + "ё «» 🦔 \x7F";
    const std::vector<json> details = {
        {{"kind", "skip"},
         {"from", "Новая"},
         {"to", "КП отправлено"},
         {"skipped", {"Квалификация", "Переговоры"}},
         {"at", "2026-10-03T18:33:11Z"},
         {"reason", odd}},
        {{"reschedules", 3},
         {"min_note_chars", -10},
         {"ratio", 0.25},
         {"none", nullptr},
         {"flag", false},
         {"nested", {{"b", json::array()}, {"a", json::object()}}}},
        json::object(),
    };
    const std::vector<fg::domain::Deal> deals = {
        {.id = "101", .title = "ООО «Ромашка»"},
        {.id = odd, .title = ""},
    };
    const std::vector<std::string> zones = {"Europe/Moscow", "America/St_Johns", "Nowhere/Unknown"};
    int compared = 0;
    for (const json& detail : details) {
        for (const fg::domain::Deal& deal : deals) {
            for (const std::string& zone : zones) {
                const fg::rules::Finding finding{
                    .rule = "stage_order", .key = "k", .responsible = odd, .details = detail};
                const fg::Timestamp at = fg::FromEpoch(1793599200 + compared * 86400 * 31);
                const std::string message = "Сообщение " + odd;
                const std::string name = "Иван " + odd;
                const bool acknowledged = compared % 2 == 0;
                const std::string* shown = compared % 3 == 0 ? nullptr : &name;
                std::string out = "prefix";
                fg::engine::AppendCheckItem(out, {.tenant = "acme",
                                                  .deal = deal,
                                                  .finding = finding,
                                                  .opened_at = at,
                                                  .message = message,
                                                  .time_zone = zone,
                                                  .responsible_name = shown,
                                                  .acknowledged = acknowledged});
                CHECK(out == "prefix" + LibraryItem("acme", deal, finding, at, message, zone, shown,
                                                    acknowledged));
                ++compared;
            }
        }
    }
    CHECK(compared == 18);
}

TEST_CASE("LocalizeDetailTimes shows the details' times with the tenant's offset") {
    json details = {{"at", "2026-10-03T18:33:11Z"},
                    {"due", "2026-11-02T15:00:00Z"},
                    {"entered_at", "not a time"},
                    {"stage", "2026-10-03T18:33:11Z"}};
    fg::engine::LocalizeDetailTimes(details, "Europe/Moscow");
    CHECK(details["at"] == "2026-10-03T21:33:11+03:00");
    CHECK(details["due"] == "2026-11-02T18:00:00+03:00");
    CHECK(details["entered_at"] == "not a time");
    CHECK(details["stage"] == "2026-10-03T18:33:11Z");  // not a time key
}

}  // namespace views_test_file
