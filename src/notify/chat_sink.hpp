#pragma once

#include <memory>
#include <string>

#include "src/common/clock.hpp"
#include "src/config/config.hpp"
#include "src/notify/address_book.hpp"
#include "src/notify/port.hpp"
#include "src/notify/routing.hpp"
#include "src/outbox/action.hpp"

namespace fg::notify {

/// What a tenant's chat sink for one channel is made of; every pointer outlives the sink.
struct ChatSinkParts {
    const config::TenantConfig* tenant = nullptr;
    const config::NotifierSchema* schema = nullptr;  // the channel's notifier's schema
    std::shared_ptr<Channel> channel{};  // shared with the engine, which runs its listener
    AddressBook* book = nullptr;
    ChatObserver* observer = nullptr;
    const Clock* clock = nullptr;
    /// The names the CRM shows for its user ids (the directory), so that a [[tenant.person]]
    /// may name a user as the CRM shows them; empty: by id only.
    UserNames user_names{};
};

/// The outbox sink of one tenant's chat channel: for each due message action (notify, escalate,
/// summary) it finds the people it goes to (routing), composes the message (templates, a digest
/// of a person's violations due together), keeps working hours, cooldown and the service's
/// per-address limits (a message that must wait is "retry, not sent, after N"), sends it through
/// the channel, and falls back to the person's head when an address is gone.
outbox::PacedSink MakeChatSink(ChatSinkParts parts);

}  // namespace fg::notify
