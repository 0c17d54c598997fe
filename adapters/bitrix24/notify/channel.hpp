#pragma once

#include <memory>
#include <string>

#include "adapters/bitrix24/api/client.hpp"
#include "adapters/bitrix24/notify/render.hpp"
#include "src/notify/port.hpp"

namespace fg::adapters::bitrix24::notify {

/// The method every notification goes through.
inline constexpr const char* kMethod = "im.notify.system.add";

/// One tenant's Bitrix24 notifications (fg::notify::Channel): an address is a Bitrix24 user id;
/// each message goes as im.notify.system.add through the portal's client (inbound webhook or
/// OAuth, the CRM adapter's own: PortalClient), so it takes from the portal's one leaky bucket.
/// TAG "FG|<reference>" (with CLIENT_ID through a webhook) makes a resend replace the earlier
/// copy instead of doubling it (chat.md §3.1), so a retry after a part-way failure sends every
/// part again. No error holds the webhook or access token. Thread-safe (the client is).
class NotifyChannel final : public fg::notify::Channel {
public:
    /// `locale` ("ru", "en") is the language of the hints it writes itself.
    NotifyChannel(std::string tenant, std::shared_ptr<Client> client, std::string locale,
                  RenderLimits limits = {});

    fg::notify::SendResult Send(const fg::notify::Outgoing& outgoing) override;
    /// The portal's bucket (shared with the CRM calls) and a block of the method.
    Duration WaitFor(const fg::notify::Address& to) override;
    /// user.current: the portal answers and the credentials work.
    std::string Check() override;

private:
    std::string tenant_;
    std::shared_ptr<Client> client_;
    std::string locale_;
    RenderLimits limits_;
};

}  // namespace fg::adapters::bitrix24::notify
