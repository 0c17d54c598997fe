#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "adapters/slack/config.hpp"
#include "adapters/slack/pacer.hpp"
#include "adapters/slack/render.hpp"
#include "src/http/client.hpp"
#include "src/notify/port.hpp"

namespace fg::adapters::slack {

/// The limits and timings of a channel; the defaults are production's.
struct ChannelOptions {
    PostLimits posts{};
    double burst = 2;  // posts a webhook may take at once before the rate applies
    Duration connect_timeout{5};
    /// Per read of the answer: generous, since a short one manufactures ambiguous sends
    /// (chat.md §4.4).
    Duration read_timeout{30};
};

/// One tenant's Slack-compatible webhooks (notify::Channel): every person's or team's address
/// is a webhook URL of Slack, Mattermost or Rocket.Chat. Sends mrkdwn text plus Slack blocks as
/// JSON, paced per URL. The URL is a credential: no error or log holds more than its host.
/// Thread-safe.
class SlackChannel final : public notify::Channel {
public:
    /// `locale` ("ru", "en") is the language of the hints it writes itself; `clock` outlives it.
    SlackChannel(std::string tenant, const SlackSettings& settings, std::string locale,
                 const Clock& clock, ChannelOptions options = {});

    notify::SendResult Send(const notify::Outgoing& outgoing) override;
    Duration WaitFor(const notify::Address& to) override;

private:
    struct Answer;
    http::Client* ClientFor(const http::Url& url, std::string& error);
    Answer PostOne(http::Client& client, const http::Url& url, const Post& post, bool with_blocks);
    notify::SendResult Failed(const Answer& answer, const std::string& hook,
                              const std::string& what);

    std::string tenant_;
    SlackSettings settings_;
    std::string locale_;
    const Clock& clock_;
    ChannelOptions options_;
    Pacer pacer_;
    std::mutex mutex_;
    std::map<std::string, std::unique_ptr<http::Client>> clients_;  // by "scheme://host:port"
    /// How many posts of a split message already landed, by idempotency key and URL: a retry
    /// after a refusal part-way (a 429) resumes after them instead of repeating them.
    std::map<std::string, std::size_t> landed_;
};

}  // namespace fg::adapters::slack
