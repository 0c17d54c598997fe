#pragma once

#include "src/notify/port.hpp"

namespace fg::adapters::telegram {

/// The Telegram notifier (reference/chat.md §1, §4): a tenant's bot, its people's private chats
/// and its teams' groups.
const notify::Notifier& Notifier();

/// Its config schema: `telegram` on [[tenant.person]], `chat` on [[tenant.team]], links by
/// /start CODE, and the telegram_* keys of [tenant.chat].
config::NotifierSchema Schema();

}  // namespace fg::adapters::telegram
