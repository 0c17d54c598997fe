#include <filesystem>
#include <iostream>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "src/app/commands.hpp"
#include "src/app/table.hpp"
#include "src/app/wiring.hpp"
#include "src/engine/directory.hpp"
#include "src/engine/judge.hpp"
#include "src/engine/messages.hpp"
#include "src/rules/catalog.hpp"

namespace fg::app {
namespace {

struct Row {
    std::string tenant{};
    std::string deal{};
    std::string title{};
    std::string rule{};
    std::string responsible{};
    Timestamp since{};
    nlohmann::json details{};
    std::string message{};
};

}  // namespace

int RunCheck(const CheckOptions& options) {
    auto config = LoadOrReport(options.config);
    if (!config) {
        return 2;
    }
    if (!options.tenant.empty() && config->FindTenant(options.tenant) == nullptr) {
        std::cerr << "check: unknown tenant \"" << options.tenant << "\"\n";
        return 2;
    }
    Timestamp now = SystemClock().Now();
    if (!options.now.empty()) {
        const auto parsed = ParseIso8601(options.now);
        if (!parsed) {
            std::cerr << "check: --now \"" << options.now
                      << "\" is not ISO 8601 with an offset (e.g. 2026-11-02T18:00:00+03:00)\n";
            return 2;
        }
        now = *parsed;
    }
    if (!std::filesystem::exists(config->storage.path)) {
        std::cerr << "check: the database " << config->storage.path
                  << " does not exist yet (run serve or replay first)\n";
        return 1;
    }
    auto db = storage::OpenDatabase(config->storage.path, /*read_only=*/true);
    if (!db) {
        std::cerr << "check: " << db.error().message << "\n";
        return 1;
    }
    // CRM tenants judge against the pipelines their last API read stored.
    engine::ApplyStoredDirectories(**db, *config);
    // Violations the head of sales acknowledged are settled: check does not print them again.
    const std::vector<std::string> acknowledged_list =
        storage::AcknowledgedKeys(**db, options.tenant);
    const std::set<std::string> acknowledged(acknowledged_list.begin(), acknowledged_list.end());
    // JSON is written as the mirror is scanned, one violation per line: a million-deal mirror
    // must not need every finding in memory. The table needs its column widths, so it collects.
    const bool json = options.format == "json";
    std::string out = json ? "{\"violations\":[" : "";
    std::size_t printed = 0;
    auto emit = [&](Row row) {
        const config::TenantConfig* tenant = config->FindTenant(row.tenant);
        out += printed++ == 0 ? "\n" : ",\n";
        out += nlohmann::json{{"tenant", row.tenant},
                              {"deal", row.deal},
                              {"deal_title", row.title},
                              {"rule", row.rule},
                              {"responsible", row.responsible},
                              {"opened_at", FormatIso8601(row.since, tenant->timezone)},
                              {"details", std::move(row.details)},
                              {"message", row.message}}
                   .dump();
        if (out.size() > (1 << 20)) {
            std::cout << out;
            out.clear();
        }
    };
    std::vector<Row> rows;
    std::size_t deals = 0;
    storage::ForEachSnapshot(**db, options.tenant, [&](const domain::DealSnapshot& snapshot) {
        const config::TenantConfig* tenant = config->FindTenant(snapshot.deal.tenant);
        if (tenant == nullptr) {
            return;
        }
        ++deals;
        for (rules::Finding& finding : engine::EvaluateSnapshot(snapshot, *tenant, now).findings) {
            if (!acknowledged.empty() &&
                acknowledged.count(fmt::format("{}\x1f{}\x1f{}\x1f{}", tenant->id, snapshot.deal.id,
                                               finding.rule, finding.key))) {
                continue;
            }
            const rules::RuleSpec* spec = rules::FindRule(finding.rule);
            std::string message = engine::RenderFindingText(*spec, finding, snapshot.deal, *tenant,
                                                            engine::TextKind::kMessage);
            Row row{
                .tenant = tenant->id,
                .deal = snapshot.deal.id,
                .title = snapshot.deal.title,
                .rule = finding.rule,
                .responsible = finding.responsible,
                .since = std::min(finding.since, now),
                .details = std::move(finding.details),
                .message = std::move(message),
            };
            if (json) {
                emit(std::move(row));
            } else {
                rows.push_back(std::move(row));
            }
        }
    });

    if (json) {
        out += "\n]}\n";
        std::cout << out << std::flush;
        return 0;
    }

    Table table({"TENANT", "RULE", "DEAL", "TITLE", "RESPONSIBLE", "SINCE", "MESSAGE"});
    std::map<std::string, int> by_rule;
    std::map<std::string, int> by_manager;
    for (const Row& row : rows) {
        const config::TenantConfig* tenant = config->FindTenant(row.tenant);
        table.Add({row.tenant, row.rule, row.deal, row.title, row.responsible,
                   FormatIso8601(row.since, tenant->timezone).substr(0, 16), row.message});
        ++by_rule[row.rule];
        ++by_manager[row.responsible.empty() ? "(nobody)" : row.responsible];
    }
    std::cout << table.Render();
    std::cout << fmt::format("\n{} violation(s) in {} deal(s) as of {}\n", rows.size(), deals,
                             FormatIso8601(now));
    for (const rules::RuleSpec* spec : rules::AllRules()) {
        std::cout << fmt::format("  {:<18} {}\n", spec->id, by_rule[std::string(spec->id)]);
    }
    if (!by_manager.empty()) {
        std::cout << "by responsible:\n";
        for (const auto& [manager, count] : by_manager) {
            std::cout << fmt::format("  {:<18} {}\n", manager, count);
        }
    }
    return 0;
}

}  // namespace fg::app
