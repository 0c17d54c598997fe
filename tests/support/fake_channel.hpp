#pragma once

// An in-process notify::Channel for the chat core's tests: it records every Outgoing it is
// asked to send and answers what the test scripted (per address, else the default), and an
// in-memory notify::AddressBook.

#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "src/notify/address_book.hpp"
#include "src/notify/port.hpp"

namespace fg::testing {

class FakeChannel final : public notify::Channel {
public:
    notify::SendResult Send(const notify::Outgoing& outgoing) override;
    Duration WaitFor(const notify::Address& to) override;

    /// The next sends to `address` answer these, in order (then the default: delivered).
    void Script(const std::string& address, notify::SendResult result);
    /// `address` must wait this long before its next message (WaitFor).
    void SetWait(const std::string& address, Duration wait);
    std::vector<notify::Outgoing> sent() const;
    /// The sends to `address`.
    std::vector<notify::Outgoing> SentTo(const std::string& address) const;

    static notify::SendResult Delivered();
    static notify::SendResult Gone(std::string reason);
    static notify::SendResult ChannelGone(std::string reason);
    static notify::SendResult Ambiguous();
    static notify::SendResult Moved(std::string to);

private:
    mutable std::mutex mutex_;
    std::vector<notify::Outgoing> sent_{};
    std::map<std::string, std::deque<notify::SendResult>> scripts_{};
    std::map<std::string, Duration> waits_{};
    int next_id_ = 1;
};

class MemoryAddressBook final : public notify::AddressBook {
public:
    std::optional<std::string> Linked(const std::string& channel,
                                      const std::string& crm_user) override;
    std::optional<std::string> Broken(const std::string& channel,
                                      const std::string& address) override;
    void MarkBroken(const std::string& channel, const std::string& address,
                    const std::string& reason, Timestamp at) override;
    std::optional<std::string> MovedTo(const std::string& channel,
                                       const std::string& from) override;
    void RecordMove(const std::string& channel, const std::string& from,
                    const std::string& to) override;
    std::optional<Timestamp> LastSent(const std::string& channel,
                                      const std::string& address) override;
    void RecordSent(const std::string& channel, const std::string& address, Timestamp at) override;

    void Link(const std::string& channel, const std::string& crm_user, const std::string& address);

private:
    using Key = std::pair<std::string, std::string>;
    std::mutex mutex_;
    std::map<Key, std::string> linked_{};
    std::map<Key, std::string> broken_{};
    std::map<Key, std::string> moved_{};
    std::map<Key, Timestamp> last_sent_{};
};

/// Records what the chat core reports.
class RecordingObserver final : public notify::ChatObserver {
public:
    void UnknownPerson(const std::string& tenant, const std::string& crm_user) override;
    void Sent(const std::string& tenant, const std::string& channel,
              std::string_view kind) override;
    void AddressBroken(const std::string& tenant, const std::string& channel,
                       const std::string& shown, const std::string& reason) override;
    void ChannelProblem(const std::string& tenant, const std::string& channel,
                        const std::string& problem) override;

    std::vector<std::string> unknown{};
    std::vector<std::string> sent_kinds{};
    std::vector<std::string> broken{};    // "shown: reason"
    std::vector<std::string> problems{};  // "" when the channel works again
};

}  // namespace fg::testing
