#include <filesystem>
#include <iostream>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "src/app/commands.hpp"
#include "src/app/table.hpp"
#include "src/app/wiring.hpp"
#include "src/engine/directory.hpp"
#include "src/engine/judge.hpp"
#include "src/engine/messages.hpp"
#include "src/engine/views.hpp"
#include "src/rules/catalog.hpp"
#include "src/storage/sweep.hpp"

namespace fg::app {
namespace {

struct Row {
    std::string tenant{};
    std::string deal{};
    std::string title{};
    std::string rule{};
    std::string responsible{};  // the name from the CRM directory, else the id
    Timestamp since{};
    std::string message{};
    bool acknowledged = false;
};

/// What one batch of deals gives: JSON items (each ",\n{...}") or table rows.
struct Batch {
    std::string json{};
    std::vector<Row> rows{};
    std::size_t deals = 0;
    std::size_t hidden = 0;  // acknowledged violations left out

    void clear() {
        json.clear();
        rows.clear();
        deals = 0;
        hidden = 0;
    }
};

// Deals per batch of the sweep: ~180 KB of JSON on the bench mirrors; 2 x cores + 2 in flight.
constexpr std::size_t kBatchDeals = 512;

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
    // CRM tenants judge against the pipelines their last API read stored, and name people as
    // its user list does.
    engine::ApplyStoredDirectories(**db, *config);
    std::map<std::string, std::map<std::string, std::string>> user_names;  // tenant -> id -> name
    for (const config::TenantConfig& tenant : config->tenants) {
        if (!tenant.pipelines_from_api) {
            continue;
        }
        if (std::optional<crm::Directory> directory = engine::LoadDirectory(**db, tenant.id)) {
            user_names[tenant.id] = std::move(directory->users);
        }
    }
    const auto name_of = [&user_names](const std::string& tenant,
                                       const std::string& user) -> const std::string* {
        const auto users = user_names.find(tenant);
        if (users == user_names.end()) {
            return nullptr;
        }
        const auto found = users->second.find(user);
        return found == users->second.end() || found->second.empty() ? nullptr : &found->second;
    };
    // Violations the head of sales acknowledged are settled: check does not print them again.
    const std::vector<std::string> acknowledged_list =
        storage::AcknowledgedKeys(**db, options.tenant);
    const std::set<std::string> acknowledged(acknowledged_list.begin(), acknowledged_list.end());
    // The mirror is swept on every core, batch by batch, and each batch's violations come back in
    // deal order (storage::SweepSnapshots). JSON is written as the batches come, one violation
    // per line: a million-deal mirror must not need every finding in memory. The table needs its
    // column widths, so it collects.
    const bool json = options.format == "json";
    auto visit = [&](const domain::DealSnapshot& snapshot, Batch& batch) {
        const config::TenantConfig* tenant = config->FindTenant(snapshot.deal.tenant);
        if (tenant == nullptr) {
            return;
        }
        ++batch.deals;
        for (rules::Finding& finding : engine::EvaluateSnapshot(snapshot, *tenant, now).findings) {
            const bool acked =
                !acknowledged.empty() &&
                acknowledged.count(fmt::format("{}\x1f{}\x1f{}\x1f{}", tenant->id, snapshot.deal.id,
                                               finding.rule, finding.key)) != 0;
            if (acked && !options.all) {
                ++batch.hidden;
                continue;
            }
            engine::LocalizeDetailTimes(finding.details, tenant->timezone);
            const rules::RuleSpec* spec = rules::FindRule(finding.rule);
            std::string message = engine::RenderFindingText(*spec, finding, snapshot.deal, *tenant,
                                                            engine::TextKind::kMessage);
            const Timestamp since = std::min(finding.since, now);
            const std::string* name = name_of(tenant->id, finding.responsible);
            if (json) {
                batch.json += ",\n";
                engine::AppendCheckItem(batch.json, {.tenant = tenant->id,
                                                     .deal = snapshot.deal,
                                                     .finding = finding,
                                                     .opened_at = since,
                                                     .message = message,
                                                     .time_zone = tenant->timezone,
                                                     .responsible_name = name,
                                                     .acknowledged = acked});
                continue;
            }
            batch.rows.push_back(Row{
                .tenant = tenant->id,
                .deal = snapshot.deal.id,
                .title = snapshot.deal.title,
                .rule = finding.rule,
                .responsible = name != nullptr ? *name : finding.responsible,
                .since = since,
                .message = std::move(message),
                .acknowledged = acked,
            });
        }
    };
    std::vector<Row> rows;
    std::size_t deals = 0;
    std::size_t hidden = 0;
    std::size_t printed_bytes = 0;
    if (json) {
        std::cout << "{\"violations\":[";
    }
    auto consume = [&](Batch& batch) {
        deals += batch.deals;
        hidden += batch.hidden;
        if (json && !batch.json.empty()) {
            // Every item starts with ",\n"; the first one of the document with "\n" only.
            const std::string_view text =
                std::string_view(batch.json).substr(printed_bytes == 0 ? 1 : 0);
            std::cout.write(text.data(), static_cast<std::streamsize>(text.size()));
            printed_bytes += text.size();
        }
        std::move(batch.rows.begin(), batch.rows.end(), std::back_inserter(rows));
    };
    storage::SweepSnapshots<Batch>(**db, options.tenant, storage::SweepThreads(), kBatchDeals,
                                   visit, consume);

    if (json) {
        std::cout << fmt::format("\n],\"acknowledged_hidden\":{}}}\n", hidden) << std::flush;
        return 0;
    }

    std::vector<std::string> header = {"TENANT", "RULE", "DEAL", "TITLE", "RESPONSIBLE", "SINCE"};
    if (options.all) {
        header.emplace_back("ACK");
    }
    header.emplace_back("MESSAGE");
    Table table(std::move(header));
    std::map<std::string, int> by_rule;
    std::map<std::string, int> by_manager;
    for (const Row& row : rows) {
        const config::TenantConfig* tenant = config->FindTenant(row.tenant);
        std::vector<std::string> cells = {
            row.tenant, row.rule,        row.deal,
            row.title,  row.responsible, FormatIso8601(row.since, tenant->timezone)};
        if (options.all) {
            cells.emplace_back(row.acknowledged ? "yes" : "");
        }
        cells.push_back(row.message);
        table.Add(std::move(cells));
        ++by_rule[row.rule];
        ++by_manager[row.responsible.empty() ? "(nobody)" : row.responsible];
    }
    std::cout << table.Render();
    if (hidden > 0) {
        std::cout << fmt::format("{} acknowledged violation(s) hidden; --all shows them\n", hidden);
    }
    // One time zone when the tenants shown share one (the usual case), else UTC.
    std::string zone;
    for (const config::TenantConfig& tenant : config->tenants) {
        if (!options.tenant.empty() && tenant.id != options.tenant) {
            continue;
        }
        zone = zone.empty() || zone == tenant.timezone ? tenant.timezone : "UTC";
    }
    std::cout << fmt::format("\n{} violation(s) in {} deal(s) as of {}\n", rows.size(), deals,
                             zone.empty() ? FormatIso8601(now) : FormatIso8601(now, zone));
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
