#include "src/common/log.hpp"

#include <mutex>

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>

namespace fg {
namespace {

std::mutex& LoggerMutex() {
    static std::mutex mutex;
    return mutex;
}

spdlog::level::level_enum& DefaultLevel() {
    static spdlog::level::level_enum level = spdlog::level::warn;
    return level;
}

}  // namespace

std::shared_ptr<spdlog::logger> ModuleLogger(const std::string& module) {
    std::lock_guard lock(LoggerMutex());
    if (auto existing = spdlog::get(module)) {
        return existing;
    }
    auto logger = spdlog::stderr_color_mt(module);
    logger->set_level(DefaultLevel());
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v");
    return logger;
}

void SetupLogging(std::string_view level) {
    std::lock_guard lock(LoggerMutex());
    DefaultLevel() = spdlog::level::from_str(std::string(level));
    spdlog::apply_all(
        [](const std::shared_ptr<spdlog::logger>& logger) { logger->set_level(DefaultLevel()); });
}

std::string LogSafe(std::string_view text, std::size_t max_chars) {
    std::string out;
    out.reserve(std::min(text.size(), max_chars) + 8);
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (out.size() >= max_chars) {
            out += "...";
            break;
        }
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c < 0x20 || c == 0x7f) {
            out += fmt::format("\\x{:02x}", c);
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

}  // namespace fg
