#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "src/app/commands.hpp"
#include "src/app/wiring.hpp"
#include "src/common/log.hpp"

namespace fg::app {
namespace {

// Webhook bodies queued before the inbox is processed: bounds memory (two steps of bodies and
// their decoded events at most) and the progress step.
constexpr std::size_t kFilesPerStep = 32;

}  // namespace

int RunReplay(const ReplayOptions& options) {
    auto config = LoadOrReport(options.config);
    if (!config) {
        return 2;
    }
    SetupLogging("warn");
    const config::TenantConfig* tenant = config->FindTenant(options.tenant);
    if (tenant == nullptr) {
        std::cerr << "replay: unknown tenant \"" << options.tenant << "\"\n";
        return 2;
    }
    const std::string crm = options.crm.empty() ? tenant->crm : options.crm;
    int opened = 0;
    int resolved = 0;
    SystemClock clock;
    Adapters adapters(*config, clock);
    engine::EngineOptions engine_options = adapters.EngineOptionsFor(clock);
    if (engine_options.decoders.find(crm) == engine_options.decoders.end()) {
        std::cerr << "replay: no adapter for --crm \"" << crm << "\" in this build\n";
        return 2;
    }
    engine_options.timers = false;
    engine_options.deliver = false;  // `serve` delivers what replay planned
    engine_options.observer.on_violation = [&](const std::string&,
                                               const engine::ViolationChange& change) {
        (change.opened ? opened : resolved) += 1;
    };
    engine::Engine engine(std::move(engine_options));
    if (auto started = engine.Start(); !started) {
        std::cerr << "replay: " << started.error().message << "\n";
        return 1;
    }
    // CRM bodies carry ids; their names come from the account's pipelines and fields.
    if (engine.ConnectorOf(tenant->id) != nullptr) {
        if (auto refreshed = engine.RefreshDirectory(tenant->id); !refreshed) {
            std::cerr << "replay: cannot read the pipelines of tenant " << tenant->id << ": "
                      << refreshed.error().message << "\n";
            return 1;
        }
    }
    const auto begin = std::chrono::steady_clock::now();
    int stored = 0;
    int duplicates = 0;
    int refused = 0;
    std::vector<std::future<Result<bool>>> pending;
    auto settle = [&]() -> bool {
        for (auto& future : pending) {
            const Result<bool> result = future.get();
            if (!result) {
                std::cerr << "replay: could not store a body: " << result.error().message << "\n";
                return false;
            }
            (*result ? stored : duplicates) += 1;
        }
        pending.clear();
        // Applied events are counted by the engine's metrics: the inbox worker may have applied
        // some before Drain runs.
        if (auto drained = engine.Drain(); !drained) {
            std::cerr << "replay: " << drained.error().message << "\n";
            return false;
        }
        return true;
    };
    // Bodies are read and decoded one step ahead: while this thread decodes step k+1, the writer
    // applies step k (its processing starts as soon as its inbox commit is done).
    struct Loaded {
        std::string body;
        Timestamp received_at;
        std::optional<crm::Decoded> decoded;
    };
    std::vector<Loaded> step;
    for (std::size_t i = 0; i < options.files.size(); ++i) {
        const std::string& path = options.files[i];
        std::ifstream in(path, std::ios::binary);
        if (in) {
            std::stringstream buffer;
            buffer << in.rdbuf();
            // A recorded body's elements without a time of their own get the time of replay.
            crm::WebhookRequest webhook{.tenant = tenant->id,
                                        .content_type = {},
                                        .body = buffer.str(),
                                        .received_at = engine.clock().Now()};
            auto decoded = engine.Decoder(crm).ValidateAndDecode(webhook);
            if (decoded) {
                step.push_back(Loaded{std::move(webhook.body), webhook.received_at,
                                      std::move(decoded).value()});
            } else {
                std::cerr << "replay: " << path << ": " << decoded.error().message << "\n";
                ++refused;
            }
        } else {
            std::cerr << "replay: cannot read " << path << "\n";
            ++refused;
        }
        if (step.size() >= kFilesPerStep || i + 1 == options.files.size()) {
            if (!settle()) {  // the previous step: stored, then applied
                return 1;
            }
            for (Loaded& loaded : step) {
                pending.push_back(engine.Intake(tenant->id, crm, std::move(loaded.body),
                                                loaded.received_at, std::move(loaded.decoded)));
            }
            step.clear();
            const double seconds =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
            const auto applied = engine.metrics().EventsApplied();
            std::cerr << fmt::format("\rreplay: {}/{} files, {} events, {:.0f} events/s", i + 1,
                                     options.files.size(), applied,
                                     seconds > 0 ? applied / seconds : 0.0)
                      << std::flush;
        }
    }
    if (!settle()) {
        return 1;
    }
    // Bodies that need the CRM's API (events that carry only ids) go through the fetch stage,
    // once the rest is in: it batches the references of all of them. What the CRM puts off
    // waits for `serve`.
    for (;;) {
        const Result<int> fetched = engine.Fetch();
        if (!fetched) {
            std::cerr << "replay: " << fetched.error().message << "\n";
            return 1;
        }
        if (*fetched == 0) {
            break;
        }
        if (!settle()) {
            return 1;
        }
    }
    engine.Stop();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    std::cerr << "\n";
    std::cout << fmt::format(
        "replayed {} file(s): {} stored, {} duplicate(s), {} refused; {} event(s) applied in "
        "{:.2f} s ({:.0f} events/s); violations opened {}, resolved {}\n",
        options.files.size(), stored, duplicates, refused, engine.metrics().EventsApplied(),
        seconds, seconds > 0 ? engine.metrics().EventsApplied() / seconds : 0.0, opened, resolved);
    return refused > 0 ? 1 : 0;
}

}  // namespace fg::app
