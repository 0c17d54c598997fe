#pragma once

#include "src/config/config.hpp"
#include "src/engine/engine.hpp"

namespace fg::app {

/// The composition root: the only place that names concrete adapters.
engine::Decoders AllDecoders();
/// The action sink of a tenant: its generic actions_url, or none.
std::unique_ptr<outbox::ActionSink> MakeSink(const config::TenantConfig& tenant);

/// Loads the config or prints every problem to stderr; nullopt means "exit 2".
std::optional<config::AppConfig> LoadOrReport(const std::string& path);

}  // namespace fg::app
