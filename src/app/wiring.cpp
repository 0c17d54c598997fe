#include "src/app/wiring.hpp"

#include <iostream>

#include "adapters/generic/action_sender.hpp"
#include "adapters/generic/decoder.hpp"

namespace fg::app {

engine::Decoders AllDecoders() {
    engine::Decoders decoders;
    auto generic = std::make_unique<adapters::generic::GenericDecoder>();
    decoders.emplace(std::string(generic->Name()), std::move(generic));
    return decoders;
}

std::unique_ptr<outbox::ActionSink> MakeSink(const config::TenantConfig& tenant) {
    if (tenant.generic.actions_url.empty()) {
        return nullptr;
    }
    return std::make_unique<adapters::generic::ActionSender>(tenant.generic.actions_url);
}

std::optional<config::AppConfig> LoadOrReport(const std::string& path) {
    config::LoadResult loaded = config::LoadConfig(path);
    if (!loaded.ok()) {
        for (const config::ConfigProblem& problem : loaded.problems) {
            std::cerr << config::FormatProblem(problem) << "\n";
        }
        std::cerr << loaded.problems.size() << " problem(s) in the config\n";
        return std::nullopt;
    }
    return std::move(loaded.config);
}

}  // namespace fg::app
