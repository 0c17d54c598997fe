// ${NAME} expansion over a parsed TOML tree. It runs before the typed parsers, so every string
// value anywhere in the file can come from the environment, and a problem names the key it is in.
#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "src/config/reader.hpp"

namespace fg::config::detail {
namespace {

bool IsNameStart(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

// Expands `text` in place. Values are never put into messages: they are usually secrets.
void ExpandString(std::string& text, int line, const std::string& path, ProblemSink& sink) {
    if (text.find("${") == std::string::npos) {
        return;
    }
    std::string out;
    out.reserve(text.size());
    bool failed = false;
    std::size_t i = 0;
    while (i < text.size()) {
        if (text.compare(i, 2, "${") != 0) {
            out += text[i];
            ++i;
            continue;
        }
        std::size_t end = i + 2;
        while (end < text.size() && IsNameChar(text[end])) {
            ++end;
        }
        const std::string name = text.substr(i + 2, end - i - 2);
        if (end >= text.size() || text[end] != '}' || name.empty() || !IsNameStart(name[0])) {
            sink.Add(line, path,
                     "malformed environment reference: \"${\" must be followed by NAME} "
                     "(letters, digits and _)");
            failed = true;
            break;
        }
        const char* value = std::getenv(name.c_str());
        if (value == nullptr) {
            sink.Add(line, path, fmt::format("environment variable {} is not set", name));
            failed = true;
        } else {
            out += value;
        }
        i = end + 1;
    }
    // On failure the text stays as written, so later checks see the reference, not half a value.
    if (!failed) {
        text = std::move(out);
    }
}

void ExpandNode(toml::node& node, const std::string& path, ProblemSink& sink, int fallback_line);

void ExpandArray(toml::array& array, const std::string& path, ProblemSink& sink, int line) {
    for (std::size_t i = 0; i < array.size(); ++i) {
        toml::node& element = *array.get(i);
        // [[tenant]] tables are named by their id, as the tenant parser names them.
        const toml::table* tenant = path == "tenant" ? element.as_table() : nullptr;
        ExpandNode(element, tenant != nullptr ? TenantKey(*tenant, i) : IndexKey(path, i), sink,
                   line);
    }
}

void ExpandNode(toml::node& node, const std::string& path, ProblemSink& sink, int fallback_line) {
    const int line = LineOf(node, fallback_line);
    if (auto* text = node.as_string()) {
        ExpandString(text->get(), line, path, sink);
    } else if (auto* table = node.as_table()) {
        ExpandEnvironment(*table, path, sink);
    } else if (auto* array = node.as_array()) {
        ExpandArray(*array, path, sink, line);
    }
}

}  // namespace

void ExpandEnvironment(toml::table& table, std::string_view path, ProblemSink& sink) {
    const int line = LineOf(table, 0);
    for (auto&& [key, node] : table) {
        ExpandNode(node, JoinKey(path, key.str()), sink, line);
    }
}

}  // namespace fg::config::detail
