#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "adapters/telegram/bot_api.hpp"
#include "adapters/telegram/config.hpp"
#include "adapters/telegram/pacer.hpp"
#include "adapters/telegram/render.hpp"
#include "src/notify/port.hpp"

namespace fg::adapters::telegram {

class Listener;

/// The timings of a channel; the defaults are production's, tests shorten the back-offs.
struct ChannelOptions {
    PaceLimits pace{};
    PartLimits parts{};
    /// Per read of a send's answer: generous, since a short one manufactures ambiguous sends
    /// (reference/chat.md §4.4).
    Duration send_timeout{35};
    Duration poll_timeout{25};     // getUpdates' timeout; the read timeout is 10 s more
    Duration conflict_backoff{3};  // after a 409 (another poller, a webhook): at least 3 s
    Duration error_backoff{1};     // after a failed poll, doubling up to max_backoff
    Duration max_backoff{30};
};

/// One tenant's bot (notify::Channel): sends as Telegram HTML within Telegram's limits, and
/// listens for /start CODE and button presses by long polling. Thread-safe.
class TelegramChannel final : public notify::Channel {
public:
    /// `locale` ("ru", "en") is the language of the hints it writes itself; `clock` outlives it.
    TelegramChannel(std::string tenant, const TelegramSettings& settings, std::string locale,
                    const Clock& clock, ChannelOptions options = {});
    ~TelegramChannel() override;
    TelegramChannel(const TelegramChannel&) = delete;
    TelegramChannel& operator=(const TelegramChannel&) = delete;

    notify::SendResult Send(const notify::Outgoing& outgoing) override;
    Duration WaitFor(const notify::Address& to) override;
    std::string Check() override;
    std::string LinkUrl(std::string_view code) const override;
    void Listen(notify::Inbound& inbound) override;
    void Stop() override;

private:
    struct PartOutcome;
    PartOutcome SendPart(std::string& chat, bool group, const Part& part,
                         const notify::Message& message, bool last, notify::SendResult& result);
    notify::SendResult Failed(const ApiAnswer& answer, const std::string& chat, bool sent_any,
                              const std::string& what);

    std::string tenant_;
    TelegramSettings settings_;
    std::string locale_;
    const Clock& clock_;
    ChannelOptions options_;
    std::shared_ptr<BotApi> api_;  // null when it cannot work: setup_error_ says why
    std::string setup_error_;
    Pacer pacer_;
    mutable std::mutex mutex_;
    std::string username_;  // from getMe (Check)
    std::unique_ptr<Listener> listener_;
};

/// Whether `address` is a group chat (its id is negative, or the core says so).
bool IsGroup(const notify::Address& address);

}  // namespace fg::adapters::telegram
