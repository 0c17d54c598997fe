#include "src/app/wiring.hpp"

#include <iostream>
#include <stdexcept>

#include "src/app/adapters.hpp"
#include "src/notify/chat_sink.hpp"

namespace fg::app {

Adapters::Adapters(const config::AppConfig& config, const Clock& clock) : config_(config) {
    for (const crm::Adapter* adapter : CrmAdapters()) {
        instances_.emplace(std::string(adapter->Name()), adapter->Bind(config, clock));
    }
}

Adapters::~Adapters() = default;

crm::AdapterInstance* Adapters::InstanceOf(const config::TenantConfig& tenant) const {
    const auto found = instances_.find(tenant.crm);
    return found == instances_.end() ? nullptr : found->second.get();
}

engine::Decoders Adapters::MakeDecoders() {
    engine::Decoders decoders;
    for (const auto& [name, instance] : instances_) {
        decoders.emplace(name, instance->MakeDecoder());
    }
    return decoders;
}

std::unique_ptr<crm::Connector> Adapters::MakeConnector(const config::TenantConfig& tenant) {
    crm::AdapterInstance* instance = InstanceOf(tenant);
    return instance != nullptr ? instance->MakeConnector(tenant) : nullptr;
}

std::unique_ptr<crm::Fetcher> Adapters::MakeFetcher(const config::TenantConfig& tenant) {
    crm::AdapterInstance* instance = InstanceOf(tenant);
    return instance != nullptr ? instance->MakeFetcher(tenant) : nullptr;
}

outbox::PacedSink Adapters::MakeSink(const config::TenantConfig& tenant) {
    crm::AdapterInstance* instance = InstanceOf(tenant);
    return instance != nullptr ? instance->MakeSink(tenant) : nullptr;
}

std::string Adapters::ApiUrl(const config::TenantConfig& tenant) const {
    crm::AdapterInstance* instance = InstanceOf(tenant);
    return instance != nullptr ? instance->ApiUrl(tenant) : std::string{};
}

engine::EngineOptions Adapters::EngineOptionsFor(const Clock& clock) {
    engine::EngineOptions options;
    options.config = &config_;
    options.clock = &clock;
    options.decoders = MakeDecoders();
    options.make_sink = [this](const config::TenantConfig& tenant) { return MakeSink(tenant); };
    options.make_connector = [this](const config::TenantConfig& tenant) {
        return MakeConnector(tenant);
    };
    // Each notifier the tenant uses makes its channel; the engine keeps it (checks it, runs its
    // listener) and the chat core makes the channel's sink.
    options.make_chat_channels = [&clock](const config::TenantConfig& tenant) {
        std::vector<engine::ChatChannel> channels;
        for (const notify::Notifier* notifier : Notifiers()) {
            if (tenant.chat_channels.count(std::string(notifier->Name())) == 0) {
                continue;
            }
            channels.push_back(
                {.schema = notifier->Schema(), .channel = notifier->MakeChannel(tenant, clock)});
        }
        return channels;
    };
    options.make_chat_sink = [](notify::ChatSinkParts parts) {
        return notify::MakeChatSink(std::move(parts));
    };
    options.make_fetcher = [this](const config::TenantConfig& tenant) {
        return MakeFetcher(tenant);
    };
    return options;
}

const crm::Adapter& AdapterOf(const config::TenantConfig& tenant) {
    const crm::Adapter* adapter = crm::FindAdapter(CrmAdapters(), tenant.crm);
    if (adapter == nullptr) {
        throw std::logic_error("tenant " + tenant.id + " has an unregistered crm " + tenant.crm);
    }
    return *adapter;
}

std::string HookUrl(const config::AppConfig& config, const config::TenantConfig& tenant) {
    return crm::HookUrl(AdapterOf(tenant), config.server.public_url, tenant);
}

std::optional<config::AppConfig> LoadOrReport(const std::string& path) {
    config::LoadResult loaded = config::LoadConfig(path, ConfigSchemas());
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
