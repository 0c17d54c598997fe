#include "src/demo/demo.hpp"

#include <deque>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "src/common/log.hpp"
#include "src/rules/catalog.hpp"

namespace fg::demo {

extern const std::string_view kDayJson;
extern const std::string_view kDemoToml;

namespace {

constexpr std::string_view kTenant = "demo";

std::string Clock5(Timestamp t, const std::string& time_zone) {
    return FormatIso8601(t, time_zone).substr(11, 5);
}

// The demo's CRM: it "performs" each action and, like a real CRM, sends the change back as an
// event, which funnelguard must recognise as its own.
class SimulatedCrm final : public outbox::ActionSink {
public:
    explicit SimulatedCrm(std::function<void(const nlohmann::json&)> echo)
        : echo_(std::move(echo)) {}
    outbox::DeliveryResult Deliver(const outbox::Action& action) override {
        echo_(nlohmann::json::parse(action.payload));
        return {.status = outbox::DeliveryStatus::kDelivered, .retry_after = {}, .error = {}};
    }

private:
    std::function<void(const nlohmann::json&)> echo_;
};

struct Tally {
    std::map<std::string, int> opened_by_rule;
    std::map<std::string, std::map<std::string, int>> opened_by_manager;  // manager -> rule -> n
    std::map<std::string, int> resolutions;
    std::map<std::string, int> actions;
};

}  // namespace

int RunDemo(const DemoSettings& settings, engine::Decoders decoders) {
    SetupLogging("off");
    const nlohmann::json day = nlohmann::json::parse(kDayJson);
    std::filesystem::path dir;
    std::string db_path = settings.db;
    if (db_path.empty()) {
        std::string pattern = (std::filesystem::temp_directory_path() / "funnelguard-demo-XXXXXX");
        if (mkdtemp(pattern.data()) == nullptr) {
            std::cerr << "demo: cannot create a temporary directory\n";
            return 1;
        }
        dir = pattern;
        db_path = (dir / "demo.db").string();
    }
    config::LoadResult loaded = config::LoadConfigFromString(std::string(kDemoToml), "demo.toml");
    if (!loaded.ok()) {
        for (const auto& problem : loaded.problems) {
            std::cerr << config::FormatProblem(problem) << "\n";
        }
        return 1;
    }
    config::AppConfig config = std::move(loaded.config);
    config.storage.path = db_path;
    const config::TenantConfig& tenant = *config.FindTenant(std::string(kTenant));
    const std::string& tz = tenant.timezone;

    const Timestamp start = *ParseIso8601(day.at("start").get<std::string>());
    const Timestamp end = *ParseIso8601(day.at("end").get<std::string>());
    std::vector<nlohmann::json> events = day.at("events").get<std::vector<nlohmann::json>>();
    FastClock clock(start, settings.speed);

    std::mutex mutex;  // guards the tally, the echo queue and stdout
    Tally tally;
    std::deque<nlohmann::json> echoes;
    std::map<std::string, nlohmann::json> cards;  // the CRM's current card of each deal
    int echo_seq = 0;

    engine::EngineOptions options;
    options.config = &config;
    options.clock = &clock;
    options.decoders = std::move(decoders);
    options.make_sink = [&](const config::TenantConfig&) {
        return std::make_unique<SimulatedCrm>([&](const nlohmann::json& action) {
            std::lock_guard lock(mutex);
            echoes.push_back(action);
        });
    };
    options.observer.on_violation = [&](const std::string&, const engine::ViolationChange& c) {
        std::lock_guard lock(mutex);
        const storage::Violation& v = c.violation;
        const std::string at = Clock5(clock.Now(), tz);
        if (c.opened) {
            ++tally.opened_by_rule[v.rule];
            ++tally.opened_by_manager[v.responsible][v.rule];
            std::cout << fmt::format("{}  ! {:<17} {:<10} {}\n", at, v.rule, v.responsible,
                                     v.message);
        } else {
            ++tally.resolutions[v.resolution];
            std::cout << fmt::format("{}  ✓ {:<17} {:<10} «{}» — {}\n", at, v.rule, v.responsible,
                                     v.deal_title, v.resolution);
        }
    };
    options.observer.on_delivery = [&](const outbox::Action& action,
                                       const outbox::DeliveryResult&) {
        std::lock_guard lock(mutex);
        ++tally.actions[action.kind];
        const auto payload = nlohmann::json::parse(action.payload);
        const std::string at = Clock5(clock.Now(), tz);
        const std::string deal = payload.value("deal_title", payload.value("deal", ""));
        if (action.kind == "revert") {
            std::cout << fmt::format("{}    ↩ revert   «{}»: {} → {}\n", at, deal,
                                     payload["revert"].value("from", ""),
                                     payload["revert"].value("to", ""));
        } else if (action.kind == "task") {
            std::cout << fmt::format("{}    + task     for {}: {}\n", at,
                                     payload.value("responsible", ""),
                                     payload["task"].value("text", ""));
        } else if (action.kind == "note") {
            std::cout << fmt::format("{}    ✎ note     in «{}»\n", at, deal);
        } else if (action.kind == "notify") {
            std::cout << fmt::format("{}    ✉ message  to {}\n", at, payload.value("to", ""));
        } else if (action.kind == "escalate") {
            std::cout << fmt::format("{}    ⇧ escalate to the head of sales: {}\n", at,
                                     payload.value("text", ""));
        }
    };

    engine::Engine engine(std::move(options));
    if (auto started = engine.Start(); !started) {
        std::cerr << "demo: " << started.error().message << "\n";
        return 1;
    }
    std::cout << fmt::format(
        "funnelguard demo: {} events of one working day of the «{}» sales team, {}–{} ({}), "
        "replayed {:.0f}x faster\n\n",
        events.size(), kTenant, Clock5(start, tz), Clock5(end, tz), tz, settings.speed);

    auto post = [&](nlohmann::json event) {
        const std::string body = nlohmann::json{{"events", {std::move(event)}}}.dump();
        auto stored = engine.Intake(std::string(kTenant), "generic", body);
        if (auto result = stored.get(); !result) {
            std::cerr << "demo: " << result.error().message << "\n";
        }
    };
    // Turns a performed action into the event the CRM would send back.
    auto echo_event = [&](const nlohmann::json& action) -> std::optional<nlohmann::json> {
        const std::string kind = action.value("kind", "");
        const std::string deal = action.value("deal", "");
        const std::string now = FormatIso8601(clock.Now(), tz);
        const std::string id = fmt::format("echo-{}", ++echo_seq);
        if (kind == "revert" && cards.count(deal)) {
            nlohmann::json card = cards[deal];
            card["stage"] = action["revert"].value("to", "");
            cards[deal] = card;
            return nlohmann::json{
                {"id", id}, {"type", "deal.upserted"}, {"at", now}, {"deal", card}};
        }
        if (kind == "task") {
            return nlohmann::json{{"id", id},
                                  {"type", "task.upserted"},
                                  {"at", now},
                                  {"task",
                                   {{"id", fmt::format("fg-task-{}", echo_seq)},
                                    {"deal", deal},
                                    {"due", action["task"].value("due", "")},
                                    {"done", false},
                                    {"responsible", action["task"].value("responsible", "")},
                                    {"text", action["task"].value("text", "")}}}};
        }
        if (kind == "note") {
            return nlohmann::json{{"id", id},
                                  {"type", "note.added"},
                                  {"at", now},
                                  {"note",
                                   {{"id", fmt::format("fg-note-{}", echo_seq)},
                                    {"deal", deal},
                                    {"text", action.value("text", "")}}}};
        }
        return std::nullopt;
    };
    auto flush_echoes = [&] {
        std::deque<nlohmann::json> ready;
        {
            std::lock_guard lock(mutex);
            ready.swap(echoes);
        }
        for (const auto& action : ready) {
            if (auto event = echo_event(action)) {
                post(std::move(*event));
            }
        }
    };
    auto wait_until = [&](Timestamp at) {
        while (clock.Now() < at) {
            flush_echoes();
            std::this_thread::sleep_for(std::chrono::milliseconds{20});
        }
    };

    // What happened before the day is loaded as one webhook body, so no deal is judged while only
    // half of its history is in.
    nlohmann::json before_day = nlohmann::json::array();
    std::size_t first_of_day = 0;
    while (first_of_day < events.size() &&
           *ParseIso8601(events[first_of_day].at("at").get<std::string>()) < start) {
        before_day.push_back(events[first_of_day]);
        ++first_of_day;
    }
    if (!before_day.empty()) {
        for (const nlohmann::json& event : before_day) {
            if (event.value("type", "") == "deal.upserted") {
                cards[event["deal"].value("id", "")] = event["deal"];
            }
        }
        std::cout << fmt::format(
                         "Loading {} events from the weeks before: {} deals already in "
                         "the funnel\n\n",
                         before_day.size(), cards.size())
                  << std::flush;
        auto stored = engine.Intake(std::string(kTenant), "generic",
                                    nlohmann::json{{"events", before_day}}.dump());
        if (auto result = stored.get(); !result) {
            std::cerr << "demo: " << result.error().message << "\n";
            return 1;
        }
        (void)engine.Drain();
        std::cout << "\nThe day begins\n\n";
    }
    for (std::size_t i = first_of_day; i < events.size(); ++i) {
        nlohmann::json& event = events[i];
        const Timestamp at = *ParseIso8601(event.at("at").get<std::string>());
        wait_until(at);
        if (event.value("type", "") == "deal.upserted") {
            const std::string deal = event["deal"].value("id", "");
            // An older card arriving late must not become the CRM's current one.
            if (!cards.count(deal) || cards[deal].value("_at", "") <= event.value("at", "")) {
                cards[deal] = event["deal"];
                cards[deal]["_at"] = event.value("at", "");
            }
        }
        nlohmann::json sent = event;
        if (sent.contains("deal")) {
            sent["deal"].erase("_at");
        }
        post(std::move(sent));
    }
    wait_until(end);
    flush_echoes();
    (void)engine.Drain();
    engine.Stop();

    // The summary, from the history funnelguard kept.
    auto db = storage::OpenDatabase(db_path, /*read_only=*/true);
    storage::ViolationFilter open_filter;
    open_filter.tenant = std::string(kTenant);
    open_filter.limit = 100000;
    const std::size_t still_open = db ? storage::ListViolations(**db, open_filter).size() : 0;
    std::lock_guard lock(mutex);
    std::cout << "\nSummary of the day\n\nby rule:\n";
    int total = 0;
    for (const rules::RuleSpec* spec : rules::AllRules()) {
        const int n = tally.opened_by_rule[std::string(spec->id)];
        total += n;
        std::cout << fmt::format("  {:<18} {:>3}\n", spec->id, n);
    }
    std::cout << fmt::format("  {:<18} {:>3}  ({} still open at {})\n", "total", total, still_open,
                             Clock5(end, tz));
    std::cout << "\nby manager:\n";
    std::cout << fmt::format("  {:<12}", "");
    for (const rules::RuleSpec* spec : rules::AllRules()) {
        std::cout << fmt::format(" {:>17}", spec->id);
    }
    std::cout << "\n";
    for (const auto& [manager, by_rule] : tally.opened_by_manager) {
        std::cout << fmt::format("  {:<12}", manager);
        for (const rules::RuleSpec* spec : rules::AllRules()) {
            const auto found = by_rule.find(std::string(spec->id));
            std::cout << fmt::format(" {:>17}", found == by_rule.end() ? 0 : found->second);
        }
        std::cout << "\n";
    }
    std::cout << "\nresolved:";
    for (const auto& [resolution, n] : tally.resolutions) {
        std::cout << fmt::format(" {} {};", resolution, n);
    }
    std::cout << "\nactions performed:";
    for (const auto& [kind, n] : tally.actions) {
        std::cout << fmt::format(" {} {};", kind, n);
    }
    std::cout << "\n";
    if (!dir.empty()) {
        std::error_code ignored;
        std::filesystem::remove_all(dir, ignored);
    } else {
        std::cout << "\nThe database is kept at " << db_path << "\n";
    }
    return 0;
}

}  // namespace fg::demo
