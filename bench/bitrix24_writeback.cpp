// bench_bitrix24_writeback (issue 11): TASKS to-dos written back to Bitrix24 through the
// Bitrix24 writer (crm.activity.todo.add, 50 a `batch`) and the portal's limiter, against the
// simulator in-process at RATE req/s with a bucket of BURST.
//
//   bench_bitrix24_writeback [TASKS] [RATE] [BURST] [DEALS]      defaults 10000 2 50 2000
//
// Calls Writer::DeliverBatch with MaxBatch(task) actions at a time, as the outbox worker hands
// them over, and hands a batch's kRetry items back (attempt + 1, previous_not_sent as the
// outbox sets it) until every action is delivered. It does not go through the outbox's storage
// (bench/amocrm_writeback.cpp measures that part for amoCRM). Ceiling: TASKS / 50 requests at
// RATE: TASKS / 50 / RATE seconds without the burst, (TASKS / 50 - BURST) / RATE with it.
// Nothing twice: every to-do's text is unique, and the simulator's to-dos are counted by text.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "adapters/bitrix24/api/catalog.hpp"
#include "adapters/bitrix24/api/writer.hpp"
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
    const int tasks = argc > 1 ? std::atoi(argv[1]) : 10000;
    const double rate = argc > 2 ? std::atof(argv[2]) : 2;
    const int burst = argc > 3 ? std::atoi(argv[3]) : 50;
    const int deals = argc > 4 ? std::atoi(argv[4]) : 2000;
    if (tasks < 1 || rate <= 0 || burst < 1 || deals < 1) {
        std::fprintf(stderr, "usage: bench_bitrix24_writeback [TASKS] [RATE] [BURST] [DEALS]\n");
        return 2;
    }
    fg::SystemClock clock;
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
    auto limiter = std::make_shared<b24::PortalLimiter>(rate, burst, clock);
    b24::Client client(b24::ClientOptions{.tenant = "bench",
                                          .portal_url = portal.Url(),
                                          .webhook_user = 1,
                                          .webhook_token = "benchtoken"},
                       limiter, clock);
    b24::Writer writer(client, std::make_shared<b24::CatalogCache>(), {}, b24::WriteTasksAs::kTodo);
    std::vector<std::int64_t> open;
    for (const std::int64_t user : {1, 7, 9, 12, 15, 18, 21}) {  // the simulator's users
        for (const std::int64_t id : portal.OpenDealIds(user, static_cast<std::size_t>(deals))) {
            open.push_back(id);
        }
    }
    if (open.empty()) {
        std::fprintf(stderr, "the simulator has no open deal\n");
        return 1;
    }
    std::vector<fg::outbox::Action> pending;
    for (int i = 0; i < tasks; ++i) {
        fg::outbox::Action action;
        action.body.kind = fg::outbox::ActionKind::kTask;
        action.body.tenant = "bench";
        action.body.deal = std::to_string(open[static_cast<std::size_t>(i) % open.size()]);
        action.body.text = fmt::format("funnelguard bench to-do {}", i);
        action.body.detail =
            fg::outbox::TaskBody{.responsible = "1", .due = clock.Now() + fg::Duration{86400}};
        pending.push_back(std::move(action));
    }
    const std::uint64_t before = portal.Stats().requests;
    const std::size_t chunk = writer.MaxBatch(fg::outbox::ActionKind::kTask);
    std::size_t delivered = 0, retried = 0, rejected = 0;
    const auto start = Steady::now();
    while (!pending.empty()) {
        std::vector<fg::outbox::Action> again;
        for (std::size_t at = 0; at < pending.size(); at += chunk) {
            const std::vector<fg::outbox::Action> batch(
                pending.begin() + static_cast<std::ptrdiff_t>(at),
                pending.begin() +
                    static_cast<std::ptrdiff_t>(std::min(pending.size(), at + chunk)));
            const auto results = writer.DeliverBatch(batch);
            for (std::size_t i = 0; i < batch.size(); ++i) {
                switch (results[i].status) {
                    case fg::outbox::DeliveryStatus::kDelivered:
                        ++delivered;
                        break;
                    case fg::outbox::DeliveryStatus::kRejected:
                        ++rejected;
                        std::fprintf(stderr, "rejected: %s\n", results[i].error.c_str());
                        break;
                    case fg::outbox::DeliveryStatus::kRetry: {
                        ++retried;
                        fg::outbox::Action retry = batch[i];
                        ++retry.attempt;
                        retry.previous_not_sent = results[i].not_sent;
                        again.push_back(std::move(retry));
                        break;
                    }
                }
            }
        }
        pending = std::move(again);
    }
    const double wall = Since(start);
    const auto stats = portal.Stats();
    std::map<std::string, int> copies;
    for (const auto& activity : portal.AllActivities()) {
        if (activity.subject.rfind("funnelguard bench to-do ", 0) == 0) {
            ++copies[activity.subject];
        }
    }
    int twice = 0;
    for (const auto& [text, count] : copies) {
        twice += count > 1 ? 1 : 0;
    }
    const double requests_min = std::ceil(static_cast<double>(tasks) / 50.0);
    const double ceiling = requests_min / rate;
    const double ceiling_burst = std::max(0.0, requests_min - burst) / rate;
    fmt::print("{} to-dos: {} delivered, {} retried, {} rejected; in the portal {} ({} twice)\n",
               tasks, delivered, retried, rejected, copies.size(), twice);
    fmt::print("requests {} (minimum with batch {:.0f}), limit errors (503) {}, 429s {}\n",
               stats.requests - before, requests_min, stats.limit_errors,
               stats.operation_limit_errors);
    fmt::print(
        "wall {:.1f} s; ceiling without the burst {:.1f} s: fraction {:.3f}; with the "
        "burst {:.1f} s: fraction {:.3f}\n",
        wall, ceiling, ceiling / wall, ceiling_burst, ceiling_burst / wall);
    const bool met = ceiling / wall >= 0.9 && stats.limit_errors == 0 && twice == 0 &&
                     static_cast<int>(copies.size()) == tasks;
    fmt::print(
        "goal (>= 0.9 of the ceiling without the burst, no limit error, nothing twice): "
        "{}\n",
        met ? "met" : "MISSED");
    portal.Stop();
    return met ? 0 : 1;
}
