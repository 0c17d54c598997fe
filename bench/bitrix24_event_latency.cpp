// bench_bitrix24_event_latency (issue 11): from a Bitrix24 event accepted by funnelguard to the
// deal applied in the mirror, through the fetch stage and the portal's limiter.
//
//   bench_bitrix24_event_latency [EVENTS_PER_SECOND] [SECONDS] [RATE] [BURST] [DRAIN]
//                                                           defaults 1.5 60 2 50 1
//
// The simulator runs in-process (its leaky bucket on: RATE req/s, bucket BURST) with an
// outbound webhook for ONCRMDEALUPDATE; funnelguard runs in-process as `serve` wires it
// (app::Adapters, engine::Engine with its timers and fetch worker, http::Server on 127.0.0.1:0),
// one bitrix24 tenant in observe mode, its database in a fresh temporary folder. Between the two
// sits a pass-through that stamps when funnelguard answered 200 to the portal's POST: "accepted".
// A feeder changes distinct deals' titles in the portal at EVENTS_PER_SECOND for SECONDS; a
// watcher polls the mirror (a read-only connection) every 5 ms and stamps when the deal holds the
// new title: "applied". Latency = applied - accepted.
//
// DRAIN = 1 empties the limiter's and the portal's bucket first (BURST calls), so that the run
// sees the steady rate, not the burst. Exit 1 when an event is lost, a limit error is counted or
// p99 >= 2 s.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <httplib.h>
#include <unistd.h>

#include "adapters/bitrix24/api/client.hpp"
#include "adapters/bitrix24/api/limiter.hpp"
#include "adapters/bitrix24/sim/simulator.hpp"
#include "src/app/adapters.hpp"
#include "src/app/wiring.hpp"
#include "src/common/clock.hpp"
#include "src/config/config.hpp"
#include "src/engine/engine.hpp"
#include "src/http/server.hpp"
#include "src/storage/store.hpp"

namespace {

namespace b24 = fg::adapters::bitrix24;
using Steady = std::chrono::steady_clock;

double Seconds(Steady::duration d) { return std::chrono::duration<double>(d).count(); }

double LoadAverage() {
    double load[1] = {0};
    return getloadavg(load, 1) == 1 ? load[0] : -1;
}

double Percentile(std::vector<double> values, double p) {
    if (values.empty()) {
        return 0;
    }
    std::sort(values.begin(), values.end());
    const auto rank = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
    return values[std::min(rank, values.size() - 1)];
}

std::string FormDecode(const std::string& text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '+') {
            out += ' ';
        } else if (text[i] == '%' && i + 2 < text.size()) {
            out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

// The value of form key `key` in a form-encoded body ("" when absent).
std::string FormValue(const std::string& body, const std::string& key) {
    for (std::size_t at = 0; at <= body.size();) {
        const std::size_t end = std::min(body.find('&', at), body.size());
        const std::string pair = body.substr(at, end - at);
        const std::size_t eq = pair.find('=');
        if (eq != std::string::npos && FormDecode(pair.substr(0, eq)) == key) {
            return FormDecode(pair.substr(eq + 1));
        }
        at = end + 1;
    }
    return "";
}

std::string Config(const std::filesystem::path& dir, const b24::sim::Simulator& portal, double rate,
                   int burst) {
    return fmt::format(
        R"(
[storage]
path = "{db}"
[log]
level = "warn"
[[tenant]]
id = "bench"
crm = "bitrix24"
secret = "{secret}"
timezone = "Europe/Moscow"
mode = "observe"
  [tenant.bitrix24]
  portal_url = "{url}"
  webhook_user = {user}
  webhook_token = "{token}"
  rate = {rate}
  burst = {burst}
  [tenant.rules.actual_stage]
  enabled = false
)",
        fmt::arg("db", (dir / "fg.db").string()), fmt::arg("secret", portal.ApplicationToken()),
        fmt::arg("url", portal.Url()), fmt::arg("user", portal.WebhookUser()),
        fmt::arg("token", portal.WebhookToken()), fmt::arg("rate", rate), fmt::arg("burst", burst));
}

struct Change {
    std::int64_t deal = 0;
    std::string title{};
    Steady::time_point changed{}, accepted{}, applied{};
    bool was_accepted = false, was_applied = false;
};

}  // namespace

int main(int argc, char** argv) {
    const double offered = argc > 1 ? std::atof(argv[1]) : 1.5;
    const double seconds = argc > 2 ? std::atof(argv[2]) : 60;
    const double rate = argc > 3 ? std::atof(argv[3]) : 2;
    const int burst = argc > 4 ? std::atoi(argv[4]) : 50;
    const bool drain = argc > 5 ? std::atoi(argv[5]) != 0 : true;
    const int events = static_cast<int>(std::lround(offered * seconds));
    if (offered <= 0 || events < 1 || rate <= 0 || burst < 1) {
        std::fprintf(stderr,
                     "usage: bench_bitrix24_event_latency [EVENTS_PER_SECOND] [SECONDS] [RATE] "
                     "[BURST] [DRAIN]\n");
        return 2;
    }

    fg::SystemClock clock;
    b24::sim::Simulator portal({.seed = 1,
                                .deals = events + 10,
                                .clock = &clock,
                                .webhook_token = "benchtoken",
                                .rate = rate,
                                .burst = static_cast<double>(burst)});
    if (auto started = portal.Start(); !started) {
        std::fprintf(stderr, "simulator: %s\n", started.error().message.c_str());
        return 1;
    }
    // The process's limiter of this portal, held from here on so that funnelguard's client
    // takes from the same bucket (SharedPortalLimiter keeps the first one made).
    const auto limiter = b24::SharedPortalLimiter(portal.Url(), rate, burst, clock);

    std::string dir_template =
        (std::filesystem::temp_directory_path() / "fg-b24latency-XXXXXX").string();
    if (mkdtemp(dir_template.data()) == nullptr) {
        std::perror("mkdtemp");
        return 1;
    }
    const std::filesystem::path dir = dir_template;
    auto loaded = fg::config::LoadConfigFromString(Config(dir, portal, rate, burst), "bench.toml",
                                                   fg::app::ConfigSchemas(), dir.string());
    if (!loaded.ok()) {
        for (const auto& problem : loaded.problems) {
            std::fprintf(stderr, "%s\n", fg::config::FormatProblem(problem).c_str());
        }
        return 1;
    }
    const fg::config::AppConfig config = std::move(loaded.config);
    fg::app::Adapters adapters(config, clock);
    fg::engine::Engine engine(adapters.EngineOptionsFor(clock));
    if (auto started = engine.Start(); !started) {
        std::fprintf(stderr, "engine: %s\n", started.error().message.c_str());
        return 1;
    }
    fg::http::Server server(engine, fg::app::CrmAdapters());
    const auto port = server.Bind("127.0.0.1:0");
    if (!port) {
        std::fprintf(stderr, "server: %s\n", port.error().message.c_str());
        return 1;
    }
    server.Start();

    std::vector<Change> changes(static_cast<std::size_t>(events));
    std::map<std::int64_t, std::size_t> by_deal;
    for (int i = 0; i < events; ++i) {
        const std::int64_t deal = i + 1;
        changes[static_cast<std::size_t>(i)] = {.deal = deal,
                                                .title = fmt::format("Сделка bench-{}", i)};
        by_deal[deal] = static_cast<std::size_t>(i);
    }
    std::mutex mutex;
    std::condition_variable wake;
    int rejected = 0, other_posts = 0;

    // The pass-through: the portal posts here, funnelguard answers, the 200 is stamped.
    httplib::Server relay;
    httplib::Client forward("127.0.0.1", *port);
    forward.set_connection_timeout(5);
    forward.set_read_timeout(30);
    std::mutex forward_mutex;
    relay.Post("/hooks/bitrix24/bench", [&](const httplib::Request& req, httplib::Response& res) {
        httplib::Result answer = [&] {
            const std::lock_guard lock(forward_mutex);
            return forward.Post(req.path.c_str(), req.body,
                                req.get_header_value("Content-Type").c_str());
        }();
        const auto now = Steady::now();
        const std::lock_guard lock(mutex);
        if (!answer || answer->status != 200) {
            ++rejected;
            res.status = answer ? answer->status : 502;
            return;
        }
        res.status = 200;
        res.set_content(answer->body, "application/json");
        const std::string id = FormValue(req.body, "data[FIELDS][ID]");
        const auto it = id.empty() ? by_deal.end() : by_deal.find(std::atoll(id.c_str()));
        if (FormValue(req.body, "event") != "ONCRMDEALUPDATE" || it == by_deal.end()) {
            ++other_posts;
            return;
        }
        Change& change = changes[it->second];
        if (!change.was_accepted) {
            change.was_accepted = true;
            change.accepted = now;
        }
        wake.notify_all();
    });
    const int relay_port = relay.bind_to_any_port("127.0.0.1");
    std::thread relay_thread([&] { relay.listen_after_bind(); });
    portal.AddOutboundWebhook(
        {.url = fmt::format("http://127.0.0.1:{}/hooks/bitrix24/bench", relay_port),
         .events = {"ONCRMDEALUPDATE"}});

    const auto ready_by = Steady::now() + std::chrono::seconds{60};
    while (!engine.Ready().ready && Steady::now() < ready_by) {
        std::this_thread::sleep_for(std::chrono::milliseconds{20});
    }
    if (!engine.Ready().ready) {
        std::fprintf(stderr, "funnelguard did not load the portal's directory\n");
        return 1;
    }
    if (drain) {
        // Empty both buckets: the run measures the steady rate, not the burst.
        b24::Client client(b24::ClientOptions{.tenant = "bench",
                                              .portal_url = portal.Url(),
                                              .webhook_user = portal.WebhookUser(),
                                              .webhook_token = portal.WebhookToken()},
                           limiter, clock);
        for (int i = 0; i < burst; ++i) {
            (void)client.Call("user.current", nlohmann::json::object());
        }
    }
    const fg::adapters::bitrix24::sim::SimStats before = portal.Stats();
    const double load_start = LoadAverage();
    std::fprintf(stderr,
                 "%d deal changes at %.2f/s for %.0f s; portal %.1f req/s, bucket %d%s; "
                 "load average %.2f\n",
                 events, offered, seconds, rate, burst, drain ? " (emptied first)" : "",
                 load_start);

    std::atomic<bool> watching{true};
    std::thread watcher([&] {
        auto reader = engine.OpenReader();
        if (!reader) {
            std::fprintf(stderr, "reader: %s\n", reader.error().message.c_str());
            return;
        }
        while (watching) {
            std::vector<std::size_t> pending;
            {
                std::unique_lock lock(mutex);
                for (std::size_t i = 0; i < changes.size(); ++i) {
                    if (changes[i].was_accepted && !changes[i].was_applied) {
                        pending.push_back(i);
                    }
                }
                if (pending.empty()) {
                    wake.wait_for(lock, std::chrono::milliseconds{5});
                    continue;
                }
            }
            for (const std::size_t i : pending) {
                const auto snapshot =
                    fg::storage::LoadSnapshot(**reader, "bench", std::to_string(changes[i].deal));
                if (snapshot && snapshot->deal.title == changes[i].title) {
                    const auto now = Steady::now();
                    const std::lock_guard lock(mutex);
                    changes[i].was_applied = true;
                    changes[i].applied = now;
                }
            }
            std::this_thread::sleep_for(std::chrono::milliseconds{5});
        }
    });

    const auto start = Steady::now();
    const auto interval =
        std::chrono::duration_cast<Steady::duration>(std::chrono::duration<double>(1.0 / offered));
    int change_errors = 0;
    for (int i = 0; i < events; ++i) {
        std::this_thread::sleep_until(start + interval * i);
        Change& change = changes[static_cast<std::size_t>(i)];
        {
            const std::lock_guard lock(mutex);
            change.changed = Steady::now();
        }
        if (!portal.UpdateDeal(change.deal, {{"TITLE", change.title}}, 7)) {
            ++change_errors;
        }
    }
    const auto fed_at = Steady::now();
    const auto settle_by = fed_at + std::chrono::seconds{30};
    for (;;) {
        {
            const std::lock_guard lock(mutex);
            if (std::all_of(changes.begin(), changes.end(),
                            [](const Change& c) { return c.was_applied; })) {
                break;
            }
        }
        if (Steady::now() >= settle_by) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds{20});
    }
    const auto end = Steady::now();
    watching = false;
    watcher.join();
    const double load_end = LoadAverage();
    const fg::adapters::bitrix24::sim::SimStats after = portal.Stats();

    std::vector<double> latency, end_to_end;
    int accepted = 0, applied = 0;
    {
        const std::lock_guard lock(mutex);
        for (const Change& change : changes) {
            accepted += change.was_accepted ? 1 : 0;
            if (change.was_accepted && change.was_applied) {
                ++applied;
                latency.push_back(Seconds(change.applied - change.accepted));
                end_to_end.push_back(Seconds(change.applied - change.changed));
            }
        }
    }
    const auto calls = [&](const std::string& method) {
        const auto a = after.calls.find(method);
        const auto b = before.calls.find(method);
        return (a == after.calls.end() ? 0 : a->second) - (b == before.calls.end() ? 0 : b->second);
    };
    const std::uint64_t requests = after.requests - before.requests;
    const std::uint64_t limit_errors = after.limit_errors - before.limit_errors;
    const double wall = Seconds(end - start);
    const int lost = events - applied;

    fmt::print(
        "offered {} changes at {:.2f}/s over {:.1f} s (fed in {:.1f} s); load average "
        "{:.2f} -> {:.2f}\n",
        events, offered, seconds, Seconds(fed_at - start), load_start, load_end);
    fmt::print(
        "accepted {} (rejected {}, other posts {}), applied {}, lost {} (offered = applied "
        "+ lost: {}); change errors {}; portal events delivered {}, failed {}, dropped {}\n",
        accepted, rejected, other_posts, applied, lost, events == applied + lost ? "yes" : "NO",
        change_errors, after.events.delivered - before.events.delivered,
        after.events.failed - before.events.failed, after.events.dropped - before.events.dropped);
    fmt::print(
        "portal requests {} in {:.1f} s ({:.2f}/s): batch {}, crm.deal.get {} (sub-calls "
        "too), {:.2f} events per request; limit errors (503) {}, 429s {}\n",
        requests, wall, static_cast<double>(requests) / wall, calls("batch"), calls("crm.deal.get"),
        requests > 0 ? static_cast<double>(applied) / static_cast<double>(requests) : 0.0,
        limit_errors, after.operation_limit_errors - before.operation_limit_errors);
    fmt::print("accepted -> applied: p50 {:.3f} s, p90 {:.3f} s, p99 {:.3f} s, max {:.3f} s\n",
               Percentile(latency, 0.5), Percentile(latency, 0.9), Percentile(latency, 0.99),
               latency.empty() ? 0.0 : *std::max_element(latency.begin(), latency.end()));
    fmt::print("changed in the portal -> applied: p50 {:.3f} s, p99 {:.3f} s, max {:.3f} s\n",
               Percentile(end_to_end, 0.5), Percentile(end_to_end, 0.99),
               end_to_end.empty() ? 0.0 : *std::max_element(end_to_end.begin(), end_to_end.end()));
    const bool met = lost == 0 && limit_errors == 0 && Percentile(latency, 0.99) < 2.0;
    fmt::print("goal (p99 < 2 s, nothing lost, no limit error): {}\n", met ? "met" : "MISSED");

    server.Stop();
    engine.Stop();
    relay.stop();
    relay_thread.join();
    portal.Stop();
    std::filesystem::remove_all(dir);
    return met ? 0 : 1;
}
