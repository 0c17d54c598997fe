#pragma once

// Helpers shared by the config tests.

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <doctest/doctest.h>
#include <stdlib.h>

#include "src/app/adapters.hpp"
#include "src/config/config.hpp"
#include "tests/support/process.hpp"

namespace fg::config::testing {

/// Every problem, one per line, for failure output.
inline std::string Dump(const std::vector<ConfigProblem>& problems) {
    std::string out;
    for (const ConfigProblem& problem : problems) {
        out += FormatProblem(problem);
        out += "\n";
    }
    return out;
}

/// The problem reported for exactly `key`, or null.
inline const ConfigProblem* FindProblem(const LoadResult& result, std::string_view key) {
    for (const ConfigProblem& problem : result.problems) {
        if (problem.key == key) {
            return &problem;
        }
    }
    return nullptr;
}

/// Whether some problem for `key` has `text` in its message.
inline bool HasProblem(const LoadResult& result, std::string_view key, std::string_view text) {
    for (const ConfigProblem& problem : result.problems) {
        if (problem.key == key && problem.message.find(text) != std::string::npos) {
            return true;
        }
    }
    return false;
}

/// A valid generic tenant with the pipeline of DESIGN.md §4. `keys` (tenant-level keys) start on
/// line 4; the pipeline takes the 5 lines after them; `extra` follows (line 9 when `keys` is
/// empty).
inline std::string Tenant(std::string_view extra = "", std::string_view keys = "") {
    std::string text =
        "[[tenant]]\n"
        "id = \"acme\"\n"
        "secret = \"s3cret\"\n";
    text += keys;
    text +=
        "[[tenant.pipeline]]\n"
        "id = \"main\"\n"
        "stages = [\"Новая\", \"Квалификация\", \"КП отправлено\", \"Счёт выставлен\", "
        "\"Оплачено\", \"Успешно\"]\n"
        "won = [\"Успешно\"]\n"
        "lost = [\"Закрыто и не реализовано\"]\n";
    text += extra;
    return text;
}

/// Loads `text` as "test.toml" from base dir "/cfg".
inline LoadResult Load(const std::string& text) {
    return LoadConfigFromString(text, "test.toml", fg::app::CrmSchemas(), "/cfg");
}

using fg::testing::TempDir;

/// Sets an environment variable for the scope, restoring "unset" afterwards.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const char* value) : name_(name) { setenv(name, value, 1); }
    ~ScopedEnv() { unsetenv(name_); }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
    const char* name_;
};

}  // namespace fg::config::testing
