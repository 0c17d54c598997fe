#pragma once

#include <map>
#include <mutex>
#include <string>

#include "src/common/clock.hpp"
#include "src/common/time.hpp"

namespace fg::adapters::slack {

/// A token bucket per webhook URL on the injected clock (chat.md §2.4, §4.1: 1 a second, a
/// small burst), so that Slack's limit is kept rather than discovered by 429s. Thread-safe.
class Pacer {
public:
    Pacer(const Clock& clock, double per_second, double burst);

    /// How long a post to `hook` must wait; zero: it may go now.
    Duration WaitFor(const std::string& hook);
    /// A post to `hook` goes now: takes a token (a split message takes one a part, so the
    /// next message waits the longer).
    void Take(const std::string& hook);
    /// The hook answered 429: nothing goes to it for `wait`.
    void Refused(const std::string& hook, Duration wait);

private:
    struct Bucket {
        double tokens = 0;
        Timestamp at{};
        Timestamp paused_until{};
    };
    Bucket& BucketOf(const std::string& hook, Timestamp now);

    const Clock& clock_;
    double per_second_;
    double burst_;
    std::mutex mutex_;
    std::map<std::string, Bucket> hooks_;
};

}  // namespace fg::adapters::slack
