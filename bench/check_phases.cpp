// A diagnostic for bench/check.sh: where the time of `funnelguard check --format json` goes. Runs
// the same steps as src/app/check.cpp, one pass each, cumulatively, over the same mirror, and
// prints the wall time and the peak RSS after each:
//   acknowledged     the resolved violations read to skip acknowledged ones (ListViolations)
//   scan             ForEachSnapshot alone: read and decode every deal row
//   scan+evaluate    the same pass with EvaluateSnapshot (the five rules)
//   scan+eval+rows   the same with the printed rows (RenderFindingText, details moved in rows)
//   json build       the rows of the last pass as nlohmann items, as check builds them (with
//                    opened_at through FormatIso8601); no scan
//   json dump(2)     that document dumped into one string, as check prints it
// check's time is about acknowledged + scan+eval+rows + json build + json dump(2).
//
// Usage: bench_check_phases CONFIG NOW   (NOW as for check --now)
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <set>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "src/config/config.hpp"
#include "src/engine/judge.hpp"
#include "src/engine/messages.hpp"
#include "src/rules/catalog.hpp"
#include "src/storage/store.hpp"

namespace {

struct Row {
    std::string tenant{};
    std::string deal{};
    std::string title{};
    std::string rule{};
    std::string responsible{};
    fg::Timestamp since{};
    nlohmann::json details{};
    std::string message{};
};

long PeakRssKb() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmHWM:", 0) == 0) {
            return std::stol(line.substr(6));
        }
    }
    return 0;
}

class Phases {
public:
    template <typename Step>
    void Run(const std::string& name, Step step) {
        const auto begin = std::chrono::steady_clock::now();
        const std::string note = step();
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
        std::cout << fmt::format("{:<16} {:>8.3f} s   peak RSS {:>6} MiB   {}\n", name, seconds,
                                 PeakRssKb() / 1024, note)
                  << std::flush;
    }
};

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: bench_check_phases CONFIG NOW\n";
        return 2;
    }
    const fg::config::LoadResult loaded = fg::config::LoadConfig(argv[1]);
    if (!loaded.ok()) {
        std::cerr << "bench_check_phases: the config has problems (run config check)\n";
        return 2;
    }
    const fg::config::AppConfig& config = loaded.config;
    const auto now = fg::ParseIso8601(argv[2]);
    if (!now) {
        std::cerr << "bench_check_phases: NOW is not ISO 8601 with an offset\n";
        return 2;
    }
    auto opened = fg::storage::OpenDatabase(config.storage.path, /*read_only=*/true);
    if (!opened) {
        std::cerr << "bench_check_phases: " << opened.error().message << "\n";
        return 1;
    }
    fg::storage::Db& db = **opened;
    const std::string all_tenants;
    Phases phases;

    std::set<std::string> acknowledged;
    phases.Run("acknowledged", [&] {
        fg::storage::ViolationFilter filter;
        filter.state = fg::storage::ViolationFilter::State::kResolved;
        filter.limit = std::numeric_limits<int>::max();
        std::size_t resolved = 0;
        for (const fg::storage::Violation& v : fg::storage::ListViolations(db, filter)) {
            ++resolved;
            if (v.resolution == "acknowledged") {
                acknowledged.insert(
                    fmt::format("{}\x1f{}\x1f{}\x1f{}", v.tenant, v.deal_id, v.rule, v.key));
            }
        }
        return fmt::format("{} resolved violation rows read, {} acknowledged", resolved,
                           acknowledged.size());
    });

    phases.Run("scan", [&] {
        std::size_t deals = 0;
        std::size_t tasks = 0;
        std::size_t history = 0;
        fg::storage::ForEachSnapshot(db, all_tenants, [&](const fg::domain::DealSnapshot& s) {
            ++deals;
            tasks += s.tasks.size();
            history += s.history.size();
        });
        return fmt::format("{} deals, {} tasks, {} stage changes", deals, tasks, history);
    });

    phases.Run("scan+evaluate", [&] {
        std::size_t findings = 0;
        fg::storage::ForEachSnapshot(db, all_tenants, [&](const fg::domain::DealSnapshot& s) {
            const fg::config::TenantConfig* tenant = config.FindTenant(s.deal.tenant);
            if (tenant != nullptr) {
                findings += fg::engine::EvaluateSnapshot(s, *tenant, *now).findings.size();
            }
        });
        return fmt::format("{} findings", findings);
    });

    std::vector<Row> rows;
    phases.Run("scan+eval+rows", [&] {
        fg::storage::ForEachSnapshot(db, all_tenants, [&](const fg::domain::DealSnapshot& s) {
            const fg::config::TenantConfig* tenant = config.FindTenant(s.deal.tenant);
            if (tenant == nullptr) {
                return;
            }
            for (fg::rules::Finding& finding :
                 fg::engine::EvaluateSnapshot(s, *tenant, *now).findings) {
                if (!acknowledged.empty() &&
                    acknowledged.count(fmt::format("{}\x1f{}\x1f{}\x1f{}", tenant->id, s.deal.id,
                                                   finding.rule, finding.key))) {
                    continue;
                }
                const fg::rules::RuleSpec* spec = fg::rules::FindRule(finding.rule);
                std::string message = fg::engine::RenderFindingText(
                    *spec, finding, s.deal, *tenant, fg::engine::TextKind::kMessage);
                rows.push_back(Row{
                    .tenant = tenant->id,
                    .deal = s.deal.id,
                    .title = s.deal.title,
                    .rule = finding.rule,
                    .responsible = finding.responsible,
                    .since = std::min(finding.since, *now),
                    .details = std::move(finding.details),
                    .message = std::move(message),
                });
            }
        });
        return fmt::format("{} rows", rows.size());
    });

    nlohmann::json document;
    phases.Run("json build", [&] {
        nlohmann::json items = nlohmann::json::array();
        for (Row& row : rows) {
            const fg::config::TenantConfig* tenant = config.FindTenant(row.tenant);
            items.push_back({{"tenant", row.tenant},
                             {"deal", row.deal},
                             {"deal_title", row.title},
                             {"rule", row.rule},
                             {"responsible", row.responsible},
                             {"opened_at", fg::FormatIso8601(row.since, tenant->timezone)},
                             {"details", std::move(row.details)},
                             {"message", row.message}});
        }
        document = nlohmann::json{{"violations", std::move(items)}};
        return fmt::format("{} items", document["violations"].size());
    });
    phases.Run("json dump(2)", [&] {
        const std::string text = document.dump(2);
        return fmt::format("{:.1f} MiB of JSON", static_cast<double>(text.size()) / 1048576.0);
    });
    return 0;
}
