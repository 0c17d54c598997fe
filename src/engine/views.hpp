#pragma once

#include <nlohmann/json.hpp>

#include "src/config/config.hpp"
#include "src/domain/model.hpp"
#include "src/storage/store.hpp"

namespace fg::engine {

/// The JSON shapes of the API and of `check --format json`. Times are ISO 8601 in the tenant's
/// time zone (`time_zone` empty: UTC).
nlohmann::json ViolationToJson(const storage::Violation& violation, const std::string& time_zone);
nlohmann::json SnapshotToJson(const domain::DealSnapshot& snapshot, const std::string& time_zone);

}  // namespace fg::engine
