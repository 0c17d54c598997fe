#pragma once

#include "src/notify/port.hpp"

namespace fg::adapters::bitrix24::notify {

/// Bitrix24 notifications (reference/chat.md §3, §4): `[tenant.chat] bitrix24_notify = true`
/// on a crm = "bitrix24" tenant; each person's address is their Bitrix24 user id (their
/// crm_user, or `bitrix24_user` for a person named by display name); teams have no group here.
const fg::notify::Notifier& Notifier();

/// Its config schema: channel "bitrix24", person key `bitrix24_user` implied by a numeric
/// crm_user, no team key, no linking, the switch `bitrix24_notify` for Bitrix24 tenants only.
config::NotifierSchema Schema();

}  // namespace fg::adapters::bitrix24::notify
