#include "adapters/telegram/config.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>

#include "src/tls/trust.hpp"

namespace fg::adapters::telegram {
namespace {

constexpr std::size_t kMaxTokenLength = 80;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

bool IsWellFormedToken(std::string_view token) {
    const auto colon = token.find(':');
    if (colon == std::string_view::npos || colon == 0 || token.size() > kMaxTokenLength ||
        token.front() == '0') {
        return false;
    }
    const std::string_view id = token.substr(0, colon);
    const std::string_view secret = token.substr(colon + 1);
    return std::all_of(id.begin(), id.end(), IsDigit) && !secret.empty() &&
           std::all_of(secret.begin(), secret.end(), [](char c) {
               return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                      c == '-';
           });
}

std::string CheckChatId(const std::string& address) {
    std::int64_t id = 0;
    const char* end = address.data() + address.size();
    const auto [last, error] = std::from_chars(address.data(), end, id);
    if (address.empty() || error != std::errc{} || last != end || id == 0 ||
        address.front() == '+') {
        return "a Telegram chat id is an integer (a person's is positive, a group's negative), "
               "e.g. \"123456789\" or \"-1001234567890\"";
    }
    return {};
}

std::shared_ptr<const config::ChannelSettings> ParseSettings(config::TableReader& chat,
                                                             const std::string& base_dir) {
    (void)base_dir;
    const toml::table& table = chat.table();
    const bool has_token = table.get("telegram_bot_token") != nullptr;
    const bool has_url = table.get("telegram_api_url") != nullptr;
    chat.Known("telegram_bot_token");
    chat.Known("telegram_api_url");
    if (!has_token && !has_url) {
        return nullptr;
    }
    auto settings = std::make_shared<TelegramSettings>();
    if (!has_token) {
        chat.Problem("telegram_bot_token",
                     "required with telegram_api_url: the tenant's bot token from @BotFather "
                     "(keep it out of the file: \"${NAME}\")");
    } else if (auto token = chat.String("telegram_bot_token")) {
        // The value is a secret: no problem text repeats it, not even in part.
        if (token->empty()) {
            chat.Problem("telegram_bot_token", "must not be empty");
        } else if (!IsWellFormedToken(*token)) {
            chat.Problem("telegram_bot_token",
                         "is not a Telegram bot token (expected \"<bot id>:<secret>\" as "
                         "@BotFather gives it, at most 80 characters)");
        } else {
            settings->bot_token = *token;
        }
    }
    if (has_url) {
        if (auto url = chat.String("telegram_api_url")) {
            while (!url->empty() && url->back() == '/') {
                url->pop_back();
            }
            if (!config::IsHttpUrl(*url)) {
                chat.Problem("telegram_api_url", "must be an http:// or https:// URL");
            } else if (!config::PartsOf(*url).https &&
                       !tls::IsLoopbackHost(config::PartsOf(*url).host)) {
                // Every call's path holds the bot token.
                chat.Problem("telegram_api_url",
                             "http:// would send the bot token unencrypted: use https://, or "
                             "http:// to a loopback address only (a fake, a local Bot API "
                             "server)");
            } else if (config::PartsOf(*url).has_userinfo || url->find('?') != std::string::npos) {
                chat.Problem("telegram_api_url",
                             "must be the API's address alone, without user:password@ or a "
                             "query");
            } else {
                settings->api_url = *url;
            }
        }
    }
    return settings;
}

}  // namespace fg::adapters::telegram
