#pragma once

#include "src/notify/port.hpp"

namespace fg::adapters::slack {

/// The Slack-compatible webhook notifier (reference/chat.md §2, §4): each person's or team's
/// address is an incoming webhook URL of Slack, Mattermost or Rocket.Chat.
const notify::Notifier& Notifier();

/// Its config schema: `slack_webhook` on [[tenant.person]] and [[tenant.team]], secret
/// addresses, no linking, and slack_rate in [tenant.chat].
config::NotifierSchema Schema();

}  // namespace fg::adapters::slack
