#include "adapters/slack/notifier.hpp"

#include "adapters/slack/channel.hpp"
#include "adapters/slack/config.hpp"

namespace fg::adapters::slack {
namespace {

class SlackNotifier final : public notify::Notifier {
public:
    std::string_view Name() const override { return "slack"; }
    config::NotifierSchema Schema() const override { return slack::Schema(); }
    std::unique_ptr<notify::Channel> MakeChannel(const config::TenantConfig& tenant,
                                                 const Clock& clock) const override {
        const SlackSettings* settings = tenant.ChannelSettingsAs<SlackSettings>("slack");
        return std::make_unique<SlackChannel>(
            tenant.id, settings != nullptr ? *settings : SlackSettings{}, tenant.locale, clock);
    }
};

}  // namespace

config::NotifierSchema Schema() {
    return config::NotifierSchema{
        .name = "slack",
        .person_key = "slack_webhook",
        .team_key = "slack_webhook",
        .secret_addresses = true,
        .links_by_code = false,
        .check_address = CheckWebhookUrl,
        .parse = ParseSettings,
    };
}

const notify::Notifier& Notifier() {
    static const SlackNotifier notifier;
    return notifier;
}

}  // namespace fg::adapters::slack
