#pragma once

#include <string_view>
#include <vector>

#include "src/common/clock.hpp"
#include "src/config/config.hpp"
#include "src/outbox/action.hpp"

/// The chat notifier port: a chat service (Telegram, Slack-compatible webhooks...) is a folder
/// under adapters/ with a notify::Notifier, listed once in src/app/adapters.cpp. The loader reads
/// its keys of `[tenant.chat]` through its schema; each tenant that uses it gets a sink of its
/// own on the outbox channel of its name, paced by a limiter of its own.
namespace fg::notify {

class Notifier {
public:
    virtual ~Notifier() = default;
    /// Lower-case name: the outbox channel of its messages.
    virtual std::string_view Name() const = 0;
    /// How the loader reads its part of a tenant's `[tenant.chat]` (config::NotifierSchema).
    virtual config::NotifierSchema Schema() const = 0;
    /// The sink that delivers the messages of `tenant` (one with this notifier among its
    /// chat_channels), and the pace its service allows. `clock` outlives the sink.
    virtual outbox::PacedSink MakeSink(const config::TenantConfig& tenant,
                                       const Clock& clock) const = 0;
};

/// The notifiers of this program, in the order they were registered (src/app).
using NotifierList = std::vector<const Notifier*>;

}  // namespace fg::notify
