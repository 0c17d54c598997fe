#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "src/common/clock.hpp"
#include "src/common/time.hpp"
#include "src/config/config.hpp"
#include "src/notify/message.hpp"
#include "src/outbox/action.hpp"

/// The chat notifier port. A chat service (Telegram, Slack-compatible webhooks, Bitrix24
/// notifications) is a folder under adapters/ with a notify::Notifier, listed once in
/// src/app/adapters.cpp. The loader reads its keys of `[tenant.chat]`, `[[tenant.person]]` and
/// `[[tenant.team]]` through its schema (config::NotifierSchema). For each tenant that uses it,
/// the notifier makes a Channel: the core (src/notify) routes each message to people, composes
/// it (templates, digest) and paces it; the channel renders it in its markup, sends it, keeps the
/// service's limits and reads what people send back (links, button presses).
namespace fg::notify {

/// Where a channel delivers: the service's own address of a person or a group, as the config or
/// a link gave it (a Telegram chat id, a Slack webhook URL). Some are credentials (a webhook URL
/// is one: config::NotifierSchema::secret_addresses) and are never logged or shown whole.
struct Address {
    std::string value{};
    bool group = false;  // a team's group chat (Telegram limits groups more tightly)
};

/// One message for one address.
struct Outgoing {
    Address to{};
    Message message{};
    std::string key{};  // the outbox idempotency key of (the first of) its actions, for logs
    int attempt = 1;    // 1 for the first try
    /// The previous attempt was refused before the service did anything (429, not connected),
    /// so it certainly did not land (outbox::Action::previous_not_sent).
    bool previous_not_sent = false;
};

/// Why a send failed for good, beyond outbox::DeliveryStatus.
enum class Failure {
    kNone,
    /// This address cannot be reached until someone acts (the bot was blocked, the chat is not
    /// found, the webhook was revoked): the core stops sending to it, falls back to the person's
    /// head and reports it (/metrics, /readyz).
    kAddressGone,
    /// The whole channel of the tenant is unusable (a bad bot token, a wrong API address): the
    /// core keeps the messages queued and reports it loudly.
    kChannelGone,
    /// The service will never take this body, even degraded (plain text, split): dead, logged as
    /// a bug.
    kContent,
};

struct SendResult {
    /// kDelivered, kRetry (with retry_after and not_sent as the service said) or kRejected;
    /// its error never holds a secret (no token, no webhook URL).
    outbox::DeliveryResult delivery{};
    Failure failure = Failure::kNone;
    /// The service moved the address (Telegram's migrate_to_chat_id of a group upgraded to a
    /// supergroup): the core stores the new one and sends there.
    std::string moved_to{};
    /// The service's id of the message (of its last part), for later edits.
    std::string message_id{};
};

/// What a link request or a button press gets back: `reply` is sent to the person (already in
/// the tenant's language); `note` (button presses only, may be empty) is a line the channel adds
/// to the message whose button was pressed, e.g. "✅ Принято: Иван Петров".
struct Reply {
    bool done = false;  // linked / acknowledged; false: nothing changed (unknown or used code...)
    std::string reply{};
    std::string note{};
};

/// What a channel's listener may ask of the core (the engine implements it, per tenant and
/// channel). Called on the listener's thread; each call is durable when it returns.
class Inbound {
public:
    virtual ~Inbound() = default;
    /// `/start CODE` (or the service's equivalent) from the private address `from`: links the
    /// person whose one-time code it is to `from`. `display_name` is how the service names the
    /// sender (for the log and the reply only).
    virtual Reply Link(std::string_view code, const Address& from,
                       std::string_view display_name) = 0;
    /// A press of a button whose callback is `callback` (Button::callback), by `from`.
    virtual Reply Press(std::string_view callback, const Address& from,
                        std::string_view display_name) = 0;
    /// The listener's position in the service's update stream (Telegram's getUpdates offset),
    /// as last saved; empty at first. Saved only after the updates before it were handled.
    virtual std::string Cursor() = 0;
    virtual void SaveCursor(const std::string& cursor) = 0;
};

/// One tenant's connection to one chat service. Send, WaitFor and the listener may run on
/// different threads: implementations are thread-safe.
class Channel {
public:
    virtual ~Channel() = default;
    /// Renders and sends one message (split when it is over the service's length limit).
    virtual SendResult Send(const Outgoing& outgoing) = 0;
    /// How long `to` must wait before it may take the next message under the service's limits
    /// (per chat, per group, per bot); zero: now. The core sends only at zero, so the limits are
    /// kept rather than discovered by 429s (Send still honours a 429).
    virtual Duration WaitFor(const Address& to) = 0;
    /// Checks the credentials (Telegram: getMe) once at start; a clear error to report loudly, or
    /// empty when they work.
    virtual std::string Check() { return {}; }
    /// The link a person opens to link their chat with `code` (Telegram:
    /// https://t.me/<bot>?start=CODE; after Check); empty when the service links nobody.
    virtual std::string LinkUrl(std::string_view code) const {
        (void)code;
        return {};
    }
    /// Starts reading what people send back (Telegram: long polling, on a thread of its own)
    /// until Stop; `inbound` outlives it. A channel that reads nothing does nothing.
    virtual void Listen(Inbound& inbound) { (void)inbound; }
    virtual void Stop() {}
};

class Notifier {
public:
    virtual ~Notifier() = default;
    /// Lower-case name: the outbox channel of its messages and the key of its settings.
    virtual std::string_view Name() const = 0;
    /// How the loader reads its keys (config::NotifierSchema).
    virtual config::NotifierSchema Schema() const = 0;
    /// The channel of `tenant` (one with this notifier among its chat_channels). `clock`
    /// outlives it.
    virtual std::unique_ptr<Channel> MakeChannel(const config::TenantConfig& tenant,
                                                 const Clock& clock) const = 0;
};

/// The notifiers of this program, in the order they were registered (src/app).
using NotifierList = std::vector<const Notifier*>;

}  // namespace fg::notify
