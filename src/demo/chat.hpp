#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "src/common/clock.hpp"
#include "src/common/result.hpp"

namespace fg::adapters::telegram::fake {
class FakeBotApi;
}

// The chat half of `funnelguard demo`: a fake Telegram on loopback (the tests' fg_telegram_fake,
// its flood limits on), the people it serves (every simulated CRM user a manager with a private
// chat, a head of sales with the team's group chat) and the narration of what each of them
// receives, message by message, as a person reads it.
namespace fg::demo {

/// Who reads a chat of the demo's fake Telegram.
struct ChatReader {
    std::string crm_user{};  // empty for the team's group
    std::string name{};      // the person's name, or the group's title
    enum class Role { kManager, kHead, kGroup } role = Role::kManager;
    std::int64_t chat_id = 0;
};

/// How wide the narration of a message is, in letters: the demo's lines are for an 80- to
/// 120-column terminal, and a fixed width keeps the output the same everywhere.
inline constexpr std::size_t kChatWidth = 100;

/// `text` broken into lines of at most `width` letters (UTF-8), at spaces where it can; its own
/// line breaks are kept and a word longer than `width` is cut. Exposed for tests.
std::vector<std::string> Wrap(const std::string& text, std::size_t width);

class DemoChat {
public:
    /// `managers`: CRM user id -> name (crm::DemoAccount::UserNames); the fake's dates and
    /// limits run on `clock`, which must outlive this.
    DemoChat(const Clock& clock, const std::map<std::string, std::string>& managers);
    ~DemoChat();
    DemoChat(const DemoChat&) = delete;
    DemoChat& operator=(const DemoChat&) = delete;

    /// Starts the fake Telegram on 127.0.0.1 with every reader's chat.
    Result<void> Start();
    void Stop();

    /// `[tenant.chat]` (the fake's bot token and URL), a `[[tenant.person]]` per reader and the
    /// `[[tenant.team]]`: the TOML the demo's config takes.
    std::string ConfigSection() const;
    const std::vector<ChatReader>& readers() const { return readers_; }

    /// The messages the fake accepted since the last call, in the order it accepted them, as
    /// narration lines: "HH:MM    ✉ <who>", then the text as the reader sees it (no markup),
    /// indented and wrapped, and the buttons' labels; times in `time_zone`.
    std::vector<std::string> NewMessages(const std::string& time_zone);
    /// The closing figures: messages per reader (and what kind), their total, and the 429s the
    /// fake answered.
    std::vector<std::string> Figures() const;
    /// Messages the fake accepted so far, and sends it refused with 429.
    std::size_t MessageCount() const;
    int TooManyRequests() const;

private:
    const ChatReader* ReaderOf(std::int64_t chat_id) const;
    std::string Who(const ChatReader& reader) const;

    const Clock& clock_;
    std::vector<ChatReader> readers_;
    std::unique_ptr<adapters::telegram::fake::FakeBotApi> telegram_;
    std::size_t narrated_ = 0;
    std::map<std::int64_t, std::map<std::string, int>> kinds_;  // chat -> kind -> messages
};

}  // namespace fg::demo
