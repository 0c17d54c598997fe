#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "src/config/config.hpp"
#include "src/config/section.hpp"

namespace fg::adapters::telegram {

/// The Telegram keys of `[tenant.chat]`: the tenant's bot and where its API is.
struct TelegramSettings final : config::ChannelSettings {
    std::string bot_token{};                           // a secret: never logged, never in an error
    std::string api_url = "https://api.telegram.org";  // without a trailing '/'
};

/// Reads telegram_bot_token and telegram_api_url through `chat`, reporting every problem; null
/// when the tenant uses no Telegram (neither key is set).
std::shared_ptr<const config::ChannelSettings> ParseSettings(config::TableReader& chat,
                                                             const std::string& base_dir);

/// A bot token as @BotFather gives it ("<bot id>:<secret>", reference/chat.md §1.8): the bot id
/// digits not starting with 0, the secret of letters, digits, '_' and '-', at most 80 in all.
bool IsWellFormedToken(std::string_view token);

/// A chat id as the config writes it: an integer, a group's negative. A problem, or empty.
std::string CheckChatId(const std::string& address);

}  // namespace fg::adapters::telegram
