#pragma once

#include <memory>
#include <string>

#include "src/config/config.hpp"
#include "src/config/section.hpp"

namespace fg::adapters::bitrix24::notify {

/// `[tenant.chat] bitrix24_notify = true`: people hear through Bitrix24's own notifications
/// (im.notify.system.add), sent through the tenant's `[tenant.bitrix24]` client. Nothing else to
/// set: the portal, credentials and limits are the CRM section's.
struct NotifySettings final : config::ChannelSettings {};

/// The switch and the person key.
inline constexpr const char* kSwitchKey = "bitrix24_notify";
inline constexpr const char* kPersonKey = "bitrix24_user";

/// Reads bitrix24_notify through `chat`: settings when it is true, null when false or absent.
std::shared_ptr<const config::ChannelSettings> ParseSettings(config::TableReader& chat,
                                                             const std::string& base_dir);

/// A Bitrix24 user id as the config writes it ("7"): a problem, or empty.
std::string CheckUserId(const std::string& address);

/// A person's Bitrix24 user id when `bitrix24_user` is absent: their crm_user when it is a user
/// id (Bitrix24 tenants name people by id); empty for a person named by display name, who needs
/// `bitrix24_user` (or is covered by their head).
std::string ImpliedUserId(const config::Person& person);

}  // namespace fg::adapters::bitrix24::notify
