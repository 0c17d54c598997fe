#pragma once

#include <optional>
#include <string>
#include <vector>

namespace fg::app {

struct CheckOptions {
    std::string config{};
    std::string tenant{};
    std::string now{};
    std::string format = "table";
};
int RunCheck(const CheckOptions& options);

struct ReplayOptions {
    std::string config{};
    std::string tenant{};
    std::string crm{};
    std::vector<std::string> files{};
};
int RunReplay(const ReplayOptions& options);

int RunServe(const std::string& config_path);
int RunReconcile(const std::string& config_path, const std::string& tenant);
int RunConfigCheck(const std::string& config_path);

struct DemoOptions {
    double speed = 600;  // clock seconds per real second
    std::string db{};    // empty: a temporary file
};
int RunDemo(const DemoOptions& options);

}  // namespace fg::app
