#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "src/common/clock.hpp"
#include "src/config/config.hpp"
#include "src/engine/address_book.hpp"
#include "src/engine/writer.hpp"
#include "src/notify/address_book.hpp"
#include "src/notify/chat_sink.hpp"
#include "src/notify/port.hpp"

namespace fg::engine {

/// One of a tenant's chat channels, as the program makes it (notify::Notifier::MakeChannel).
struct ChatChannel {
    config::NotifierSchema schema{};  // its name is the outbox channel
    std::shared_ptr<notify::Channel> channel{};
};
/// The tenant's chat channels (one per notifier among its chat_channels).
using ChatChannelFactory =
    std::function<std::vector<ChatChannel>(const config::TenantConfig& tenant)>;
/// The outbox sink of one chat channel (the program: notify::MakeChatSink).
using ChatSinkMaker = std::function<outbox::PacedSink(notify::ChatSinkParts parts)>;

/// What the chat core reports, counted for /metrics and /readyz (notify::ChatObserver).
class ChatReport final : public notify::ChatObserver {
public:
    void UnknownPerson(const std::string& tenant, const std::string& crm_user) override;
    void Sent(const std::string& tenant, const std::string& channel,
              std::string_view kind) override;
    void AddressBroken(const std::string& tenant, const std::string& channel,
                       const std::string& shown, const std::string& reason) override;
    void ChannelProblem(const std::string& tenant, const std::string& channel,
                        const std::string& problem) override;

    /// (tenant, channel) -> what is wrong with the channel; only channels with a problem.
    std::map<std::pair<std::string, std::string>, std::string> ChannelProblems() const;
    /// Prometheus lines: messages sent, unknown people, channel problems (broken addresses are
    /// the engine's: they come from the address books).
    std::string Render() const;

private:
    mutable std::mutex mutex_;
    std::map<std::tuple<std::string, std::string, std::string>, std::int64_t> sent_;
    std::map<std::string, std::int64_t> unknown_people_;  // by tenant
    std::map<std::pair<std::string, std::string>, std::string> problems_;
};

/// Everything the engine keeps of the tenants' chats: their channels, address books, listeners
/// and what the chat core reported.
class ChatHub {
public:
    ChatHub(const Clock& clock) : clock_(clock) {}
    ~ChatHub();
    ChatHub(const ChatHub&) = delete;
    ChatHub& operator=(const ChatHub&) = delete;

    /// The tenant's channels and their sinks (added to `add_sink`), with the tenant's address
    /// book loaded from `db`; at start, before the writer runs. `user_names`: the names the
    /// tenant's CRM shows for its user ids (thread-safe; empty: people are found by id only).
    void AddTenant(
        const config::TenantConfig& tenant, std::vector<ChatChannel> channels,
        const ChatSinkMaker& make_sink, storage::Db& db,
        const std::function<void(const std::string& channel, outbox::PacedSink)>& add_sink,
        notify::UserNames user_names = {});
    /// Binds the address books to the writer and, on a thread of its own, checks each channel
    /// (a failure is logged at error level and reported; its messages stay queued) and starts
    /// the listeners of those that work, each with an Inbound of its own.
    using AcknowledgeFn = std::function<Result<bool>(std::int64_t violation_id)>;
    void Start(Writer& writer, const config::AppConfig& config, AcknowledgeFn acknowledge);
    /// Stops the listeners; idempotent.
    void Stop();

    bool empty() const { return tenants_.empty(); }
    /// The channels checked so far (Check returned) and found working or not.
    std::size_t Checked() const { return checked_.load(); }
    ChatReport& report() { return report_; }
    const ChatReport& report() const { return report_; }
    StoredAddressBook* BookOf(const std::string& tenant) const;
    /// The tenant's channel `name`, or null.
    notify::Channel* ChannelOf(const std::string& tenant, const std::string& name) const;
    /// Every broken address by tenant, as it may be shown.
    std::map<std::string, std::vector<StoredAddressBook::BrokenShown>> BrokenAddresses() const;
    /// Prometheus lines of everything chat.
    std::string RenderMetrics() const;

private:
    struct Tenant {
        std::unique_ptr<StoredAddressBook> book{};
        std::vector<ChatChannel> channels{};
        std::vector<std::unique_ptr<notify::Inbound>> inbounds{};
    };
    void CheckAndListen(const config::AppConfig& config, Writer& writer,
                        const AcknowledgeFn& acknowledge);

    const Clock& clock_;
    ChatReport report_;
    std::map<std::string, Tenant> tenants_;
    std::thread starter_;
    std::atomic<bool> stopping_{false};
    std::atomic<std::size_t> checked_{0};
    std::mutex listen_mutex_;  // Listen vs Stop
    bool stopped_ = false;
};

}  // namespace fg::engine
