#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "src/common/result.hpp"
#include "src/common/time.hpp"

namespace fg::adapters::amocrm {

struct ClientOptions;

/// The integration's OAuth 2.0 credentials (amoCRM "Keys and scopes").
struct OAuthApp {
    std::string client_id{};
    std::string client_secret{};
    std::string redirect_uri{};
};

/// One access/refresh pair. amoCRM rotates the refresh token on every refresh.
struct OAuthTokens {
    std::string access_token{};
    std::string refresh_token{};
    Timestamp expires_at{};  // when the access token stops working
};

/// Where a tenant's OAuth tokens live between runs. Never the database: tokens are secrets.
/// Implementations must be thread-safe.
class TokenStore {
public:
    virtual ~TokenStore() = default;
    /// nullopt when nothing was stored yet; an error when the store cannot be read.
    virtual Result<std::optional<OAuthTokens>> Load() = 0;
    /// Persists durably before returning: the caller uses the new pair only after this succeeds.
    virtual Result<void> Save(const OAuthTokens& tokens) = 0;
};

/// A JSON file `{"access_token","refresh_token","expires_at"}` (expires_at in unix seconds),
/// replaced atomically (temporary file in the same folder, fsync, rename, fsync of the folder)
/// with mode 0600; its folder is created mode 0700 when missing (its parent must exist). Errors
/// name the file, never its content.
class FileTokenStore final : public TokenStore {
public:
    explicit FileTokenStore(std::string path);
    Result<std::optional<OAuthTokens>> Load() override;
    Result<void> Save(const OAuthTokens& tokens) override;
    const std::string& path() const { return path_; }

private:
    std::mutex mutex_;
    std::string path_;
};

/// The JSON body of POST /oauth2/access_token: `grant` is "authorization_code" (then `value` is
/// the code) or "refresh_token" (then it is the refresh token).
std::string TokenRequestBody(const OAuthApp& app, std::string_view grant, std::string_view value);

/// Reads a token endpoint answer (`access_token`, `refresh_token`, `expires_in`). The error
/// never repeats the body.
Result<OAuthTokens> ParseTokenResponse(std::string_view body, Timestamp now);

/// `funnelguard amocrm auth --tenant T --code CODE`: exchanges an authorization code (it lives
/// 20 minutes) for tokens and saves them in `options.token_store`. Needs `options.oauth` and a
/// token store. Errors never contain the code, the client secret or the tokens.
Result<void> AuthorizeWithCode(const ClientOptions& options, std::string_view code);

}  // namespace fg::adapters::amocrm
