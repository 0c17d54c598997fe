#include "src/config/reader.hpp"

#include <algorithm>
#include <limits>
#include <tuple>

#include <fmt/format.h>

namespace fg::config::detail {
namespace {

bool IsBareKey(std::string_view key) {
    if (key.empty()) {
        return false;
    }
    return std::all_of(key.begin(), key.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
    });
}

std::string_view TypeName(const toml::node& node) {
    switch (node.type()) {
        case toml::node_type::table:
            return "a table";
        case toml::node_type::array:
            return "an array";
        case toml::node_type::string:
            return "a string";
        case toml::node_type::integer:
            return "an integer";
        case toml::node_type::floating_point:
            return "a float";
        case toml::node_type::boolean:
            return "a boolean";
        case toml::node_type::date:
        case toml::node_type::time:
        case toml::node_type::date_time:
            return "a date/time";
        case toml::node_type::none:
            break;
    }
    return "nothing";
}

// Edit distance counts characters, not bytes: a one-letter typo in a Cyrillic stage name is one
// edit, not two.
std::u32string DecodeUtf8(std::string_view text) {
    std::u32string out;
    for (std::size_t i = 0; i < text.size();) {
        const auto byte = static_cast<unsigned char>(text[i]);
        int extra = 0;
        char32_t code = byte;
        if (byte >= 0xF0) {
            extra = 3;
            code = byte & 0x07U;
        } else if (byte >= 0xE0) {
            extra = 2;
            code = byte & 0x0FU;
        } else if (byte >= 0xC0) {
            extra = 1;
            code = byte & 0x1FU;
        }
        ++i;
        for (int k = 0; k < extra && i < text.size(); ++k, ++i) {
            code = (code << 6U) | (static_cast<unsigned char>(text[i]) & 0x3FU);
        }
        out.push_back(code);
    }
    return out;
}

std::size_t EditDistance(const std::u32string& a, const std::u32string& b) {
    std::vector<std::size_t> previous(b.size() + 1);
    std::vector<std::size_t> current(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) {
        previous[j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        current[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
            current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitution});
        }
        std::swap(previous, current);
    }
    return previous[b.size()];
}

}  // namespace

std::string JoinKey(std::string_view prefix, std::string_view key) {
    std::string quoted;
    if (IsBareKey(key)) {
        quoted = key;
    } else {
        quoted = "\"";
        for (const char c : key) {
            if (c == '"' || c == '\\') {
                quoted += '\\';
            }
            quoted += c;
        }
        quoted += '"';
    }
    if (prefix.empty()) {
        return quoted;
    }
    return fmt::format("{}.{}", prefix, quoted);
}

std::string IndexKey(std::string_view prefix, std::size_t index) {
    return fmt::format("{}[{}]", prefix, index);
}

bool IsValidTenantId(std::string_view id) {
    return !id.empty() && std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
}

std::string TenantKey(const toml::table& table, std::size_t index) {
    if (const auto* id = table.get_as<std::string>("id");
        id != nullptr && IsValidTenantId(id->get())) {
        return fmt::format("tenant \"{}\"", id->get());
    }
    return IndexKey("tenant", index);
}

int LineOf(const toml::node& node, int fallback) {
    const auto line = node.source().begin.line;
    if (line == 0 || line > static_cast<toml::source_index>(std::numeric_limits<int>::max())) {
        return fallback;
    }
    return static_cast<int>(line);
}

std::optional<std::string> Suggest(std::string_view word,
                                   const std::vector<std::string>& candidates) {
    const std::u32string target = DecodeUtf8(word);
    std::optional<std::string> best;
    // Up to two edits, or (ranked after them) one word starting with the other: "warning" means
    // "warn", "enforcing" means "enforce".
    constexpr std::size_t kPrefixScore = 3;
    std::size_t best_score = kPrefixScore + 1;
    for (const std::string& candidate : candidates) {
        const std::u32string other = DecodeUtf8(candidate);
        std::size_t score = EditDistance(target, other);
        if (score > 2 || score >= std::max<std::size_t>(target.size(), 2)) {
            const std::u32string& shorter = target.size() < other.size() ? target : other;
            const std::u32string& longer = target.size() < other.size() ? other : target;
            const std::size_t stem = shorter.size() > 4 ? shorter.size() - 1 : shorter.size();
            const bool prefix =
                shorter.size() >= 3 && longer.compare(0, stem, shorter, 0, stem) == 0;
            score = prefix ? kPrefixScore : kPrefixScore + 1;
        }
        if (score < best_score) {
            best = candidate;
            best_score = score;
        }
    }
    return best;
}

std::string WithSuggestion(std::string message, std::string_view word,
                           const std::vector<std::string>& candidates) {
    if (auto suggestion = Suggest(word, candidates)) {
        return fmt::format("{} (did you mean \"{}\"?)", message, *suggestion);
    }
    return message;
}

}  // namespace fg::config::detail

namespace fg::config {

using detail::LineOf;
using detail::ReadDuration;
using detail::ReadStringList;
using detail::TypeName;
using detail::WithSuggestion;

bool IsHttpUrl(std::string_view url) {
    std::string_view host;
    if (url.rfind("http://", 0) == 0) {
        host = url.substr(7);
    } else if (url.rfind("https://", 0) == 0) {
        host = url.substr(8);
    } else {
        return false;
    }
    return !host.empty() && host.front() != '/' && host.front() != ':' &&
           url.find_first_of(" \t\r\n") == std::string_view::npos;
}

TableReader::TableReader(const toml::table& table, std::string path, ProblemSink& sink,
                         int fallback_line)
    : table_(table), path_(std::move(path)), sink_(sink), line_(LineOf(table, fallback_line)) {}

std::string TableReader::Path(std::string_view key) const { return detail::JoinKey(path_, key); }

const toml::node* TableReader::Get(std::string_view key) {
    known_.emplace_back(key);
    return table_.get(key);
}

int TableReader::Line(std::string_view key) const {
    if (const toml::node* node = table_.get(key)) {
        return LineOf(*node, line_);
    }
    return line_;
}

std::optional<std::string> TableReader::String(std::string_view key) {
    const toml::node* node = Get(key);
    if (node == nullptr) {
        return std::nullopt;
    }
    if (const auto* text = node->as_string()) {
        return text->get();
    }
    Problem(key, fmt::format("must be a string, not {}", TypeName(*node)));
    return std::nullopt;
}

void TableReader::Read(std::string_view key, std::string& out) {
    if (auto text = String(key)) {
        out = std::move(*text);
    }
}

void TableReader::Read(std::string_view key, bool& out) {
    const toml::node* node = Get(key);
    if (node == nullptr) {
        return;
    }
    if (const auto* flag = node->as_boolean()) {
        out = flag->get();
        return;
    }
    Problem(key, fmt::format("must be true or false, not {}", TypeName(*node)));
}

std::optional<std::int64_t> TableReader::Integer(std::string_view key) {
    const toml::node* node = Get(key);
    if (node == nullptr) {
        return std::nullopt;
    }
    if (const auto* number = node->as_integer()) {
        return number->get();
    }
    Problem(key, fmt::format("must be an integer, not {}", TypeName(*node)));
    return std::nullopt;
}

std::optional<double> TableReader::Number(std::string_view key) {
    const toml::node* node = Get(key);
    if (node == nullptr) {
        return std::nullopt;
    }
    if (const auto* number = node->as_integer()) {
        return static_cast<double>(number->get());
    }
    if (const auto* number = node->as_floating_point()) {
        return number->get();
    }
    Problem(key, fmt::format("must be a number, not {}", TypeName(*node)));
    return std::nullopt;
}

std::optional<Duration> TableReader::DurationValue(std::string_view key) {
    const toml::node* node = Get(key);
    if (node == nullptr) {
        return std::nullopt;
    }
    return ReadDuration(*node, Path(key), sink_, line_);
}

std::optional<std::vector<std::pair<std::string, int>>> TableReader::StringList(
    std::string_view key) {
    const toml::node* node = Get(key);
    if (node == nullptr) {
        return std::nullopt;
    }
    return ReadStringList(*node, Path(key), sink_, line_);
}

const toml::table* TableReader::Table(std::string_view key) {
    const toml::node* node = Get(key);
    if (node == nullptr) {
        return nullptr;
    }
    if (const auto* table = node->as_table()) {
        return table;
    }
    Problem(key, fmt::format("must be a table, not {}", TypeName(*node)));
    return nullptr;
}

const toml::array* TableReader::Array(std::string_view key) {
    const toml::node* node = Get(key);
    if (node == nullptr) {
        return nullptr;
    }
    if (const auto* array = node->as_array()) {
        return array;
    }
    Problem(key, fmt::format("must be an array, not {}", TypeName(*node)));
    return nullptr;
}

void TableReader::RejectUnknownKeys() {
    for (const auto& [key, node] : table_) {
        const std::string_view name = key.str();
        if (std::find(known_.begin(), known_.end(), name) != known_.end()) {
            continue;
        }
        const int line = key.source().begin.line != 0 ? static_cast<int>(key.source().begin.line)
                                                      : LineOf(node, line_);
        sink_.Add(line, Path(name), WithSuggestion("unknown key", name, known_));
    }
}

}  // namespace fg::config

namespace fg::config::detail {

std::optional<Duration> ReadDuration(const toml::node& node, const std::string& path,
                                     ProblemSink& sink, int fallback_line) {
    const int line = LineOf(node, fallback_line);
    const auto* text = node.as_string();
    if (text == nullptr) {
        sink.Add(line, path,
                 fmt::format("must be a duration string like \"15m\", not {}", TypeName(node)));
        return std::nullopt;
    }
    if (auto duration = ParseDuration(text->get())) {
        return duration;
    }
    sink.Add(line, path,
             fmt::format("invalid duration \"{}\" (use 30s, 15m, 4h or 14d)", text->get()));
    return std::nullopt;
}

std::optional<std::vector<std::pair<std::string, int>>> ReadStringList(const toml::node& node,
                                                                       const std::string& path,
                                                                       ProblemSink& sink,
                                                                       int fallback_line) {
    const int line = LineOf(node, fallback_line);
    const auto* array = node.as_array();
    if (array == nullptr) {
        sink.Add(line, path, fmt::format("must be an array of strings, not {}", TypeName(node)));
        return std::nullopt;
    }
    std::vector<std::pair<std::string, int>> out;
    bool ok = true;
    for (std::size_t i = 0; i < array->size(); ++i) {
        const toml::node& element = *array->get(i);
        if (const auto* text = element.as_string()) {
            out.emplace_back(text->get(), LineOf(element, line));
        } else {
            sink.Add(LineOf(element, line), IndexKey(path, i),
                     fmt::format("must be a string, not {}", TypeName(element)));
            ok = false;
        }
    }
    if (!ok) {
        return std::nullopt;
    }
    return out;
}

void StageCatalog::Require(const std::string& stage, int line, const std::string& key,
                           ProblemSink& sink) const {
    if (refs != nullptr) {
        refs->push_back(NameRef{.kind = NameRef::Kind::kStage,
                                .name = stage,
                                .file = sink.file(),
                                .line = line,
                                .key = key});
    }
    if (!check || names.count(stage) != 0) {
        return;
    }
    sink.Add(line, key,
             WithSuggestion(
                 fmt::format("unknown stage \"{}\" (not in any pipeline of the tenant)", stage),
                 stage, list));
}

void StageCatalog::Field(const std::string& field, int line, const std::string& key,
                         const ProblemSink& sink) const {
    if (refs != nullptr) {
        refs->push_back(NameRef{.kind = NameRef::Kind::kField,
                                .name = field,
                                .file = sink.file(),
                                .line = line,
                                .key = key});
    }
}

}  // namespace fg::config::detail

namespace fg::config {

std::vector<ConfigProblem> CheckNames(const TenantConfig& tenant, const KnownNames& known) {
    const std::set<std::string> stages(known.stages.begin(), known.stages.end());
    std::set<std::string> fields;
    if (known.fields) {
        fields.insert(known.fields->begin(), known.fields->end());
    }
    std::vector<ConfigProblem> problems;
    std::set<std::pair<std::string, std::string>> reported;  // key, name: once each
    for (const NameRef& ref : tenant.names) {
        const bool stage = ref.kind == NameRef::Kind::kStage;
        if (stage ? stages.count(ref.name) != 0 : (!known.fields || fields.count(ref.name) != 0)) {
            continue;
        }
        if (!reported.emplace(ref.key, ref.name).second) {
            continue;
        }
        const std::string what = stage ? "stage" : "field";
        problems.push_back(ConfigProblem{
            .file = ref.file,
            .line = ref.line,
            .key = ref.key,
            .message = detail::WithSuggestion(fmt::format("unknown {} \"{}\"", what, ref.name),
                                              ref.name, stage ? known.stages : *known.fields),
        });
    }
    // In the file's order, as the loader's own problems come (refs are recorded rule by rule).
    std::stable_sort(problems.begin(), problems.end(),
                     [](const ConfigProblem& a, const ConfigProblem& b) {
                         return std::tie(a.file, a.line) < std::tie(b.file, b.line);
                     });
    return problems;
}

}  // namespace fg::config
