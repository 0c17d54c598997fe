#include "adapters/slack/config.hpp"

#include <fmt/format.h>

#include "src/http/url.hpp"
#include "src/tls/trust.hpp"

namespace fg::adapters::slack {
namespace {

// Slack allows about one a second; a self-hosted Mattermost may allow more, never unbounded.
constexpr double kMaxRate = 10;

}  // namespace

std::string CheckWebhookUrl(const std::string& address) {
    auto url = http::ParseUrl(address);
    if (!url) {
        return fmt::format(
            "is not a webhook URL ({}); expected e.g. "
            "\"https://hooks.slack.com/services/T…/B…/…\"",
            url.error().message);
    }
    if (url->has_userinfo) {
        return "a webhook URL must not hold user:password@";
    }
    if (url->path.empty() || url->path == "/") {
        return "a webhook URL has a path (Slack: /services/T…/B…/…, Mattermost: /hooks/…)";
    }
    if (!url->https() && !tls::IsLoopbackHost(url->host)) {
        return "http:// would send the webhook URL, a credential, unencrypted: use https:// (or "
               "http:// to a loopback address only)";
    }
    return {};
}

std::string ShownUrl(std::string_view address) {
    auto url = http::ParseUrl(address);
    if (!url) {
        return "a webhook";
    }
    return fmt::format("{}://{}/…", url->scheme, url->host);
}

std::shared_ptr<const config::ChannelSettings> ParseSettings(config::TableReader& chat,
                                                             const std::string& base_dir) {
    (void)base_dir;
    auto settings = std::make_shared<SlackSettings>();
    if (chat.table().get("slack_rate") == nullptr) {
        chat.Known("slack_rate");
        return settings;
    }
    if (auto rate = chat.Number("slack_rate")) {
        if (!(*rate > 0) || *rate > kMaxRate) {
            chat.Problem("slack_rate",
                         fmt::format("must be above 0 and at most {} posts a second per webhook "
                                     "(Slack allows about 1)",
                                     kMaxRate));
        } else {
            settings->rate = *rate;
        }
    }
    return settings;
}

}  // namespace fg::adapters::slack
