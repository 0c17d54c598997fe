// A diagnostic for bench/check.sh (DIAGNOSE=1): where the time of `funnelguard check --format
// json` goes. It repeats the steps of src/app/check.cpp over the same mirror, one pass per line,
// each pass doing one step more than the one before, and prints the wall time and the process's
// peak RSS so far after each:
//   acknowledged        storage::AcknowledgedKeys (what check leaves out)
//   (warm-up scan)      a first scan, not counted
//   scan                ForEachSnapshot alone: read and decode every deal row
//   +evaluate           the same pass with EvaluateSnapshot (the five rules)
//   +messages           ... and RenderFindingText for every finding (the row check builds)
//   +json               ... and each violation written as check writes its JSON item
//                       (engine::AppendCheckItem) into a buffer that is thrown away
//   swept, N threads    what check does: the +json pass through storage::SweepSnapshots, the rows
//                       read on this thread, decoded and judged on N worker threads (one per core)
// The first five passes run on one thread. check --format json costs about acknowledged + the
// swept pass + writing the output.
// Keep it in step with src/app/check.cpp when that changes.
//
// Usage: bench_check_phases CONFIG NOW   (NOW as for check --now)
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <set>
#include <string>

#include <fmt/format.h>

#include "src/app/adapters.hpp"
#include "src/config/config.hpp"
#include "src/engine/judge.hpp"
#include "src/engine/messages.hpp"
#include "src/engine/views.hpp"
#include "src/rules/catalog.hpp"
#include "src/storage/store.hpp"
#include "src/storage/sweep.hpp"

namespace {

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

template <typename Step>
void Phase(const std::string& name, Step step) {
    const auto begin = std::chrono::steady_clock::now();
    const std::string note = step();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    std::cout << fmt::format("{:<14} {:>8.3f} s   peak RSS {:>6} MiB   {}\n", name, seconds,
                             PeakRssKb() / 1024, note)
              << std::flush;
}

enum class Depth { kScan, kEvaluate, kMessages, kJson };

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: bench_check_phases CONFIG NOW\n";
        return 2;
    }
    const fg::config::LoadResult loaded = fg::config::LoadConfig(argv[1], fg::app::CrmSchemas());
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

    std::set<std::string> acknowledged;
    Phase("acknowledged", [&] {
        for (std::string& key : fg::storage::AcknowledgedKeys(db, all_tenants)) {
            acknowledged.insert(std::move(key));
        }
        return fmt::format("{} acknowledged", acknowledged.size());
    });

    // One deal at the given depth, as check does it; returns the findings kept.
    auto judge = [&](const fg::domain::DealSnapshot& s, Depth depth, std::string& out) {
        const fg::config::TenantConfig* tenant = config.FindTenant(s.deal.tenant);
        if (depth == Depth::kScan || tenant == nullptr) {
            return std::size_t{0};
        }
        std::size_t findings = 0;
        for (fg::rules::Finding& finding :
             fg::engine::EvaluateSnapshot(s, *tenant, *now).findings) {
            if (!acknowledged.empty() &&
                acknowledged.count(fmt::format("{}\x1f{}\x1f{}\x1f{}", tenant->id, s.deal.id,
                                               finding.rule, finding.key))) {
                continue;
            }
            ++findings;
            if (depth == Depth::kEvaluate) {
                continue;
            }
            const fg::rules::RuleSpec* spec = fg::rules::FindRule(finding.rule);
            const std::string message = fg::engine::RenderFindingText(
                *spec, finding, s.deal, *tenant, fg::engine::TextKind::kMessage);
            if (depth == Depth::kMessages) {
                continue;
            }
            out += ",\n";
            fg::engine::AppendCheckItem(out, {.tenant = tenant->id,
                                              .deal = s.deal,
                                              .finding = finding,
                                              .opened_at = std::min(finding.since, *now),
                                              .message = message,
                                              .time_zone = tenant->timezone});
        }
        return findings;
    };
    auto summary = [](std::size_t deals, std::size_t findings, std::size_t bytes, Depth depth) {
        return fmt::format(
            "{} deals, {} findings{}", deals, findings,
            depth == Depth::kJson
                ? fmt::format(", {:.1f} MiB of JSON", static_cast<double>(bytes) / 1048576.0)
                : "");
    };
    auto pass = [&](Depth depth) {
        std::size_t deals = 0;
        std::size_t findings = 0;
        std::size_t bytes = 0;
        std::string out;
        fg::storage::ForEachSnapshot(db, all_tenants, [&](const fg::domain::DealSnapshot& s) {
            ++deals;
            findings += judge(s, depth, out);
            if (out.size() > (1 << 20)) {
                bytes += out.size();
                out.clear();
            }
        });
        bytes += out.size();
        return summary(deals, findings, bytes, depth);
    };
    struct Batch {
        std::string out{};
        std::size_t deals = 0;
        std::size_t findings = 0;
        void clear() {
            out.clear();
            deals = 0;
            findings = 0;
        }
    };
    auto swept = [&] {
        std::size_t deals = 0;
        std::size_t findings = 0;
        std::size_t bytes = 0;
        fg::storage::SweepSnapshots<Batch>(
            db, all_tenants, fg::storage::SweepThreads(), 512,
            [&](const fg::domain::DealSnapshot& s, Batch& batch) {
                ++batch.deals;
                batch.findings += judge(s, Depth::kJson, batch.out);
            },
            [&](Batch& batch) {
                deals += batch.deals;
                findings += batch.findings;
                bytes += batch.out.size();
            });
        return summary(deals, findings, bytes, Depth::kJson);
    };
    // The first pass over the mirror costs more than the next ones (the database file is opened
    // cold, SQLite's page cache and the allocator warm up): it is shown but not one of the steps.
    Phase("(warm-up scan)", [&] { return pass(Depth::kScan); });
    Phase("scan", [&] { return pass(Depth::kScan); });
    Phase("+evaluate", [&] { return pass(Depth::kEvaluate); });
    Phase("+messages", [&] { return pass(Depth::kMessages); });
    Phase("+json", [&] { return pass(Depth::kJson); });
    Phase(fmt::format("swept, {} thr.", fg::storage::SweepThreads()), swept);
    return 0;
}
