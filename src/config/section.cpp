#include "src/config/section.hpp"

#include <filesystem>

#include "src/tls/trust.hpp"

namespace fg::config {

UrlParts PartsOf(std::string_view url) {
    UrlParts parts;
    parts.https = url.rfind("https://", 0) == 0;
    std::string_view authority = url.substr(url.find("://") + 3);
    authority = authority.substr(0, authority.find_first_of("/?#"));
    if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
        parts.has_userinfo = true;
        authority = authority.substr(at + 1);
    }
    if (!authority.empty() && authority.front() == '[') {
        parts.host = std::string(authority.substr(1, authority.find(']') - 1));
    } else {
        parts.host = std::string(authority.substr(0, authority.rfind(':')));
    }
    return parts;
}

std::optional<std::string> ReadCaFile(TableReader& reader, const std::string& base_dir) {
    auto file = reader.String("ca_file");
    if (!file) {
        return std::nullopt;
    }
    if (file->empty()) {
        reader.Problem("ca_file",
                       "must not be empty (leave it out to trust the system store only)");
        return std::nullopt;
    }
    std::string path = *file;
    if (!std::filesystem::path(path).is_absolute()) {
        path = (std::filesystem::path(base_dir) / path).lexically_normal().string();
    }
    if (auto checked = tls::CheckCaFile(path); !checked) {
        reader.Problem("ca_file", checked.error().message);
        return std::nullopt;
    }
    return path;
}

}  // namespace fg::config
