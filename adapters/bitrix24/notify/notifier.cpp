#include "adapters/bitrix24/notify/notifier.hpp"

#include "adapters/bitrix24/notify/channel.hpp"
#include "adapters/bitrix24/notify/config.hpp"
#include "adapters/bitrix24/portal_client.hpp"

namespace fg::adapters::bitrix24::notify {
namespace {

class Bitrix24Notifier final : public fg::notify::Notifier {
public:
    std::string_view Name() const override { return "bitrix24"; }
    config::NotifierSchema Schema() const override { return notify::Schema(); }
    std::unique_ptr<fg::notify::Channel> MakeChannel(const config::TenantConfig& tenant,
                                                     const Clock& clock) const override {
        return std::make_unique<NotifyChannel>(tenant.id, PortalClient(tenant, clock),
                                               tenant.locale);
    }
};

}  // namespace

config::NotifierSchema Schema() {
    return config::NotifierSchema{
        .name = "bitrix24",
        .person_key = kPersonKey,
        .team_key = {},
        .secret_addresses = false,
        .links_by_code = false,
        .check_address = CheckUserId,
        .parse = ParseSettings,
        .implied_address = ImpliedUserId,
        .crm = "bitrix24",
        .switch_key = kSwitchKey,
    };
}

const fg::notify::Notifier& Notifier() {
    static const Bitrix24Notifier notifier;
    return notifier;
}

}  // namespace fg::adapters::bitrix24::notify
