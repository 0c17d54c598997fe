// LoadConfig: the main file, then every *.toml of tenants_dir. Each file is parsed, has ${NAME}
// expanded and is validated in full, so one run reports every problem of every file.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <system_error>

#include <fmt/format.h>

#include "src/config/config.hpp"
#include "src/config/reader.hpp"

namespace fg::config {
namespace {

using detail::LineOf;
using detail::ProblemSink;
using detail::TableReader;

constexpr std::size_t kMinAdminTokenChars = 16;
constexpr std::int64_t kMaxThreads = 1024;

std::optional<std::string> ReadFile(const std::string& path, std::string& error) {
    std::error_code code;
    if (std::filesystem::is_directory(path, code)) {
        error = "is a directory, not a config file";
        return std::nullopt;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        error = std::strerror(errno);
        return std::nullopt;
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::optional<toml::table> ParseToml(const std::string& text, ProblemSink& sink) {
    try {
        return toml::parse(text, sink.file());
    } catch (const toml::parse_error& error) {
        sink.Add(static_cast<int>(error.source().begin.line), "",
                 fmt::format("TOML syntax: {}", error.description()));
        return std::nullopt;
    }
}

std::string Resolve(const std::string& base_dir, const std::string& path) {
    if (path.empty() || path == ":memory:" || std::filesystem::path(path).is_absolute()) {
        return path;
    }
    return (std::filesystem::path(base_dir) / path).lexically_normal().string();
}

bool IsListenAddress(std::string_view listen) {
    const auto colon = listen.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == listen.size()) {
        return false;
    }
    const std::string_view port = listen.substr(colon + 1);
    if (port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return false;
    }
    return std::stoi(std::string(port)) <= 65535;
}

void ParseServer(TableReader& root, ServerConfig& server) {
    const toml::table* table = root.Table("server");
    if (table == nullptr) {
        return;
    }
    TableReader reader(*table, "server", root.sink(), root.Line("server"));
    if (auto listen = reader.String("listen")) {
        if (!IsListenAddress(*listen)) {
            reader.Problem("listen", fmt::format("invalid address \"{}\" (use \"host:port\", e.g. "
                                                 "\"127.0.0.1:8080\")",
                                                 *listen));
        } else {
            server.listen = *listen;
        }
    }
    if (auto url = reader.String("public_url")) {
        if (!url->empty() && !detail::IsHttpUrl(*url)) {
            reader.Problem("public_url", "must be an http:// or https:// URL");
        } else {
            server.public_url = *url;
        }
    }
    if (auto token = reader.String("admin_token")) {
        // Empty disables the admin API; a short one is too easy to guess. Never echo the value.
        if (!token->empty() && token->size() < kMinAdminTokenChars) {
            reader.Problem("admin_token",
                           fmt::format("too short: use at least {} characters (or leave it empty "
                                       "to disable the admin API)",
                                       kMinAdminTokenChars));
        }
        server.admin_token = *token;
    }
    if (auto bytes = reader.Integer("max_body_bytes")) {
        if (*bytes < 1) {
            reader.Problem("max_body_bytes", "must be at least 1");
        } else {
            server.max_body_bytes = static_cast<std::size_t>(*bytes);
        }
    }
    if (auto threads = reader.Integer("threads")) {
        if (*threads < 1 || *threads > kMaxThreads) {
            reader.Problem("threads", fmt::format("must be between 1 and {}", kMaxThreads));
        } else {
            server.threads = static_cast<int>(*threads);
        }
    }
    reader.RejectUnknownKeys();
}

void ParseStorage(TableReader& root, StorageConfig& storage, const std::string& base_dir) {
    const toml::table* table = root.Table("storage");
    if (table == nullptr) {
        storage.path = Resolve(base_dir, storage.path);
        return;
    }
    TableReader reader(*table, "storage", root.sink(), root.Line("storage"));
    if (auto path = reader.String("path")) {
        if (path->empty()) {
            reader.Problem("path", "must not be empty");
        } else {
            storage.path = *path;
        }
    }
    storage.path = Resolve(base_dir, storage.path);
    reader.RejectUnknownKeys();
}

void ParseLog(TableReader& root, LogConfig& log) {
    const toml::table* table = root.Table("log");
    if (table == nullptr) {
        return;
    }
    TableReader reader(*table, "log", root.sink(), root.Line("log"));
    if (auto level = reader.String("level")) {
        const std::vector<std::string> levels = {"debug", "info", "warn", "error"};
        if (std::find(levels.begin(), levels.end(), *level) == levels.end()) {
            reader.Problem("level", detail::WithSuggestion(
                                        fmt::format("must be one of debug | info | warn | error, "
                                                    "not \"{}\"",
                                                    *level),
                                        *level, levels));
        } else {
            log.level = *level;
        }
    }
    reader.RejectUnknownKeys();
}

// Where each tenant id was first defined, to report duplicates across files.
struct TenantOrigin {
    std::string file{};
    int line = 0;
};

void ParseTenants(TableReader& root, std::vector<TenantConfig>& tenants,
                  std::map<std::string, TenantOrigin>& origins, const std::string& base_dir,
                  const Schemas& schemas) {
    const toml::node* node = root.Get("tenant");
    if (node == nullptr) {
        return;
    }
    const auto* array = node->as_array();
    if (array == nullptr || !array->is_array_of_tables()) {
        root.Problem("tenant", "must be an array of tables: write [[tenant]]");
        return;
    }
    for (std::size_t i = 0; i < array->size(); ++i) {
        const toml::table& table = *array->get(i)->as_table();
        const std::string path = detail::TenantKey(table, i);
        const int line = LineOf(table, root.Line("tenant"));
        TenantConfig tenant =
            detail::ParseTenant(table, path, root.sink(), line, base_dir, schemas);
        if (!tenant.id.empty()) {
            auto [it, inserted] =
                origins.emplace(tenant.id, TenantOrigin{.file = root.sink().file(), .line = line});
            if (!inserted) {
                const toml::node* id = table.get("id");
                root.sink().Add(id != nullptr ? LineOf(*id, line) : line,
                                detail::JoinKey(path, "id"),
                                fmt::format("duplicate tenant id \"{}\" (first defined at {}:{})",
                                            tenant.id, it->second.file, it->second.line));
                continue;
            }
        }
        tenants.push_back(std::move(tenant));
    }
}

// One file of tenants_dir: [[tenant]] tables only.
void LoadTenantFile(const std::string& file, std::vector<ConfigProblem>& problems,
                    std::vector<TenantConfig>& tenants,
                    std::map<std::string, TenantOrigin>& origins, const Schemas& schemas) {
    ProblemSink sink(problems, file);
    std::string error;
    auto text = ReadFile(file, error);
    if (!text) {
        sink.Add(0, "", fmt::format("cannot read tenant file: {}", error));
        return;
    }
    auto table = ParseToml(*text, sink);
    if (!table) {
        return;
    }
    detail::ExpandEnvironment(*table, "", sink);
    TableReader root(*table, "", sink, 1);
    std::string base_dir = std::filesystem::path(file).parent_path().string();
    ParseTenants(root, tenants, origins, base_dir.empty() ? "." : base_dir, schemas);
    for (const auto& [key, node] : *table) {
        if (key.str() != "tenant") {
            sink.Add(LineOf(node, 1), detail::JoinKey("", key.str()),
                     "unknown key: a tenants_dir file may hold only [[tenant]] tables");
        }
    }
}

void LoadTenantsDir(TableReader& root, const std::string& dir, LoadResult& result,
                    std::map<std::string, TenantOrigin>& origins, const Schemas& schemas) {
    std::error_code code;
    if (!std::filesystem::is_directory(dir, code)) {
        root.Problem("tenants_dir", fmt::format("\"{}\" is not a directory", dir));
        return;
    }
    std::vector<std::filesystem::path> files;
    for (std::filesystem::directory_iterator it(dir, code), end; !code && it != end;
         it.increment(code)) {
        if (it->path().extension() == ".toml" && it->is_regular_file(code)) {
            files.push_back(it->path());
        }
    }
    if (code) {
        root.Problem("tenants_dir", fmt::format("cannot list \"{}\": {}", dir, code.message()));
        return;
    }
    std::sort(files.begin(), files.end());
    for (const std::filesystem::path& file : files) {
        LoadTenantFile(file.string(), result.problems, result.config.tenants, origins, schemas);
    }
}

// Problems come out file by file (in load order) and by line within a file.
void SortProblems(std::vector<ConfigProblem>& problems) {
    std::map<std::string, std::size_t> order;
    for (const ConfigProblem& problem : problems) {
        order.emplace(problem.file, order.size());
    }
    std::stable_sort(problems.begin(), problems.end(),
                     [&](const ConfigProblem& a, const ConfigProblem& b) {
                         const std::size_t fa = order.at(a.file);
                         const std::size_t fb = order.at(b.file);
                         return fa != fb ? fa < fb : a.line < b.line;
                     });
}

}  // namespace

LoadResult LoadConfigFromString(const std::string& text, const std::string& file,
                                const Schemas& schemas, const std::string& base_dir) {
    LoadResult result;
    ProblemSink sink(result.problems, file);
    auto table = ParseToml(text, sink);
    if (!table) {
        result.config.storage.path = Resolve(base_dir, result.config.storage.path);
        return result;
    }
    detail::ExpandEnvironment(*table, "", sink);
    TableReader root(*table, "", sink, 1);
    ParseServer(root, result.config.server);
    ParseStorage(root, result.config.storage, base_dir);
    ParseLog(root, result.config.log);
    std::map<std::string, TenantOrigin> origins;
    ParseTenants(root, result.config.tenants, origins, base_dir, schemas);
    std::optional<std::string> tenants_dir;
    if (auto dir = root.String("tenants_dir")) {
        if (dir->empty()) {
            root.Problem("tenants_dir", "must not be empty (leave it out instead)");
        } else {
            tenants_dir = Resolve(base_dir, *dir);
            result.config.tenants_dir = *tenants_dir;
        }
    }
    root.RejectUnknownKeys();
    if (tenants_dir) {
        LoadTenantsDir(root, *tenants_dir, result, origins, schemas);
    }
    SortProblems(result.problems);
    return result;
}

std::vector<ConfigProblem> Warnings(const AppConfig& config) {
    std::vector<ConfigProblem> warnings;
    for (const TenantConfig& tenant : config.tenants) {
        for (ConfigProblem& warning : detail::TenantWarnings(tenant)) {
            warnings.push_back(std::move(warning));
        }
    }
    return warnings;
}

LoadResult LoadConfig(const std::string& path, const Schemas& schemas) {
    std::string error;
    auto text = ReadFile(path, error);
    if (!text) {
        LoadResult result;
        result.problems.push_back(ConfigProblem{
            .file = path, .line = 0, .key = "", .message = fmt::format("cannot read: {}", error)});
        return result;
    }
    std::string base_dir = std::filesystem::path(path).parent_path().string();
    if (base_dir.empty()) {
        base_dir = ".";
    }
    return LoadConfigFromString(*text, path, schemas, base_dir);
}

}  // namespace fg::config
