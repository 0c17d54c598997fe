#pragma once

// The part of src/config an adapter's own `[tenant.<crm>]` parser uses (crm::Adapter::Schema):
// typed reads that record every problem with file, line and key, and the checks URL and CA file
// settings share.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <toml++/toml.h>

#include "src/common/time.hpp"
#include "src/config/config.hpp"

namespace fg::config {

/// Collects problems for one file. Not thread-safe; one per load.
class ProblemSink {
public:
    ProblemSink(std::vector<ConfigProblem>& out, std::string file)
        : out_(out), file_(std::move(file)) {}

    void Add(int line, std::string key, std::string message) {
        out_.push_back(ConfigProblem{
            .file = file_, .line = line, .key = std::move(key), .message = std::move(message)});
    }
    const std::string& file() const { return file_; }

private:
    std::vector<ConfigProblem>& out_;
    std::string file_;
};

/// Reads one TOML table: every key asked for becomes known; RejectUnknownKeys() reports the rest.
/// Type errors are reported and leave the destination untouched.
class TableReader {
public:
    TableReader(const toml::table& table, std::string path, ProblemSink& sink, int fallback_line);

    /// The node under `key`, or null; marks `key` as known either way.
    const toml::node* Get(std::string_view key);
    /// Marks `key` as known without reading it.
    void Known(std::string_view key) { known_.emplace_back(key); }

    std::optional<std::string> String(std::string_view key);
    void Read(std::string_view key, std::string& out);
    void Read(std::string_view key, bool& out);
    std::optional<std::int64_t> Integer(std::string_view key);
    /// An integer or a float.
    std::optional<double> Number(std::string_view key);
    std::optional<Duration> DurationValue(std::string_view key);
    /// An array whose elements are all strings; each with its line.
    std::optional<std::vector<std::pair<std::string, int>>> StringList(std::string_view key);
    const toml::table* Table(std::string_view key);
    const toml::array* Array(std::string_view key);

    void RejectUnknownKeys();

    /// `path.key`, as problems name keys.
    std::string Path(std::string_view key) const;
    /// Line of the value under `key`, or of the table itself when the key is absent.
    int Line(std::string_view key) const;
    int line() const { return line_; }
    const std::string& path() const { return path_; }
    const toml::table& table() const { return table_; }
    ProblemSink& sink() { return sink_; }
    void Problem(std::string_view key, std::string message) {
        sink_.Add(Line(key), Path(key), std::move(message));
    }

private:
    const toml::table& table_;
    std::string path_;
    ProblemSink& sink_;
    int line_ = 0;
    std::vector<std::string> known_{};
};

/// An http:// or https:// URL with a host and no whitespace.
bool IsHttpUrl(std::string_view url);

/// The parts of an http(s) URL the transport rules look at.
struct UrlParts {
    bool https = false;
    bool has_userinfo = false;
    std::string host{};  // without brackets or port
};
UrlParts PartsOf(std::string_view url);

/// `ca_file`: a PEM file of private CA certificates, read now so that a typo shows at config
/// check, not at the first call. Relative names resolve against `base_dir`, the defining file's
/// folder; the value returned is the resolved path (nullopt: absent or refused, with a problem).
std::optional<std::string> ReadCaFile(TableReader& reader, const std::string& base_dir);

}  // namespace fg::config
