#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "src/common/clock.hpp"
#include "src/engine/writer.hpp"
#include "src/notify/address_book.hpp"
#include "src/storage/chat.hpp"

namespace fg::engine {

/// One tenant's notify::AddressBook over storage (storage/chat.hpp): everything is read once
/// into memory (Load), answered from there, and each change is written through the writer and
/// waited for, so it is durable when the call returns. The addresses of channels whose
/// addresses are credentials (webhook URLs) are stored only as a digest, with their redacted
/// form for /readyz.
class StoredAddressBook final : public notify::AddressBook {
public:
    /// `secret_channels`: the tenant's channels whose addresses are secrets; `clock` outlives it.
    StoredAddressBook(std::string tenant, std::set<std::string> secret_channels,
                      const Clock& clock);

    /// Fills the cache from `db` (the tenant's rows); before Bind, at start.
    void Load(storage::Db& db);
    /// The writer that stores changes; before the first change.
    void Bind(Writer& writer) { writer_ = &writer; }

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

    /// After a link stored by the caller (Inbound::Link, in its own transaction): the cache
    /// follows.
    void Linked(const std::string& channel, const std::string& crm_user,
                const std::string& address);
    void Unbroken(const std::string& channel, const std::string& address);

    /// The broken addresses, as they may be shown, with why (/readyz, /metrics).
    struct BrokenShown {
        std::string channel{};
        std::string shown{};
        std::string reason{};
    };
    std::vector<BrokenShown> BrokenAddresses() const;

    /// How the address is stored: itself, or `sha256:<hex>` of it on a secret channel.
    std::string StoredForm(const std::string& channel, const std::string& address) const;
    /// How it may be shown: itself, or the scheme and host of a secret one ("https://hooks…/…").
    std::string Shown(const std::string& channel, const std::string& address) const;
    const std::string& tenant() const { return tenant_; }

private:
    template <typename Job>
    void Store(const char* what, Job job);

    using Key = std::pair<std::string, std::string>;  // channel, address or person
    const std::string tenant_;
    const std::set<std::string> secret_channels_;
    const Clock& clock_;
    Writer* writer_ = nullptr;
    mutable std::mutex mutex_;
    std::map<Key, std::string> links_;              // (channel, crm_user) -> address
    std::map<Key, storage::BrokenAddress> broken_;  // (channel, stored address)
    std::map<Key, std::string> moved_;              // (channel, from) -> to
    std::map<Key, Timestamp> last_sent_;            // (channel, stored address)
};

/// "https://host/…" for a URL (what a secret address may show), "…" for anything else.
std::string RedactedAddress(const std::string& address);

}  // namespace fg::engine
