#pragma once

#include <optional>
#include <string>

#include "src/common/time.hpp"

namespace fg::notify {

/// What the chat core knows of addresses beyond the config, kept durably by the engine (storage)
/// and in memory by tests: chats people linked themselves (/start CODE), addresses found broken,
/// addresses the service moved, and when each address last got a message (cooldown survives a
/// restart). Addresses are the channel's own (notify::Address::value). Thread-safe.
class AddressBook {
public:
    virtual ~AddressBook() = default;
    /// The address `crm_user` linked on `channel`, which replaces the configured one.
    virtual std::optional<std::string> Linked(const std::string& channel,
                                              const std::string& crm_user) = 0;
    /// Why the address was found unusable (Failure::kAddressGone), or nullopt when it is not.
    virtual std::optional<std::string> Broken(const std::string& channel,
                                              const std::string& address) = 0;
    virtual void MarkBroken(const std::string& channel, const std::string& address,
                            const std::string& reason, Timestamp at) = 0;
    /// The service moved `from` to `to` (a Telegram group upgraded to a supergroup).
    virtual std::optional<std::string> MovedTo(const std::string& channel,
                                               const std::string& from) = 0;
    virtual void RecordMove(const std::string& channel, const std::string& from,
                            const std::string& to) = 0;
    /// When the address last accepted a message, for cooldown.
    virtual std::optional<Timestamp> LastSent(const std::string& channel,
                                              const std::string& address) = 0;
    virtual void RecordSent(const std::string& channel, const std::string& address,
                            Timestamp at) = 0;
};

/// What the chat core reports as it goes (the engine counts it in /metrics and /readyz).
class ChatObserver {
public:
    virtual ~ChatObserver() = default;
    /// A violation names a CRM user no [[tenant.person]] describes: reported once per user.
    virtual void UnknownPerson(const std::string& tenant, const std::string& crm_user) = 0;
    /// A message (one send, whatever the number of violations in it) was accepted.
    virtual void Sent(const std::string& tenant, const std::string& channel,
                      std::string_view kind) = 0;
    /// An address was found unusable; `shown` is it as it may be shown (redacted if secret).
    virtual void AddressBroken(const std::string& tenant, const std::string& channel,
                               const std::string& shown, const std::string& reason) = 0;
    /// The tenant's whole channel is unusable (Failure::kChannelGone), or works again (empty).
    virtual void ChannelProblem(const std::string& tenant, const std::string& channel,
                                const std::string& problem) = 0;
};

}  // namespace fg::notify
