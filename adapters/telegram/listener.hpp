#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "adapters/telegram/bot_api.hpp"
#include "adapters/telegram/channel.hpp"
#include "adapters/telegram/config.hpp"
#include "adapters/telegram/pacer.hpp"
#include "src/notify/port.hpp"

namespace fg::adapters::telegram {

struct ListenerSetup {
    std::string tenant{};
    TelegramSettings settings{};
    std::string locale{};
    const Clock* clock = nullptr;
    ChannelOptions options{};
    std::shared_ptr<BotApi> replies{};  // the channel's: replies and edits go through it
    Pacer* pacer = nullptr;             // the channel's: replies take their tokens
};

/// Long polling of one bot (reference/chat.md §1.9, §1.10) on a thread of its own: /start CODE
/// in a private chat links the person (Inbound::Link) and gets the reply; a button press goes
/// to Inbound::Press, is always answered, and its note is added to the message. The cursor is
/// saved after each batch. Stop ends it within about a second: it ends the pending long poll the
/// way Telegram does, with a poll of its own.
class Listener {
public:
    Listener(ListenerSetup setup, notify::Inbound& inbound);
    ~Listener();
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

    void Start();
    /// After it returns, nothing calls `inbound`, the pacer or the reply API again.
    void Stop();

    struct State;

private:
    std::shared_ptr<State> state_;
    std::thread thread_;
};

}  // namespace fg::adapters::telegram
