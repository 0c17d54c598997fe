#include "tests/support/fake_channel.hpp"

namespace fg::testing {

notify::SendResult FakeChannel::Send(const notify::Outgoing& outgoing) {
    std::lock_guard lock(mutex_);
    sent_.push_back(outgoing);
    auto& script = scripts_[outgoing.to.value];
    if (script.empty()) {
        notify::SendResult result = Delivered();
        result.message_id = std::to_string(next_id_++);
        return result;
    }
    notify::SendResult result = std::move(script.front());
    script.pop_front();
    return result;
}

Duration FakeChannel::WaitFor(const notify::Address& to) {
    std::lock_guard lock(mutex_);
    const auto found = waits_.find(to.value);
    return found == waits_.end() ? Duration::zero() : found->second;
}

void FakeChannel::Script(const std::string& address, notify::SendResult result) {
    std::lock_guard lock(mutex_);
    scripts_[address].push_back(std::move(result));
}

void FakeChannel::SetWait(const std::string& address, Duration wait) {
    std::lock_guard lock(mutex_);
    waits_[address] = wait;
}

std::vector<notify::Outgoing> FakeChannel::sent() const {
    std::lock_guard lock(mutex_);
    return sent_;
}

std::vector<notify::Outgoing> FakeChannel::SentTo(const std::string& address) const {
    std::lock_guard lock(mutex_);
    std::vector<notify::Outgoing> out;
    for (const notify::Outgoing& outgoing : sent_) {
        if (outgoing.to.value == address) {
            out.push_back(outgoing);
        }
    }
    return out;
}

notify::SendResult FakeChannel::Delivered() {
    return {.delivery = {.status = outbox::DeliveryStatus::kDelivered}};
}

notify::SendResult FakeChannel::Gone(std::string reason) {
    return {.delivery = {.status = outbox::DeliveryStatus::kRejected, .error = std::move(reason)},
            .failure = notify::Failure::kAddressGone};
}

notify::SendResult FakeChannel::ChannelGone(std::string reason) {
    return {.delivery = {.status = outbox::DeliveryStatus::kRejected, .error = std::move(reason)},
            .failure = notify::Failure::kChannelGone};
}

notify::SendResult FakeChannel::Ambiguous() {
    return {.delivery = {.status = outbox::DeliveryStatus::kRetry,
                         .error = "timed out after the request was written",
                         .not_sent = false}};
}

notify::SendResult FakeChannel::Moved(std::string to) {
    return {.delivery = {.status = outbox::DeliveryStatus::kRetry,
                         .error = "group chat was upgraded to a supergroup chat",
                         .not_sent = true},
            .moved_to = std::move(to)};
}

std::optional<std::string> MemoryAddressBook::Linked(const std::string& channel,
                                                     const std::string& crm_user) {
    std::lock_guard lock(mutex_);
    const auto found = linked_.find({channel, crm_user});
    return found == linked_.end() ? std::nullopt : std::optional(found->second);
}

std::optional<std::string> MemoryAddressBook::Broken(const std::string& channel,
                                                     const std::string& address) {
    std::lock_guard lock(mutex_);
    const auto found = broken_.find({channel, address});
    return found == broken_.end() ? std::nullopt : std::optional(found->second);
}

void MemoryAddressBook::MarkBroken(const std::string& channel, const std::string& address,
                                   const std::string& reason, Timestamp at) {
    (void)at;
    std::lock_guard lock(mutex_);
    broken_[{channel, address}] = reason;
}

std::optional<std::string> MemoryAddressBook::MovedTo(const std::string& channel,
                                                      const std::string& from) {
    std::lock_guard lock(mutex_);
    const auto found = moved_.find({channel, from});
    return found == moved_.end() ? std::nullopt : std::optional(found->second);
}

void MemoryAddressBook::RecordMove(const std::string& channel, const std::string& from,
                                   const std::string& to) {
    std::lock_guard lock(mutex_);
    moved_[{channel, from}] = to;
}

std::optional<Timestamp> MemoryAddressBook::LastSent(const std::string& channel,
                                                     const std::string& address) {
    std::lock_guard lock(mutex_);
    const auto found = last_sent_.find({channel, address});
    return found == last_sent_.end() ? std::nullopt : std::optional(found->second);
}

void MemoryAddressBook::RecordSent(const std::string& channel, const std::string& address,
                                   Timestamp at) {
    std::lock_guard lock(mutex_);
    last_sent_[{channel, address}] = at;
}

void MemoryAddressBook::Link(const std::string& channel, const std::string& crm_user,
                             const std::string& address) {
    std::lock_guard lock(mutex_);
    linked_[{channel, crm_user}] = address;
    broken_.erase({channel, address});
}

void RecordingObserver::UnknownPerson(const std::string& tenant, const std::string& crm_user) {
    (void)tenant;
    unknown.push_back(crm_user);
}

void RecordingObserver::Sent(const std::string& tenant, const std::string& channel,
                             std::string_view kind) {
    (void)tenant;
    (void)channel;
    sent_kinds.emplace_back(kind);
}

void RecordingObserver::AddressBroken(const std::string& tenant, const std::string& channel,
                                      const std::string& shown, const std::string& reason) {
    (void)tenant;
    (void)channel;
    broken.push_back(shown + ": " + reason);
}

void RecordingObserver::ChannelProblem(const std::string& tenant, const std::string& channel,
                                       const std::string& problem) {
    (void)tenant;
    (void)channel;
    problems.push_back(problem);
}

}  // namespace fg::testing
