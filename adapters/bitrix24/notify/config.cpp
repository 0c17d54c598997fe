#include "adapters/bitrix24/notify/config.hpp"

#include <fmt/format.h>

namespace fg::adapters::bitrix24::notify {
namespace {

bool IsUserId(const std::string& text) {
    return !text.empty() && text.size() <= 18 && text.front() != '0' &&
           text.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace

std::shared_ptr<const config::ChannelSettings> ParseSettings(config::TableReader& chat,
                                                             const std::string& base_dir) {
    (void)base_dir;
    if (chat.table().get(kSwitchKey) == nullptr) {
        chat.Known(kSwitchKey);
        return nullptr;
    }
    bool on = false;
    chat.Read(kSwitchKey, on);
    if (!on) {
        return nullptr;
    }
    return std::make_shared<NotifySettings>();
}

std::string CheckUserId(const std::string& address) {
    if (IsUserId(address)) {
        return {};
    }
    return fmt::format(
        "must be a Bitrix24 user id (a positive number as the portal shows it in the user's "
        "profile address /company/personal/user/<id>/), not \"{}\"",
        address);
}

std::string ImpliedUserId(const config::Person& person) {
    return IsUserId(person.crm_user) ? person.crm_user : std::string{};
}

}  // namespace fg::adapters::bitrix24::notify
