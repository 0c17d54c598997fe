#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

namespace fg {

/// A named logger sharing the process-wide sinks ("Sentence. key=value" messages; never secrets).
std::shared_ptr<spdlog::logger> ModuleLogger(const std::string& module);

/// Sets up stderr logging at `level` ("debug", "info", "warn", "error", "off").
void SetupLogging(std::string_view level);

/// Makes untrusted text safe for one log line: CR, LF and control characters are escaped.
std::string LogSafe(std::string_view text, std::size_t max_chars = 200);

}  // namespace fg
