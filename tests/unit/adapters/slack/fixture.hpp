#pragma once

// The Slack notifier's tests: a fake webhook service on loopback, a manual clock, and a
// channel of a tenant whose people's addresses are the fake's hooks.

#include <memory>
#include <string>

#include <doctest/doctest.h>

#include "adapters/slack/channel.hpp"
#include "adapters/slack/fake/fake_slack.hpp"

namespace fg::adapters::slack::testing {

class SlackFixture {
public:
    SlackFixture()
        : clock_(FromEpoch(1767000000)), fake_(fake::FakeSlackOptions{.clock = &clock_}) {
        REQUIRE(fake_.Start());
    }

    std::unique_ptr<SlackChannel> Channel(ChannelOptions options = {},
                                          const std::string& locale = "ru") {
        return std::make_unique<SlackChannel>("acme", SlackSettings{}, locale, clock_, options);
    }

    ManualClock& clock() { return clock_; }
    fake::FakeSlack& fake() { return fake_; }

private:
    ManualClock clock_;
    fake::FakeSlack fake_;
};

inline notify::Message TextMessage(const std::string& text) {
    notify::Message message;
    message.blocks.push_back(notify::Block{.spans = {notify::Span{.text = text}}});
    return message;
}

inline notify::Outgoing To(const std::string& hook, notify::Message message,
                           const std::string& key = "test:1") {
    return notify::Outgoing{
        .to = notify::Address{.value = hook}, .message = std::move(message), .key = key};
}

/// The part of a webhook URL that is the credential (its path).
inline std::string SecretOf(const std::string& hook) {
    const auto services = hook.find("/services/");
    const auto hooks = hook.find("/hooks/");
    return hook.substr(services != std::string::npos ? services : hooks);
}

}  // namespace fg::adapters::slack::testing
