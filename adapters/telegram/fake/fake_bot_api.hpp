#pragma once

// A fake Telegram Bot API (reference/chat.md §1): a real HTTP server on 127.0.0.1 that speaks
// /bot<token>/<method> with Telegram's envelopes, error texts and flood limits, for the tests
// and the demo. Time (message dates, flood limits) comes from the injected clock, so minutes of
// limits pass in no time; a long poll waits in real time for an update or its timeout.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/common/clock.hpp"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace fg::adapters::telegram::fake {

struct FakeBotOptions {
    std::string token = "7000000001:AAFakeTokenForTestsOnly_abcdefghijk";
    std::string username = "fg_test_bot";
    std::int64_t bot_id = 7000000001;
    /// Message dates and flood limits; must outlive the fake. nullptr: the system clock.
    const Clock* clock = nullptr;
    bool enforce_limits = true;  // Telegram's flood limits (per chat, per group, per bot)
    /// The longest long poll (Telegram: 50 s); a test may lower it.
    std::chrono::seconds max_poll_timeout{50};
};

struct SentButton {
    std::string text{};
    std::string url{};
    std::string callback_data{};
};

/// A message the fake accepted (sendMessage), as the bot sent it.
struct SentMessage {
    std::int64_t chat_id = 0;
    std::int64_t message_id = 0;
    std::string text{};        // as sent (HTML included)
    std::string plain{};       // what a reader sees: tags removed, entities decoded
    std::string parse_mode{};  // as sent; empty: none
    std::vector<std::vector<SentButton>> buttons{};  // inline_keyboard rows
    bool silent = false;                             // disable_notification
    bool preview_disabled = false;                   // link_preview_options.is_disabled
    std::int64_t date = 0;
};

/// An editMessageText the fake accepted.
struct EditedMessage {
    std::int64_t chat_id = 0;
    std::int64_t message_id = 0;
    std::string text{};
    std::string parse_mode{};
    std::vector<std::vector<SentButton>> buttons{};  // the keyboard after the edit
};

struct AnsweredCallback {
    std::string callback_query_id{};
    std::string text{};
};

/// An error the next calls of `method` get instead of their answer (a 500, a 429 with the wait
/// in the header only...).
struct InjectedError {
    std::string method = "sendmessage";  // lower-case
    int error_code = 500;
    std::string description = "Internal Server Error";
    int retry_after = 0;              // > 0: sent as Retry-After (429)
    bool retry_after_in_body = true;  // also as parameters.retry_after
    int times = 1;
};

/// The fake server of one bot. Start() before use; every accessor is thread-safe.
class FakeBotApi {
public:
    explicit FakeBotApi(FakeBotOptions options = {});
    ~FakeBotApi();
    FakeBotApi(const FakeBotApi&) = delete;
    FakeBotApi& operator=(const FakeBotApi&) = delete;

    /// Binds 127.0.0.1:`port` (0: any free port) and serves on threads of its own; false when
    /// the port cannot be bound.
    bool Start(int port = 0);
    /// Ends pending long polls, stops serving and joins; idempotent (the destructor calls it).
    void Stop();
    int port() const { return port_; }
    /// "http://127.0.0.1:<port>": the telegram_api_url of a tenant using the fake.
    std::string Url() const;
    const FakeBotOptions& options() const { return options_; }

    // Chats the bot knows. A chat id < 0 is a group.
    void AddPrivateChat(std::int64_t chat_id, std::string first_name = "Test User");
    void AddGroup(std::int64_t chat_id, std::string title = "Test Group");
    /// The user blocks (or unblocks) the bot: sends answer 403, and a my_chat_member update
    /// is queued.
    void SetBlocked(std::int64_t chat_id, bool blocked);
    /// The group was upgraded: sends answer 400 with migrate_to_chat_id = `supergroup_id`,
    /// which becomes a known group.
    void Upgrade(std::int64_t group_id, std::int64_t supergroup_id);
    /// getUpdates answers 409 as while a webhook is set.
    void SetWebhookActive(bool active);
    void InjectError(InjectedError error);

    /// A user writes `text` to the bot in their private chat (made known if new), e.g.
    /// "/start K7mQ2x"; returns the update_id.
    std::int64_t InjectText(std::int64_t user_id, std::string text,
                            std::string first_name = "Test User");
    /// A user presses a callback button with `data` under message `message_id` of `chat_id`;
    /// returns the callback_query id.
    std::string InjectPress(std::int64_t user_id, std::string data, std::int64_t chat_id,
                            std::int64_t message_id, std::string first_name = "Test User");

    std::vector<SentMessage> Messages() const;
    std::vector<SentMessage> MessagesTo(std::int64_t chat_id) const;
    std::vector<EditedMessage> Edits() const;
    std::vector<AnsweredCallback> Answers() const;
    /// Sends refused with 429, to one chat / in all.
    int TooManyRequests(std::int64_t chat_id) const;
    int TooManyRequestsTotal() const;
    /// Every call that reached a method (any answer), by lower-case method name.
    int Calls(const std::string& method) const;
    /// getUpdates answered 409 (overlapping polls, webhook).
    int Conflicts() const;
    /// Updates not yet confirmed by a higher offset.
    std::size_t PendingUpdates() const;
    /// Long polls waiting now.
    int WaitingPolls() const;

    /// Waits (real time) until at least `count` messages were accepted; false at the deadline.
    bool WaitForMessages(std::size_t count, std::chrono::milliseconds timeout) const;
    bool WaitForAnswers(std::size_t count, std::chrono::milliseconds timeout) const;
    bool WaitForEdits(std::size_t count, std::chrono::milliseconds timeout) const;
    bool WaitForCalls(const std::string& method, int count,
                      std::chrono::milliseconds timeout) const;
    /// Waits until a long poll is waiting (the listener is polling).
    bool WaitForPoll(std::chrono::milliseconds timeout) const;

private:
    struct Chat;
    struct Answer;
    struct StoredMessage;

    void Handle(const httplib::Request& request, const std::string& body,
                httplib::Response& response);
    Answer Dispatch(const std::string& method, const nlohmann::json& params);
    Answer GetMe() const;
    Answer SendMessage(const nlohmann::json& params);
    Answer EditMessageText(const nlohmann::json& params);
    Answer AnswerCallbackQuery(const nlohmann::json& params);
    Answer GetUpdates(const nlohmann::json& params);
    std::optional<Answer> CheckLimits(std::int64_t chat_id);
    std::int64_t QueueUpdate(nlohmann::json update);  // its update_id
    nlohmann::json ChatJson(std::int64_t chat_id) const;
    std::int64_t Now() const;

    FakeBotOptions options_;
    SystemClock system_clock_;
    const Clock& clock_;
    std::unique_ptr<httplib::Server> server_;
    std::thread thread_;
    int port_ = -1;

    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    bool stopping_ = false;
    std::map<std::int64_t, std::unique_ptr<Chat>> chats_;
    std::vector<StoredMessage> stored_;
    std::vector<SentMessage> messages_;
    std::vector<EditedMessage> edits_;
    std::vector<AnsweredCallback> answers_;
    std::map<std::string, bool> callbacks_;  // id -> answered
    std::vector<InjectedError> injected_;
    std::vector<nlohmann::json> updates_;
    std::int64_t next_update_id_ = 100000;
    std::int64_t next_message_id_ = 1;
    std::int64_t next_callback_ = 1;
    std::optional<std::vector<std::string>> allowed_updates_;
    bool webhook_active_ = false;
    std::uint64_t poll_generation_ = 0;
    int waiting_polls_ = 0;
    int conflicts_ = 0;
    int too_many_total_ = 0;
    std::map<std::string, int> calls_;
    std::vector<std::int64_t> bot_sends_;  // send times, for the per-bot limit
};

}  // namespace fg::adapters::telegram::fake
