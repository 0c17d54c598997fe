#include "src/engine/chat.hpp"

#include <fmt/format.h>

#include "src/common/log.hpp"
#include "src/engine/chat_inbound.hpp"

namespace fg::engine {
namespace {

spdlog::logger& ChatLog() {
    static const auto logger = ModuleLogger("chat");
    return *logger;
}

}  // namespace

void ChatReport::UnknownPerson(const std::string& tenant, const std::string& crm_user) {
    ChatLog().warn(
        "A violation names a CRM user no [[tenant.person]] describes; their messages go "
        "nowhere. tenant={} crm_user={}",
        tenant, crm_user);
    std::lock_guard lock(mutex_);
    ++unknown_people_[tenant];
}

void ChatReport::Sent(const std::string& tenant, const std::string& channel,
                      std::string_view kind) {
    std::lock_guard lock(mutex_);
    ++sent_[{tenant, channel, std::string(kind)}];
}

void ChatReport::AddressBroken(const std::string& tenant, const std::string& channel,
                               const std::string& shown, const std::string& reason) {
    ChatLog().error(
        "A chat address cannot be reached; messages to it go to the person's head until it is "
        "linked again. tenant={} channel={} address={} reason={}",
        tenant, channel, shown, LogSafe(reason));
}

void ChatReport::ChannelProblem(const std::string& tenant, const std::string& channel,
                                const std::string& problem) {
    std::lock_guard lock(mutex_);
    const std::pair<std::string, std::string> key{tenant, channel};
    if (problem.empty()) {
        if (problems_.erase(key) != 0) {
            ChatLog().info("Chat channel works again. tenant={} channel={}", tenant, channel);
        }
        return;
    }
    const auto found = problems_.find(key);
    if (found == problems_.end() || found->second != problem) {
        ChatLog().error(
            "Chat channel unusable; its messages stay queued until it works. tenant={} "
            "channel={} problem={}",
            tenant, channel, LogSafe(problem));
    }
    problems_[key] = problem;
}

std::map<std::pair<std::string, std::string>, std::string> ChatReport::ChannelProblems() const {
    std::lock_guard lock(mutex_);
    return problems_;
}

std::string ChatReport::Render() const {
    std::lock_guard lock(mutex_);
    std::string out;
    out += "# HELP funnelguard_chat_messages_total Chat messages accepted by the service.\n";
    out += "# TYPE funnelguard_chat_messages_total counter\n";
    for (const auto& [key, n] : sent_) {
        const auto& [tenant, channel, kind] = key;
        out += fmt::format(
            "funnelguard_chat_messages_total{{tenant=\"{}\",channel=\"{}\",kind=\"{}\"}} {}\n",
            tenant, channel, kind, n);
    }
    out +=
        "# HELP funnelguard_chat_unknown_people_total CRM users violations name that no "
        "[[tenant.person]] describes.\n";
    out += "# TYPE funnelguard_chat_unknown_people_total counter\n";
    for (const auto& [tenant, n] : unknown_people_) {
        out +=
            fmt::format("funnelguard_chat_unknown_people_total{{tenant=\"{}\"}} {}\n", tenant, n);
    }
    return out;
}

ChatHub::~ChatHub() { Stop(); }

void ChatHub::AddTenant(
    const config::TenantConfig& tenant, std::vector<ChatChannel> channels,
    const ChatSinkMaker& make_sink, storage::Db& db,
    const std::function<void(const std::string& channel, outbox::PacedSink)>& add_sink,
    notify::UserNames user_names) {
    if (channels.empty()) {
        return;
    }
    std::set<std::string> secret;
    for (const ChatChannel& channel : channels) {
        if (channel.schema.secret_addresses) {
            secret.insert(channel.schema.name);
        }
    }
    Tenant& entry = tenants_[tenant.id];
    entry.book = std::make_unique<StoredAddressBook>(tenant.id, std::move(secret), clock_);
    entry.book->Load(db);
    entry.channels = std::move(channels);
    for (ChatChannel& channel : entry.channels) {
        if (!channel.channel) {
            continue;
        }
        // The schema lives in the hub as long as the sink.
        add_sink(channel.schema.name, make_sink({.tenant = &tenant,
                                                 .schema = &channel.schema,
                                                 .channel = channel.channel,
                                                 .book = entry.book.get(),
                                                 .observer = &report_,
                                                 .clock = &clock_,
                                                 .user_names = user_names}));
    }
}

void ChatHub::Start(Writer& writer, const config::AppConfig& config, AcknowledgeFn acknowledge) {
    if (tenants_.empty()) {
        return;
    }
    for (auto& [id, tenant] : tenants_) {
        tenant.book->Bind(writer);
    }
    // Check() asks the service (Telegram: getMe): not on the caller's thread, which starts the
    // HTTP server next.
    starter_ = std::thread([this, &config, &writer, acknowledge = std::move(acknowledge)] {
        CheckAndListen(config, writer, acknowledge);
    });
}

void ChatHub::CheckAndListen(const config::AppConfig& config, Writer& writer,
                             const AcknowledgeFn& acknowledge) {
    for (auto& [id, tenant] : tenants_) {
        const config::TenantConfig* tenant_config = config.FindTenant(id);
        for (ChatChannel& channel : tenant.channels) {
            if (stopping_) {
                return;
            }
            if (!channel.channel || tenant_config == nullptr) {
                continue;
            }
            const std::string problem = channel.channel->Check();
            ++checked_;
            if (!problem.empty()) {
                report_.ChannelProblem(id, channel.schema.name, problem);
                continue;
            }
            ChatLog().info("Chat channel works. tenant={} channel={}", id, channel.schema.name);
            std::lock_guard lock(listen_mutex_);
            if (stopped_) {
                return;
            }
            auto inbound = std::make_unique<ChatInbound>(ChatInbound::Parts{
                .tenant = tenant_config,
                .schema = channel.schema,
                .writer = &writer,
                .book = tenant.book.get(),
                .clock = &clock_,
                .acknowledge = acknowledge,
            });
            channel.channel->Listen(*inbound);
            tenant.inbounds.push_back(std::move(inbound));
        }
    }
}

void ChatHub::Stop() {
    stopping_ = true;
    if (starter_.joinable()) {
        starter_.join();
    }
    std::lock_guard lock(listen_mutex_);
    if (stopped_) {
        return;
    }
    stopped_ = true;
    for (auto& [id, tenant] : tenants_) {
        for (ChatChannel& channel : tenant.channels) {
            if (channel.channel) {
                channel.channel->Stop();
            }
        }
    }
}

StoredAddressBook* ChatHub::BookOf(const std::string& tenant) const {
    const auto found = tenants_.find(tenant);
    return found == tenants_.end() ? nullptr : found->second.book.get();
}

notify::Channel* ChatHub::ChannelOf(const std::string& tenant, const std::string& name) const {
    const auto found = tenants_.find(tenant);
    if (found == tenants_.end()) {
        return nullptr;
    }
    for (const ChatChannel& channel : found->second.channels) {
        if (channel.schema.name == name) {
            return channel.channel.get();
        }
    }
    return nullptr;
}

std::map<std::string, std::vector<StoredAddressBook::BrokenShown>> ChatHub::BrokenAddresses()
    const {
    std::map<std::string, std::vector<StoredAddressBook::BrokenShown>> out;
    for (const auto& [id, tenant] : tenants_) {
        auto broken = tenant.book->BrokenAddresses();
        if (!broken.empty()) {
            out[id] = std::move(broken);
        }
    }
    return out;
}

std::string ChatHub::RenderMetrics() const {
    std::string out = report_.Render();
    out +=
        "# HELP funnelguard_chat_addresses_broken Chat addresses found unusable (blocked bot, "
        "revoked webhook), until linked again.\n";
    out += "# TYPE funnelguard_chat_addresses_broken gauge\n";
    const auto problems = report_.ChannelProblems();
    for (const auto& [id, tenant] : tenants_) {
        std::map<std::string, int> by_channel;
        for (const ChatChannel& channel : tenant.channels) {
            by_channel[channel.schema.name] = 0;
        }
        for (const auto& broken : tenant.book->BrokenAddresses()) {
            ++by_channel[broken.channel];
        }
        for (const auto& [channel, n] : by_channel) {
            out += fmt::format(
                "funnelguard_chat_addresses_broken{{tenant=\"{}\",channel=\"{}\"}} {}\n", id,
                channel, n);
        }
    }
    out +=
        "# HELP funnelguard_chat_channel_problem 1 while a tenant's chat channel is unusable "
        "(bad token, wrong API address): its messages stay queued.\n";
    out += "# TYPE funnelguard_chat_channel_problem gauge\n";
    for (const auto& [id, tenant] : tenants_) {
        for (const ChatChannel& channel : tenant.channels) {
            out +=
                fmt::format("funnelguard_chat_channel_problem{{tenant=\"{}\",channel=\"{}\"}} {}\n",
                            id, channel.schema.name, problems.count({id, channel.schema.name}));
        }
    }
    return out;
}

}  // namespace fg::engine
