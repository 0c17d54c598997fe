#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "src/config/config.hpp"
#include "src/config/section.hpp"

namespace fg::adapters::slack {

/// The Slack keys of `[tenant.chat]`: how fast each webhook may be written to.
struct SlackSettings final : config::ChannelSettings {
    /// Posts per second per webhook URL (Slack: "no more than one message per second").
    double rate = 1.0;
};

/// Reads slack_rate through `chat`, reporting its problems. Never null: a tenant with a
/// [tenant.chat] may use webhooks with the defaults (the loader decides whether anyone has one).
std::shared_ptr<const config::ChannelSettings> ParseSettings(config::TableReader& chat,
                                                             const std::string& base_dir);

/// A webhook URL as the config writes it: https://, or http:// to a loopback host; a host and a
/// path, no user:password@. A problem that never repeats the URL (it is a credential), or empty.
std::string CheckWebhookUrl(const std::string& address);

/// What an error or a log may say of a webhook URL: its scheme and host,
/// "https://hooks.slack.com/…".
std::string ShownUrl(std::string_view address);

}  // namespace fg::adapters::slack
