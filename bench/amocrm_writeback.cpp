// bench_amocrm_writeback (issue 3, goal 2): 10,000 `task` actions written back to amoCRM
// through funnelguard's own outbox worker and amoCRM writer, against the simulator in-process.
//
//   bench_amocrm_writeback [TASKS] [RPS] [LEADS]      defaults 10000 7 2000
//
// 1. Starts adapters::amocrm::sim::Simulator on 127.0.0.1:0 (SimOptions rps = RPS, LEADS leads).
// 2. Enqueues TASKS `task` items (typed as engine::PlanActions makes them) into the
//    outbox of a fresh database, in one write transaction, before the engine starts.
// 3. Starts an engine::Engine (deliver = true, timers = false) whose one amocrm tenant has an
//    AmoConnector wired as src/app/wiring.cpp does (ClientOptions: base_url, token, rps), and
//    times Start() -> outbox empty.
// 4. Prints the sim's requests per endpoint, 429s, the tasks it holds, duplicates and the
//    fraction of the ceiling (TASKS/50 requests at RPS).
//
// The connector is wrapped to time each DeliverBatch (rate-limiter wait + HTTP + answer
// mapping); what is left of the wall time is the engine's own work between batches
// (DueOutbox, the commit counting the attempts, the commit recording the outcomes).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include "adapters/amocrm/api/connector.hpp"
#include "adapters/amocrm/config.hpp"
#include "adapters/amocrm/sim/simulator.hpp"
#include "adapters/amocrm/wire/catalog.hpp"
#include "src/app/adapters.hpp"
#include "src/common/clock.hpp"
#include "src/common/log.hpp"
#include "src/config/config.hpp"
#include "src/engine/engine.hpp"
#include "src/outbox/action_codec.hpp"
#include "src/storage/store.hpp"

namespace {

using Steady = std::chrono::steady_clock;
namespace amo = fg::adapters::amocrm;

double Seconds(Steady::duration d) { return std::chrono::duration<double>(d).count(); }

// Forwards to the amoCRM writer and times each call.
class TimedSink final : public fg::outbox::ActionSink {
public:
    explicit TimedSink(fg::outbox::ActionSink& inner) : inner_(inner) {}
    fg::outbox::DeliveryResult Deliver(const fg::outbox::Action& action) override {
        const auto start = Steady::now();
        auto result = inner_.Deliver(action);
        Note(start, Steady::now(), 1);
        return result;
    }
    std::size_t MaxBatch(fg::outbox::ActionKind kind) const override {
        return inner_.MaxBatch(kind);
    }
    std::vector<fg::outbox::DeliveryResult> DeliverBatch(
        const std::vector<fg::outbox::Action>& actions) override {
        const auto start = Steady::now();
        auto results = inner_.DeliverBatch(actions);
        Note(start, Steady::now(), actions.size());
        return results;
    }

    struct Call {
        Steady::time_point start, end;
        std::size_t size;
    };
    std::vector<Call> Calls() const {
        std::lock_guard lock(mutex_);
        return calls_;
    }

private:
    void Note(Steady::time_point start, Steady::time_point end, std::size_t size) {
        std::lock_guard lock(mutex_);
        calls_.push_back({start, end, size});
    }
    fg::outbox::ActionSink& inner_;
    mutable std::mutex mutex_;
    std::vector<Call> calls_;
};

class TimedConnector final : public fg::crm::Connector {
public:
    TimedConnector(amo::ClientOptions options)
        : inner_(std::move(options), std::make_shared<amo::CatalogCache>()), sink_(inner_.Sink()) {}
    fg::Result<fg::crm::Directory> FetchDirectory() override { return inner_.FetchDirectory(); }
    fg::Result<fg::crm::PullPage> Pull(const fg::crm::PullRequest& request) override {
        return inner_.Pull(request);
    }
    fg::Result<fg::crm::Connection> Connect(const std::string& url) override {
        return inner_.Connect(url);
    }
    fg::Result<void> Disconnect(const std::string& url) override { return inner_.Disconnect(url); }
    fg::outbox::ActionSink& Sink() override { return sink_; }
    std::string Blocked() const override { return inner_.Blocked(); }
    const TimedSink& timed() const { return sink_; }

private:
    amo::AmoConnector inner_;
    TimedSink sink_;
};

double LoadAverage() {
    double load[1] = {0};
    return getloadavg(load, 1) == 1 ? load[0] : -1;
}

}  // namespace

int main(int argc, char** argv) {
    const int tasks = argc > 1 ? std::atoi(argv[1]) : 10000;
    const double rps = argc > 2 ? std::atof(argv[2]) : 7;
    const int leads = argc > 3 ? std::atoi(argv[3]) : 2000;
    if (tasks <= 0 || rps <= 0 || rps > 7 || leads <= 0) {
        std::fprintf(stderr, "usage: bench_amocrm_writeback [TASKS>0] [RPS in (0,7]] [LEADS>0]\n");
        return 2;
    }
    fg::SetupLogging("warn");
    fg::SystemClock clock;

    // ------------------------------------------------------------------ the simulator
    fg::adapters::amocrm::sim::SimOptions sim_options;
    sim_options.rps = rps;
    sim_options.leads = leads;
    sim_options.seed = 2026;
    sim_options.clock = &clock;
    fg::adapters::amocrm::sim::Simulator sim(sim_options);
    if (auto started = sim.Start(); !started) {
        std::fprintf(stderr, "simulator: %s\n", started.error().message.c_str());
        return 1;
    }
    // Open leads with their responsible user, round-robin over the users.
    std::vector<std::pair<std::int64_t, std::int64_t>> targets;  // lead, responsible
    for (const auto& user : sim.Users()) {
        for (const std::int64_t lead : sim.OpenLeadIds(user.id, static_cast<std::size_t>(leads))) {
            targets.emplace_back(lead, user.id);
        }
    }
    if (targets.empty()) {
        std::fprintf(stderr, "simulator: no open leads\n");
        return 1;
    }
    const std::size_t tasks_before = sim.TaskCount();

    // ------------------------------------------------------------------ config and outbox
    std::string dir_template =
        (std::filesystem::temp_directory_path() / "fg-amowb-XXXXXX").string();
    if (mkdtemp(dir_template.data()) == nullptr) {
        std::perror("mkdtemp");
        return 1;
    }
    const std::filesystem::path dir = dir_template;
    const std::string db_path = (dir / "fg.db").string();
    const std::string config_text = fmt::format(R"(
[storage]
path = "{}"
[log]
level = "warn"
[[tenant]]
id = "bench"
crm = "amocrm"
secret = "bench-hook-secret"
mode = "enforce"
  [tenant.amocrm]
  base_url = "{}"
  token = "{}"
  rps = {}
)",
                                                db_path, sim.BaseUrl(), sim.Token(), rps);
    auto loaded = fg::config::LoadConfigFromString(config_text, "bench.toml", fg::app::CrmSchemas(),
                                                   dir.string());
    if (!loaded.ok()) {
        for (const auto& problem : loaded.problems) {
            std::fprintf(stderr, "%s\n", fg::config::FormatProblem(problem).c_str());
        }
        return 2;
    }
    const fg::config::AppConfig config = std::move(loaded.config);

    const fg::Timestamp now = clock.Now();
    {
        auto db = fg::storage::OpenDatabase(db_path);
        if (!db) {
            std::fprintf(stderr, "database: %s\n", db.error().message.c_str());
            return 1;
        }
        fg::storage::WriteTransaction transaction(**db);
        for (int i = 0; i < tasks; ++i) {
            const auto& [lead, responsible] = targets[static_cast<std::size_t>(i) % targets.size()];
            const std::string key = fmt::format("bench:v{}:task", i + 1);
            const std::string text =
                fmt::format("Назначьте следующий шаг по сделке (bench task #{})", i + 1);
            const fg::outbox::ActionBody body{
                .kind = fg::outbox::ActionKind::kTask,
                .tenant = "bench",
                .deal = std::to_string(lead),
                .deal_title = fmt::format("Сделка {}", lead),
                .responsible = std::to_string(responsible),
                .idempotency_key = key,
                .violation = {.id = i + 1,
                              .rule = "deal_without_task",
                              .opened_at = now,
                              .details = nlohmann::json::object(),
                              .message = text},
                .text = text,
                .detail = fg::outbox::TaskBody{.responsible = std::to_string(responsible),
                                               .due = now + std::chrono::hours{24}}};
            fg::storage::OutboxItem item;
            item.tenant = "bench";
            item.kind = "task";
            item.idempotency_key = key;
            item.payload = fg::outbox::EncodeAction(body);
            item.next_attempt_at = now;
            item.created_at = now;
            fg::storage::EnqueueOutbox(**db, item);
        }
        transaction.Commit();
    }

    // ------------------------------------------------------------------ the engine
    TimedConnector* connector = nullptr;
    fg::engine::EngineOptions options;
    options.config = &config;
    options.clock = &clock;
    options.timers = false;
    options.deliver = true;
    options.make_connector =
        [&](const fg::config::TenantConfig& tenant) -> std::unique_ptr<fg::crm::Connector> {
        if (tenant.crm != "amocrm") {
            return nullptr;
        }
        amo::ClientOptions client;  // as Adapters::MakeConnector does
        client.tenant = tenant.id;
        client.base_url = fg::adapters::amocrm::SettingsOf(tenant).base_url;
        client.token = fg::adapters::amocrm::SettingsOf(tenant).token;
        client.clock = &clock;
        client.rps = fg::adapters::amocrm::SettingsOf(tenant).rps;
        auto made = std::make_unique<TimedConnector>(std::move(client));
        connector = made.get();
        return made;
    };
    std::atomic<int> delivered{0}, retried{0}, rejected{0};
    std::atomic<std::int64_t> last_outcome_ns{0};
    options.observer.on_delivery = [&](const fg::outbox::Action&,
                                       const fg::outbox::DeliveryResult& result) {
        switch (result.status) {
            case fg::outbox::DeliveryStatus::kDelivered:
                ++delivered;
                break;
            case fg::outbox::DeliveryStatus::kRetry:
                ++retried;
                break;
            case fg::outbox::DeliveryStatus::kRejected:
                ++rejected;
                break;
        }
        last_outcome_ns = Steady::now().time_since_epoch().count();
    };

    const double load_start = LoadAverage();
    std::fprintf(stderr,
                 "bench: %d task(s) queued for %zu open lead(s); sim %s at %g req/s; "
                 "load average %.2f\n",
                 tasks, targets.size(), sim.BaseUrl().c_str(), rps, load_start);
    fg::engine::Engine engine(std::move(options));
    const auto start = Steady::now();
    if (auto started = engine.Start(); !started) {
        std::fprintf(stderr, "engine: %s\n", started.error().message.c_str());
        return 1;
    }
    auto reader = engine.OpenReader();
    if (!reader) {
        std::fprintf(stderr, "reader: %s\n", reader.error().message.c_str());
        return 1;
    }
    const auto deadline = start + std::chrono::minutes{15};
    fg::storage::OutboxStats stats{};
    Steady::time_point empty_at{};
    auto last_report = start;
    for (;;) {
        stats = fg::storage::GetOutboxStats(**reader);
        const auto t = Steady::now();
        if (stats.pending == 0) {
            empty_at = t;
            break;
        }
        if (t > deadline) {
            std::fprintf(stderr, "bench: gave up after 15 min with %lld pending\n",
                         static_cast<long long>(stats.pending));
            break;
        }
        if (t - last_report >= std::chrono::seconds{5}) {
            last_report = t;
            std::fprintf(stderr, "bench: %5.1f s: %lld done, %lld pending\n", Seconds(t - start),
                         static_cast<long long>(stats.done), static_cast<long long>(stats.pending));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
    engine.Stop();
    const auto calls = connector->timed().Calls();
    const double load_end = LoadAverage();
    const auto sim_stats = sim.Stats();

    // ------------------------------------------------------------------ duplicates
    std::map<std::string, int> copies;  // bench task text -> tasks in the sim
    std::set<std::int64_t> seen_leads;
    for (const auto& [lead, responsible] : targets) {
        if (!seen_leads.insert(lead).second) {
            continue;
        }
        for (const auto& task : sim.LeadTasks(lead)) {
            if (task.text.find("(bench task #") != std::string::npos) {
                ++copies[task.text];
            }
        }
    }
    int bench_tasks = 0, duplicates = 0;
    for (const auto& [text, count] : copies) {
        bench_tasks += count;
        duplicates += count - 1;
    }
    sim.Stop();

    // ------------------------------------------------------------------ report
    const double wall =
        Seconds((empty_at == Steady::time_point{} ? Steady::now() : empty_at) - start);
    const Steady::time_point last_outcome{Steady::duration{last_outcome_ns.load()}};
    const double to_last_outcome = Seconds(last_outcome - start);
    std::uint64_t posts = 0;
    fmt::print("endpoint requests:");
    for (const auto& [endpoint, count] : sim_stats.endpoints) {
        fmt::print(" {} = {};", endpoint, count);
        if (endpoint == "POST /api/v4/tasks") {
            posts = count;
        }
    }
    fmt::print("\n");
    const double ceiling = static_cast<double>(sim_stats.requests) / rps;
    double in_sink = 0, gaps = 0, max_gap = 0;
    for (std::size_t i = 0; i < calls.size(); ++i) {
        in_sink += Seconds(calls[i].end - calls[i].start);
        if (i > 0) {
            const double gap = Seconds(calls[i].start - calls[i - 1].end);
            gaps += gap;
            max_gap = std::max(max_gap, gap);
        }
    }
    const double first_call = calls.empty() ? 0 : Seconds(calls.front().start - start);
    const double after_last = calls.empty() ? 0 : Seconds(empty_at - calls.back().end);
    fmt::print(
        "tasks: {} queued, {} delivered, {} retried, {} rejected; sim tasks {} -> {} "
        "(+{}), bench tasks in the sim {}, distinct {}, duplicates {}, missing {}\n",
        tasks, delivered.load(), retried.load(), rejected.load(), tasks_before, sim.TaskCount(),
        sim.TaskCount() - tasks_before, bench_tasks, copies.size(), duplicates,
        tasks - static_cast<int>(copies.size()));
    fmt::print("requests: {} total ({} POST /api/v4/tasks), {} answered 429, {} 403, {} 401\n",
               sim_stats.requests, posts, sim_stats.rate_limited, sim_stats.blocked,
               sim_stats.unauthorized);
    fmt::print(
        "sink calls: {}; inside DeliverBatch (limiter wait + HTTP) {:.2f} s total, "
        "{:.1f} ms mean; between calls (engine: DueOutbox + attempt and outcome commits) "
        "{:.2f} s total, {:.1f} ms mean, {:.1f} ms max; start -> first call {:.3f} s, "
        "last call -> outbox empty {:.3f} s\n",
        calls.size(), in_sink, calls.empty() ? 0.0 : 1000 * in_sink / calls.size(), gaps,
        calls.size() > 1 ? 1000 * gaps / (calls.size() - 1) : 0.0, 1000 * max_gap, first_call,
        after_last);
    fmt::print(
        "wall: {:.2f} s start -> outbox empty ({:.2f} s to the last outcome); "
        "ceiling {:.2f} s ({} requests / {} req/s); fraction {:.3f}; "
        "tasks/s {:.1f}; load average {:.2f} -> {:.2f}\n",
        wall, to_last_outcome, ceiling, sim_stats.requests, rps, ceiling / wall, tasks / wall,
        load_start, load_end);
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
    const bool ok = stats.pending == 0 && duplicates == 0 && sim_stats.rate_limited == 0 &&
                    static_cast<int>(copies.size()) == tasks;
    return ok ? 0 : 1;
}
