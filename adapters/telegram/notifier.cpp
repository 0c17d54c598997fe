#include "adapters/telegram/notifier.hpp"

#include "adapters/telegram/channel.hpp"
#include "adapters/telegram/config.hpp"

namespace fg::adapters::telegram {
namespace {

class TelegramNotifier final : public notify::Notifier {
public:
    std::string_view Name() const override { return "telegram"; }
    config::NotifierSchema Schema() const override { return telegram::Schema(); }
    std::unique_ptr<notify::Channel> MakeChannel(const config::TenantConfig& tenant,
                                                 const Clock& clock) const override {
        // A tenant without settings gets a channel that says so at Check and refuses sends as
        // kChannelGone: its messages stay queued until the config is fixed.
        const TelegramSettings* settings = tenant.ChannelSettingsAs<TelegramSettings>("telegram");
        return std::make_unique<TelegramChannel>(
            tenant.id, settings != nullptr ? *settings : TelegramSettings{}, tenant.locale, clock);
    }
};

}  // namespace

config::NotifierSchema Schema() {
    return config::NotifierSchema{
        .name = "telegram",
        .person_key = "telegram",
        .team_key = "chat",
        .secret_addresses = false,
        .links_by_code = true,
        .check_address = CheckChatId,
        .parse = ParseSettings,
    };
}

const notify::Notifier& Notifier() {
    static const TelegramNotifier notifier;
    return notifier;
}

}  // namespace fg::adapters::telegram
