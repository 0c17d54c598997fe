#include "adapters/amocrm/api/oauth.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include <fcntl.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include "adapters/amocrm/api/client.hpp"

namespace fg::adapters::amocrm {
namespace {

std::string DirectoryOf(const std::string& path) {
    const auto slash = path.rfind('/');
    if (slash == std::string::npos) {
        return ".";
    }
    return slash == 0 ? "/" : path.substr(0, slash);
}

Error FileError(std::string_view what, const std::string& path, int error_number) {
    return MakeError(ErrorCode::kUnavailable, "amocrm token store {}: cannot {}: {}", path, what,
                     std::strerror(error_number));
}

void SyncDirectory(const std::string& path) {
    const int dir = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
        ::fsync(dir);
        ::close(dir);
    }
}

bool WriteAll(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t written = ::write(fd, data.data(), data.size());
        if (written < 0) {
            if (errno == EINTR) {
                continue;
            }
            return false;
        }
        data.remove_prefix(static_cast<std::size_t>(written));
    }
    return true;
}

}  // namespace

FileTokenStore::FileTokenStore(std::string path) : path_(std::move(path)) {}

Result<std::optional<OAuthTokens>> FileTokenStore::Load() {
    std::lock_guard lock(mutex_);
    struct stat info {};
    if (::stat(path_.c_str(), &info) != 0) {
        if (errno == ENOENT) {
            return std::optional<OAuthTokens>{};
        }
        return FileError("read it", path_, errno);
    }
    std::ifstream in(path_, std::ios::binary);
    if (!in) {
        return FileError("read it", path_, errno != 0 ? errno : EACCES);
    }
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const nlohmann::json parsed = nlohmann::json::parse(text, nullptr, false);
    // The error names the file only: its content is secret.
    auto malformed = [this] {
        return MakeError(ErrorCode::kInvalidInput,
                         "amocrm token store {}: not a token file (expected access_token, "
                         "refresh_token, expires_at)",
                         path_);
    };
    if (parsed.is_discarded() || !parsed.is_object()) {
        return malformed();
    }
    const auto access = parsed.find("access_token");
    const auto refresh = parsed.find("refresh_token");
    const auto expires = parsed.find("expires_at");
    if (access == parsed.end() || !access->is_string() || refresh == parsed.end() ||
        !refresh->is_string() || expires == parsed.end() || !expires->is_number_integer()) {
        return malformed();
    }
    return std::optional<OAuthTokens>{OAuthTokens{
        .access_token = access->get<std::string>(),
        .refresh_token = refresh->get<std::string>(),
        .expires_at = FromEpoch(expires->get<std::int64_t>()),
    }};
}

Result<void> FileTokenStore::Save(const OAuthTokens& tokens) {
    std::lock_guard lock(mutex_);
    const nlohmann::json document = {{"access_token", tokens.access_token},
                                     {"refresh_token", tokens.refresh_token},
                                     {"expires_at", ToEpoch(tokens.expires_at)},
                                     {"token_type", "Bearer"}};
    const std::string text = document.dump(2) + "\n";
    // The folder (funnelguard-tokens/ next to the database) is created on the first save, for
    // its owner only; an existing one keeps its mode.
    const std::string folder = DirectoryOf(path_);
    if (::mkdir(folder.c_str(), 0700) == 0) {
        if (::chmod(folder.c_str(), 0700) != 0) {  // mkdir() applies the umask
            return FileError("make its folder mode 0700", path_, errno);
        }
        SyncDirectory(DirectoryOf(folder));  // the new folder outlives a crash, like the file
    } else if (errno != EEXIST) {
        return FileError("create its folder", path_, errno);
    }
    const std::string temp = fmt::format("{}.tmp.{}", path_, ::getpid());
    // O_EXCL after an unlink: never write secrets into a file someone else prepared.
    ::unlink(temp.c_str());
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        return FileError("create a temporary file next to it", path_, errno);
    }
    // open() honours the umask, which can only narrow 0600; fchmod makes it exact regardless.
    if (::fchmod(fd, 0600) != 0 || !WriteAll(fd, text) || ::fsync(fd) != 0) {
        const int saved = errno;
        ::close(fd);
        ::unlink(temp.c_str());
        return FileError("write it", path_, saved);
    }
    if (::close(fd) != 0) {
        const int saved = errno;
        ::unlink(temp.c_str());
        return FileError("write it", path_, saved);
    }
    if (::rename(temp.c_str(), path_.c_str()) != 0) {
        const int saved = errno;
        ::unlink(temp.c_str());
        return FileError("replace it", path_, saved);
    }
    // The rename is durable only once the folder is synced.
    SyncDirectory(folder);
    return Ok{};
}

std::string TokenRequestBody(const OAuthApp& app, std::string_view grant, std::string_view value) {
    nlohmann::json body = {{"client_id", app.client_id},
                           {"client_secret", app.client_secret},
                           {"grant_type", grant},
                           {"redirect_uri", app.redirect_uri}};
    body[grant == "authorization_code" ? "code" : "refresh_token"] = value;
    return body.dump();
}

Result<OAuthTokens> ParseTokenResponse(std::string_view body, Timestamp now) {
    const nlohmann::json parsed = nlohmann::json::parse(body, nullptr, false);
    auto bad = [] {
        return MakeError(ErrorCode::kUnavailable,
                         "amoCRM token endpoint: the answer lacks access_token, refresh_token or "
                         "expires_in");
    };
    if (parsed.is_discarded() || !parsed.is_object()) {
        return bad();
    }
    const auto access = parsed.find("access_token");
    const auto refresh = parsed.find("refresh_token");
    const auto expires_in = parsed.find("expires_in");
    if (access == parsed.end() || !access->is_string() || access->get<std::string>().empty() ||
        refresh == parsed.end() || !refresh->is_string() || expires_in == parsed.end() ||
        !expires_in->is_number()) {
        return bad();
    }
    const auto seconds = expires_in->get<double>();
    if (!(seconds > 0 && seconds < 1e9)) {
        return bad();
    }
    return OAuthTokens{.access_token = access->get<std::string>(),
                       .refresh_token = refresh->get<std::string>(),
                       .expires_at = now + Duration{static_cast<std::int64_t>(seconds)}};
}

Result<void> AuthorizeWithCode(const ClientOptions& options, std::string_view code) {
    if (auto valid = Client::Validate(options); !valid) {
        return valid.error();
    }
    Client client(options);
    return client.ExchangeCode(code);
}

}  // namespace fg::adapters::amocrm
