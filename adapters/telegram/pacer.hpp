#pragma once

#include <map>
#include <mutex>
#include <string>

#include "src/common/clock.hpp"
#include "src/common/time.hpp"

namespace fg::adapters::telegram {

/// The pace the notifier keeps, a little under Telegram's flood limits (reference/chat.md
/// §4.1), so that they are kept rather than discovered by 429s.
struct PaceLimits {
    double chat_per_second = 1;  // a private chat
    double chat_burst = 3;
    Duration group_interval{3};  // a group (chat id < 0): one message each, no burst (20/min)
    // The whole bot: Telegram allows about 30 a second. Not 30: the pace is kept in the whole
    // seconds of the injected clock, so a send read in one second may reach Telegram in the next
    // and count there; one less leaves room for it (bench/README.md "Chat").
    double bot_per_second = 29;
};

/// Token buckets per chat and for the bot, on the injected clock. Thread-safe.
class Pacer {
public:
    Pacer(const Clock& clock, PaceLimits limits = {});

    /// How long a message to `chat` must wait; zero: it may go now.
    Duration WaitFor(const std::string& chat, bool group);
    /// A message to `chat` goes now: takes its tokens (even when it had to wait: the next one
    /// waits the longer).
    void Take(const std::string& chat, bool group);
    /// Telegram said 429 for `chat`: it waits `wait`; when 429s repeat within a minute, the
    /// whole bot waits too.
    void Refused(const std::string& chat, Duration wait);

private:
    struct Bucket {
        double tokens = 0;
        Timestamp at{};
        Timestamp paused_until{};
    };
    Bucket& BucketOf(const std::string& chat, bool group, Timestamp now);
    static void Refill(Bucket& bucket, double rate, double burst, Timestamp now);
    static Duration Until(const Bucket& bucket, double rate, Timestamp now);

    const Clock& clock_;
    PaceLimits limits_;
    std::mutex mutex_;
    Bucket bot_{};
    std::map<std::string, Bucket> chats_;
    Timestamp last_refused_{};
};

}  // namespace fg::adapters::telegram
