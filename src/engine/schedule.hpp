#pragma once

#include <optional>
#include <string>

#include "src/common/time.hpp"

namespace fg::engine {

/// The first instant strictly after `after` when the wall clock in `time_zone` reads `hh_mm`
/// ("03:00"). Handles DST gaps (a skipped local time runs at the first valid instant after it).
std::optional<Timestamp> NextLocalTime(Timestamp after, const std::string& time_zone,
                                       const std::string& hh_mm);

}  // namespace fg::engine
