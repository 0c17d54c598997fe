#pragma once

#include <string>

#include "src/engine/engine.hpp"

namespace fg::demo {

struct DemoSettings {
    double speed = 600;  // clock seconds per real second: a 10-hour day in a minute
    std::string db{};    // empty: a temporary file, removed afterwards
};

/// Replays the bundled day of a small sales team through the generic adapter on a fast clock:
/// violations, notes, tasks, reverts and messages are printed as they happen, then a summary per
/// rule and per manager. Actions go to a simulated CRM that echoes them back, as a real one would.
int RunDemo(const DemoSettings& settings, engine::Decoders decoders);

}  // namespace fg::demo
