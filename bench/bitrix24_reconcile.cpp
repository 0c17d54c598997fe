// bench_bitrix24_reconcile (issue 11): a full reconciliation pull of DEALS deals with their
// to-dos, tasks, comments and stage history, through the Bitrix24 connector and the portal's
// limiter, against the simulator in-process at RATE req/s with a bucket of BURST.
//
//   bench_bitrix24_reconcile [DEALS] [RATE] [BURST] [CLIENT_BURST]   defaults 100000 2 50 BURST
//
// Times Bitrix24Connector::Pull from the first page to `done` (the catalog is loaded before the
// clock starts), the way `reconcile` calls it, without storing what it reads (the core's apply
// is measured by bench/check.sh and the amoCRM reconcile). The ceiling is what the limiter
// allows with `batch`: R = ceil(rows / 2,500) requests (50 sub-calls of 50 rows), rows = every
// deal, to-do, task, comment and stage-history row read; ceiling = R / RATE seconds without the
// bucket's burst, (R - BURST) / RATE with it. Both fractions (ceiling / wall) are printed.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "adapters/bitrix24/api/connector.hpp"
#include "adapters/bitrix24/sim/simulator.hpp"
#include "src/common/clock.hpp"

namespace {

namespace b24 = fg::adapters::bitrix24;
using Steady = std::chrono::steady_clock;

double Since(Steady::time_point start) {
    return std::chrono::duration<double>(Steady::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
    const int deals = argc > 1 ? std::atoi(argv[1]) : 100000;
    const double rate = argc > 2 ? std::atof(argv[2]) : 2;
    const int burst = argc > 3 ? std::atoi(argv[3]) : 50;
    // The tenant's `burst` (default: the portal's; the limiter keeps
    // PortalLimiter::kBurstMargin places of it free).
    const int client_burst = argc > 4 ? std::atoi(argv[4]) : burst;
    if (deals < 1 || rate <= 0 || burst < 1 || client_burst < 1) {
        std::fprintf(stderr,
                     "usage: bench_bitrix24_reconcile [DEALS] [RATE] [BURST] [CLIENT_BURST]\n");
        return 2;
    }
    fg::SystemClock clock;
    const auto generate = Steady::now();
    b24::sim::Simulator portal({.seed = 1,
                                .deals = deals,
                                .clock = &clock,
                                .webhook_token = "benchtoken",
                                .rate = rate,
                                .burst = static_cast<double>(burst)});
    if (auto started = portal.Start(); !started) {
        std::fprintf(stderr, "simulator: %s\n", started.error().message.c_str());
        return 1;
    }
    fmt::print(
        "sim: {} deals, ready in {:.1f} s, {} req/s, bucket {}; funnelguard's limiter: "
        "bucket {}\n",
        portal.DealCount(), Since(generate), rate, burst, client_burst);
    auto limiter = std::make_shared<b24::PortalLimiter>(rate, client_burst, clock);
    auto client = std::make_shared<b24::Client>(b24::ClientOptions{.tenant = "bench",
                                                                   .portal_url = portal.Url(),
                                                                   .webhook_user = 1,
                                                                   .webhook_token = "benchtoken"},
                                                limiter, clock);
    b24::Bitrix24Connector connector(client, std::make_shared<b24::CatalogCache>(),
                                     b24::MapContext{.tenant = "bench",
                                                     .time_zone = "Europe/Moscow",
                                                     .catalog = nullptr,
                                                     .deal_tasks = b24::DealTasks::kBoth},
                                     b24::WriteTasksAs::kTodo);
    if (auto directory = connector.FetchDirectory(); !directory) {
        std::fprintf(stderr, "catalog: %s\n", directory.error().message.c_str());
        return 1;
    }
    // The catalog's requests took from both buckets: let them drain, so that the pull starts
    // with the whole burst the ceiling counts.
    const std::uint64_t catalog_requests = portal.Stats().requests;
    std::this_thread::sleep_for(
        std::chrono::duration<double>(static_cast<double>(catalog_requests) / rate + 0.5));
    fmt::print("catalog: {} requests, then {:.1f} s for the bucket to drain\n", catalog_requests,
               static_cast<double>(catalog_requests) / rate + 0.5);
    const std::uint64_t before = portal.Stats().requests;
    const std::uint64_t limited_before = portal.Stats().limit_errors;
    std::size_t rows_deals = 0, rows_tasks = 0, rows_notes = 0, rows_history = 0, pages = 0;
    std::string cursor;
    std::map<std::string, std::map<std::uint64_t, int>> requests_per_page;  // phase -> n -> pages
    std::uint64_t requests_so_far = before;
    const auto start = Steady::now();
    for (bool done = false; !done;) {
        auto page = connector.Pull({.since = std::nullopt, .cursor = cursor});
        if (!page) {
            std::fprintf(stderr, "pull: %s\n", page.error().message.c_str());
            return 1;
        }
        ++pages;
        for (const fg::domain::Event& event : page->events) {
            if (std::holds_alternative<fg::domain::DealUpserted>(event.body)) {
                ++rows_deals;
            } else if (std::holds_alternative<fg::domain::TaskUpserted>(event.body)) {
                ++rows_tasks;
            } else if (std::holds_alternative<fg::domain::NoteAdded>(event.body)) {
                ++rows_notes;
            } else if (std::holds_alternative<fg::domain::StageObserved>(event.body)) {
                ++rows_history;
            }
        }
        const std::uint64_t now_requests = portal.Stats().requests;
        ++requests_per_page[page->progress][now_requests - requests_so_far];
        requests_so_far = now_requests;
        cursor = page->cursor;
        done = page->done;
        if (pages % 10 == 0) {
            std::fprintf(stderr, "%.1f s: page %zu, %s, %zu deals\n", Since(start), pages,
                         page->progress.c_str(), rows_deals);
        }
    }
    const double wall = Since(start);
    const fg::adapters::bitrix24::sim::SimStats stats = portal.Stats();
    const std::uint64_t requests = stats.requests - before;
    const std::uint64_t limited = stats.limit_errors - limited_before;
    const std::size_t rows = rows_deals + rows_tasks + rows_notes + rows_history;
    const double minimum = std::ceil(static_cast<double>(rows) / 2500.0);
    const double ceiling = minimum / rate;
    const double ceiling_burst = std::max(0.0, minimum - burst) / rate;
    fmt::print(
        "read {} rows: {} deals, {} to-dos and tasks, {} comments, {} stage-history rows; "
        "{} pages\n",
        rows, rows_deals, rows_tasks, rows_notes, rows_history, pages);
    fmt::print("requests {} (minimum with batch {:.0f}), limit errors (503) {}, 429s {}\n",
               requests, minimum, limited, stats.operation_limit_errors);
    for (const auto& [phase, histogram] : requests_per_page) {
        std::string line;
        for (const auto& [count, times] : histogram) {
            line += fmt::format(" {} request(s) x {}", count, times);
        }
        fmt::print("pages of {}:{}\n", phase, line);
    }
    fmt::print(
        "wall {:.1f} s; ceiling without the burst {:.1f} s: fraction {:.3f}; with the "
        "burst {:.1f} s: fraction {:.3f}\n",
        wall, ceiling, ceiling / wall, ceiling_burst, ceiling_burst / wall);
    // The burst is part of what the limiter allows: the goal counts the ceiling with it.
    const bool met = ceiling_burst / wall >= 0.9 && limited == 0;
    fmt::print("goal (>= 0.9 of the ceiling with the burst, no limit error): {}\n",
               met ? "met" : "MISSED");
    portal.Stop();
    return met ? 0 : 1;
}
