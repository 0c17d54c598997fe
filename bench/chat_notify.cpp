// bench_chat_notify (issue 10, Benchmarks): chat notifications through the whole path against
// Telegram's flood limits, on the real clock.
//
//   bench_chat_notify [MESSAGES] [LOAD] [LATENCY_LOAD]      defaults 1000 1.0 0.9
//
// Each run: a fresh database, a fake Telegram Bot API (adapters/telegram/fake) on 127.0.0.1 with
// its limits enforced, and funnelguard's engine wired as the program wires it (app::Adapters:
// the Telegram notifier, the chat sink, the outbox worker) for one generic tenant: 48 managers
// in 2 teams, each team with a head and a group chat, i.e. 50 private chats and 2 groups. A
// feeder thread posts webhooks into Engine::Intake at a steady pace; the engine opens the
// violations (background inbox processing), plans their actions, and the outbox worker sends
// them. Of the MESSAGES messages, MESSAGES/50 escalations go to a head and the head's group each
// (deal_without_task, escalate_after 1 s, the sweep run every 0.5 s), the rest are `notify`
// messages to the managers, round-robin (stage_order). A watcher thread stamps each message the
// fake accepts (its condition variable, not a poll).
//
// Run 1 offers the messages at LOAD times the ceiling's rate and reports the fraction of the
// ceiling reached; run 2 offers them at LATENCY_LOAD times that rate and reports the latency from
// a violation's webhook entering Intake to its message being accepted by the fake.
//
// The ceiling for the spread the fake saw, from Telegram's limits (reference/chat.md §1.12):
//   T_ceiling = max(M / 30, max over private chats of n_c / 1, max over groups of n_g / (20/60))
// seconds for M messages, n_c of them to private chat c and n_g to group g (steady rates; the
// bursts a chat or group may take at first only shorten the chat and group terms).
// fraction = T_ceiling / T, T = first webhook → last message accepted. A message that carries
// two violations (a digest, when a person's violations come due together) counts once: the
// limits are on messages.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "adapters/telegram/fake/fake_bot_api.hpp"
#include "src/app/adapters.hpp"
#include "src/app/wiring.hpp"
#include "src/common/clock.hpp"
#include "src/common/log.hpp"
#include "src/config/config.hpp"
#include "src/engine/engine.hpp"
#include "src/storage/store.hpp"

namespace {

using Steady = std::chrono::steady_clock;
using nlohmann::json;
namespace fake = fg::adapters::telegram::fake;

constexpr int kManagers = 48;
constexpr int kTeams = 2;
constexpr std::int64_t kManagerChat = 1000;  // + manager index
constexpr std::int64_t kHeadChat = 2000;     // + team
constexpr std::int64_t kGroupChat = -3000;   // - team
constexpr double kBotPerSecond = 30;
constexpr double kChatPerSecond = 1;
constexpr double kGroupPerSecond = 20.0 / 60.0;

double Seconds(Steady::duration d) { return std::chrono::duration<double>(d).count(); }

double LoadAverage() {
    double load[1] = {0};
    return getloadavg(load, 1) == 1 ? load[0] : -1;
}

std::string Config(const std::string& db_path, const fake::FakeBotApi& telegram) {
    std::string people;
    for (int team = 0; team < kTeams; ++team) {
        people += fmt::format(R"(
  [[tenant.person]]
  crm_user = "head{0}"
  name = "Руководитель {0}"
  role = "head"
  team = "t{0}"
  telegram = "{1}"
  [[tenant.team]]
  id = "t{0}"
  head = "head{0}"
  chat = "{2}"
)",
                              team, kHeadChat + team, kGroupChat - team);
    }
    for (int m = 0; m < kManagers; ++m) {
        people += fmt::format(R"(
  [[tenant.person]]
  crm_user = "m{0}"
  name = "Менеджер {0}"
  team = "t{1}"
  telegram = "{2}"
)",
                              m, m % kTeams, kManagerChat + m);
    }
    return fmt::format(R"(
[storage]
path = "{}"
[log]
level = "warn"
[[tenant]]
id = "bench"
crm = "generic"
secret = "bench-hook-secret"
timezone = "UTC"
  [[tenant.pipeline]]
  id = "main"
  stages = ["Новая", "Квалификация", "КП отправлено", "Успешно"]
  won = ["Успешно"]
  [tenant.generic]
  deal_url = "https://crm.example.com/deals/{{deal}}"
  [tenant.rules.stage_order]
  actions = ["notify"]
  [tenant.rules.deal_without_task]
  grace = "1m"
  actions = ["escalate"]
  escalate_after = "1s"
  [tenant.rules.actual_stage]
  enabled = false
  [tenant.rules.card_filled]
  enabled = false
  [tenant.rules.overdue_task]
  enabled = false
  [tenant.chat]
  telegram_bot_token = "{}"
  telegram_api_url = "{}"
  digest = "0s"
  cooldown = "0s"
  working_hours = "00:00-24:00"
  working_days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
  morning_summary = ""
{})",
                       db_path, telegram.options().token, telegram.Url(), people);
}

std::string At(fg::Timestamp t) { return fg::FormatIso8601(t); }

// Violation #index's webhook: a deal that skips a stage (stage_order → notify to its manager,
// with an open task so that deal_without_task stays quiet), or a deal without a task for an hour
// (deal_without_task → escalate to the head and the group a second later).
json Webhook(int index, bool escalation, const std::string& responsible, fg::Timestamp now) {
    const std::string deal = fmt::format("d{}", index);
    const std::string title = fmt::format("Сделка №{} «Ромашка» <R&D>", index);
    json events = json::array();
    if (escalation) {
        events.push_back({{"id", deal + "-a"},
                          {"type", "deal.upserted"},
                          {"at", At(now - std::chrono::hours{1})},
                          {"deal",
                           {{"id", deal},
                            {"title", title},
                            {"pipeline", "main"},
                            {"stage", "Новая"},
                            {"responsible", responsible}}}});
    } else {
        for (const auto& [suffix, stage, ago] :
             {std::tuple{"-a", "Новая", 2}, std::tuple{"-b", "КП отправлено", 1}}) {
            events.push_back({{"id", deal + suffix},
                              {"type", "deal.upserted"},
                              {"at", At(now - std::chrono::minutes{ago})},
                              {"deal",
                               {{"id", deal},
                                {"title", title},
                                {"pipeline", "main"},
                                {"stage", stage},
                                {"responsible", responsible}}}});
        }
        events.push_back({{"id", deal + "-t"},
                          {"type", "task.upserted"},
                          {"at", At(now - std::chrono::minutes{1})},
                          {"task",
                           {{"id", deal + "-task"},
                            {"deal", deal},
                            {"due", At(now + std::chrono::hours{24})},
                            {"done", false},
                            {"responsible", responsible},
                            {"text", "Позвонить клиенту"}}}});
    }
    return json{{"events", std::move(events)}};
}

struct Accepted {
    std::int64_t chat = 0;
    Steady::time_point at{};
    std::vector<int> violations{};  // the "№N" the message names
};

// Stamps each message the fake accepts as it is accepted.
class Watcher {
public:
    explicit Watcher(const fake::FakeBotApi& telegram)
        : telegram_(telegram), thread_([this] { Loop(); }) {}
    ~Watcher() { Stop(); }
    void Stop() {
        stop_ = true;
        if (thread_.joinable()) {
            thread_.join();
        }
    }
    std::vector<Accepted> Messages() const {
        std::lock_guard lock(mutex_);
        return accepted_;
    }

private:
    void Loop() {
        static const std::regex kNumber("№([0-9]+)");
        std::size_t seen = 0;
        while (!stop_) {
            telegram_.WaitForMessages(seen + 1, std::chrono::milliseconds{50});
            const auto now = Steady::now();
            const auto messages = telegram_.Messages();
            std::lock_guard lock(mutex_);
            for (; seen < messages.size(); ++seen) {
                Accepted accepted{.chat = messages[seen].chat_id, .at = now, .violations = {}};
                const std::string& text = messages[seen].plain;
                for (auto it = std::sregex_iterator(text.begin(), text.end(), kNumber);
                     it != std::sregex_iterator(); ++it) {
                    const int number = std::stoi((*it)[1].str());
                    // A title may show twice in a message (its line and its link).
                    if (std::find(accepted.violations.begin(), accepted.violations.end(), number) ==
                        accepted.violations.end()) {
                        accepted.violations.push_back(number);
                    }
                }
                accepted_.push_back(std::move(accepted));
            }
        }
    }

    const fake::FakeBotApi& telegram_;
    mutable std::mutex mutex_;
    std::vector<Accepted> accepted_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

double Percentile(std::vector<double> values, double p) {
    if (values.empty()) {
        return 0;
    }
    std::sort(values.begin(), values.end());
    const auto rank = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
    return values[std::min(rank, values.size() - 1)];
}

struct Outcome {
    bool ok = false;
    double fraction = 0;
    double p50 = 0, p99 = 0;
};

// One run: `messages` messages offered at `load` times the ceiling's rate.
Outcome Run(const char* name, int messages, double load) {
    const int escalations = messages / 50;
    const int notifications = messages - 2 * escalations;
    const int violations = notifications + escalations;
    // The spread of the offered messages: managers round-robin, escalations alternate teams.
    const double offered_ceiling =
        std::max({messages / kBotPerSecond,
                  std::ceil(static_cast<double>(notifications) / kManagers) / kChatPerSecond,
                  std::ceil(static_cast<double>(escalations) / kTeams) / kGroupPerSecond});
    const double rate = load * messages / offered_ceiling;  // messages per second
    // One slot per violation; an escalation's slot brings two messages.
    const auto interval = std::chrono::duration_cast<Steady::duration>(
        std::chrono::duration<double>(offered_ceiling / load / violations));

    fg::SystemClock clock;
    fake::FakeBotOptions fake_options;
    fake_options.enforce_limits = true;
    fake::FakeBotApi telegram(fake_options);
    if (!telegram.Start()) {
        std::fprintf(stderr, "%s: the fake Bot API cannot listen\n", name);
        return {};
    }
    for (int m = 0; m < kManagers; ++m) {
        telegram.AddPrivateChat(kManagerChat + m, fmt::format("Менеджер {}", m));
    }
    for (int team = 0; team < kTeams; ++team) {
        telegram.AddPrivateChat(kHeadChat + team, fmt::format("Руководитель {}", team));
        telegram.AddGroup(kGroupChat - team, fmt::format("Отдел {}", team));
    }

    std::string dir_template =
        (std::filesystem::temp_directory_path() / "fg-chatbench-XXXXXX").string();
    if (mkdtemp(dir_template.data()) == nullptr) {
        std::perror("mkdtemp");
        return {};
    }
    const std::filesystem::path dir = dir_template;
    auto loaded =
        fg::config::LoadConfigFromString(Config((dir / "fg.db").string(), telegram), "bench.toml",
                                         fg::app::ConfigSchemas(), dir.string());
    if (!loaded.ok()) {
        for (const auto& problem : loaded.problems) {
            std::fprintf(stderr, "%s\n", fg::config::FormatProblem(problem).c_str());
        }
        return {};
    }
    const fg::config::AppConfig config = std::move(loaded.config);
    fg::app::Adapters adapters(config, clock);
    fg::engine::EngineOptions options = adapters.EngineOptionsFor(clock);
    options.timers = false;  // the sweep runs below, every 0.5 s instead of every minute
    options.deliver = true;
    options.background = true;
    fg::engine::Engine engine(std::move(options));
    if (auto started = engine.Start(); !started) {
        std::fprintf(stderr, "%s: engine: %s\n", name, started.error().message.c_str());
        return {};
    }
    if (!telegram.WaitForCalls("getme", 1, std::chrono::seconds{10})) {
        std::fprintf(stderr, "%s: the bot was never checked\n", name);
    }

    const double load_start = LoadAverage();
    std::fprintf(stderr,
                 "%s: %d messages (%d notify, %d escalations x 2) at %.1f/s (%.2f of the "
                 "ceiling's rate); load average %.2f\n",
                 name, messages, notifications, escalations, rate, load, load_start);
    Watcher watcher(telegram);
    std::vector<Steady::time_point> opened(static_cast<std::size_t>(violations));
    std::vector<bool> is_escalation(static_cast<std::size_t>(violations), false);
    std::atomic<bool> fed{false};
    int intake_errors = 0;
    std::thread sweeper([&] {
        while (!fed) {
            std::this_thread::sleep_for(std::chrono::milliseconds{500});
            (void)engine.Sweep();
        }
    });
    const auto start = Steady::now();
    int escalation_count = 0, notify_count = 0;
    for (int i = 0; i < violations; ++i) {
        // Escalations spread evenly among the violations (the middle of each stretch, so that
        // the last one is not the last webhook: it goes out escalate_after later), the teams
        // taking turns.
        const int stretch = escalations > 0 ? violations / escalations : violations + 1;
        const bool escalation = escalation_count < escalations && i % stretch == stretch / 2;
        std::string responsible;
        if (escalation) {
            responsible = fmt::format("m{}", (escalation_count++ % kTeams));
        } else {
            responsible = fmt::format("m{}", notify_count++ % kManagers);
        }
        is_escalation[static_cast<std::size_t>(i)] = escalation;
        std::this_thread::sleep_until(start + interval * i);
        const fg::Timestamp now = clock.Now();
        opened[static_cast<std::size_t>(i)] = Steady::now();
        auto stored =
            engine.Intake("bench", "generic", Webhook(i, escalation, responsible, now).dump(), now)
                .get();
        if (!stored || !*stored) {
            ++intake_errors;
        }
    }
    const auto fed_at = Steady::now();

    // Until every message is out (or a minute after the last webhook).
    auto reader = engine.OpenReader();
    fg::storage::OutboxStats stats{};
    const auto deadline = fed_at + std::chrono::seconds{60};
    while (Steady::now() < deadline) {
        const auto got = watcher.Messages().size();
        stats = fg::storage::GetOutboxStats(**reader);
        if (got >= static_cast<std::size_t>(messages) && stats.pending == 0) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds{20});
    }
    fed = true;
    sweeper.join();
    stats = fg::storage::GetOutboxStats(**reader);
    engine.Stop();
    watcher.Stop();
    const auto accepted = watcher.Messages();
    const double load_end = LoadAverage();

    // ------------------------------------------------------------------ figures
    std::map<std::int64_t, int> per_chat;
    std::map<std::int64_t, int> per_second;  // the fake's seconds: what its limit counts
    for (const auto& message : telegram.Messages()) {
        ++per_chat[message.chat_id];
        ++per_second[message.date];
    }
    int max_private = 0, max_group = 0, max_per_second = 0;
    for (const auto& [chat, count] : per_chat) {
        (chat < 0 ? max_group : max_private) = std::max(chat < 0 ? max_group : max_private, count);
    }
    for (const auto& [second, count] : per_second) {
        max_per_second = std::max(max_per_second, count);
    }
    const auto m = static_cast<double>(accepted.size());
    const double ceiling =
        std::max({m / kBotPerSecond, max_private / kChatPerSecond, max_group / kGroupPerSecond});
    const double wall = accepted.empty() ? 0 : Seconds(accepted.back().at - start);
    const double fraction = wall > 0 ? ceiling / wall : 0;

    std::vector<double> latencies;
    std::vector<bool> delivered(static_cast<std::size_t>(violations), false);
    int carried = 0, digests = 0;
    for (const Accepted& message : accepted) {
        if (message.violations.size() > 1) {
            ++digests;
        }
        for (const int v : message.violations) {
            if (v < 0 || v >= violations) {
                continue;
            }
            ++carried;
            const auto index = static_cast<std::size_t>(v);
            if (!is_escalation[index] && !delivered[index]) {
                latencies.push_back(Seconds(message.at - opened[index]));
            }
            delivered[index] = true;
        }
    }
    const auto missing = std::count(delivered.begin(), delivered.end(), false);
    const int too_many = telegram.TooManyRequestsTotal();
    fmt::print(
        "== {}: {} violations offered in {:.2f} s ({:.1f} messages/s), load average "
        "{:.2f} -> {:.2f}\n",
        name, violations, Seconds(fed_at - start),
        messages / std::max(1e-9, Seconds(fed_at - start)), load_start, load_end);
    fmt::print(
        "messages accepted: {} (to private chats: max {} per chat; to groups: max {} per "
        "group); digests (2+ violations in one message) {}; violations without a "
        "message {}; 429s {}; busiest second at the fake {} messages; outbox pending {} "
        "dead {}; intake errors {}\n",
        accepted.size(), max_private, max_group, digests, missing, too_many, max_per_second,
        stats.pending, stats.dead, intake_errors);
    fmt::print(
        "ceiling {:.2f} s = max({} / 30, {} / 1, {} / (20/60)); first webhook -> last "
        "message {:.2f} s; fraction {:.3f}\n",
        ceiling, accepted.size(), max_private, max_group, wall, fraction);
    std::string tail;
    for (std::size_t i = accepted.size() > 5 ? accepted.size() - 5 : 0; i < accepted.size(); ++i) {
        tail += fmt::format(" {}@{:.2f}s", accepted[i].chat, Seconds(accepted[i].at - start));
    }
    fmt::print("last messages (chat@time):{}\n", tail);
    const double p50 = Percentile(latencies, 0.50), p90 = Percentile(latencies, 0.90),
                 p99 = Percentile(latencies, 0.99),
                 max =
                     latencies.empty() ? 0 : *std::max_element(latencies.begin(), latencies.end());
    fmt::print(
        "latency webhook -> accepted, {} notify messages: p50 {:.3f} s, p90 {:.3f} s, "
        "p99 {:.3f} s, max {:.3f} s\n",
        latencies.size(), p50, p90, p99, max);
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
    (void)carried;
    return {.ok = too_many == 0 && missing == 0 && stats.pending == 0 && stats.dead == 0 &&
                  intake_errors == 0,
            .fraction = fraction,
            .p50 = p50,
            .p99 = p99};
}

}  // namespace

int main(int argc, char** argv) {
    const int messages = argc > 1 ? std::atoi(argv[1]) : 1000;
    const double load = argc > 2 ? std::atof(argv[2]) : 1.0;
    const double latency_load = argc > 3 ? std::atof(argv[3]) : 0.9;
    if (messages < 100 || load <= 0 || load > 2 || latency_load <= 0 || latency_load > 2) {
        std::fprintf(stderr,
                     "usage: bench_chat_notify [MESSAGES>=100] [LOAD in (0,2]] "
                     "[LATENCY_LOAD in (0,2]]\n");
        return 2;
    }
    fg::SetupLogging("warn");
    const Outcome ceiling = Run("ceiling", messages, load);
    const Outcome latency = Run("latency", messages, latency_load);
    fmt::print(
        "summary: fraction {:.3f} (goal >= 0.9); latency p50 {:.3f} s, p99 {:.3f} s at "
        "{:.2f} of the ceiling's rate (goal p99 < 2 s); {}\n",
        ceiling.fraction, latency.p50, latency.p99, latency_load,
        ceiling.ok && latency.ok ? "no 429, nothing lost" : "SOMETHING WENT WRONG (above)");
    const bool met = ceiling.ok && latency.ok && ceiling.fraction >= 0.9 && latency.p99 < 2;
    return met ? 0 : 1;
}
