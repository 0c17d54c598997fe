#include "src/engine/address_book.hpp"

#include <fmt/format.h>
#include <openssl/sha.h>

#include "src/common/log.hpp"
#include "src/storage/query.hpp"

namespace fg::engine {
namespace {

spdlog::logger& AddressBookLog() {
    static const auto logger = ModuleLogger("engine");
    return *logger;
}

std::string Digest(const std::string& text) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
    std::string out = "sha256:";
    for (const unsigned char byte : digest) {
        out += fmt::format("{:02x}", byte);
    }
    return out;
}

}  // namespace

std::string RedactedAddress(const std::string& address) {
    const auto scheme = address.find("://");
    if (scheme == std::string::npos) {
        return "…";
    }
    const auto host_end = address.find_first_of("/?#", scheme + 3);
    return address.substr(0, host_end) + "/…";
}

StoredAddressBook::StoredAddressBook(std::string tenant, std::set<std::string> secret_channels,
                                     const Clock& clock)
    : tenant_(std::move(tenant)), secret_channels_(std::move(secret_channels)), clock_(clock) {}

std::string StoredAddressBook::StoredForm(const std::string& channel,
                                          const std::string& address) const {
    return secret_channels_.count(channel) != 0 ? Digest(address) : address;
}

std::string StoredAddressBook::Shown(const std::string& channel, const std::string& address) const {
    return secret_channels_.count(channel) != 0 ? RedactedAddress(address) : address;
}

void StoredAddressBook::Load(storage::Db& db) {
    std::lock_guard lock(mutex_);
    for (storage::ChatLink& link : storage::ChatLinks(db, tenant_)) {
        links_[{link.channel, link.crm_user}] = std::move(link.address);
    }
    for (storage::BrokenAddress& broken : storage::BrokenAddresses(db, tenant_)) {
        Key key{broken.channel, broken.address};
        broken_[key] = std::move(broken);
    }
    // Moves and send times are few (one row per address): read them whole.
    static constexpr const char* kMoves =
        "SELECT channel, from_address, to_address FROM chat_moved WHERE tenant = ?1";
    {
        storage::detail::Query query(db, kMoves);
        storage::detail::BindText(*query, 1, tenant_);
        while (query->executeStep()) {
            moved_[{query->getColumn(0).getString(), query->getColumn(1).getString()}] =
                query->getColumn(2).getString();
        }
    }
    static constexpr const char* kSent =
        "SELECT channel, address, at FROM chat_last_sent WHERE tenant = ?1";
    storage::detail::Query query(db, kSent);
    storage::detail::BindText(*query, 1, tenant_);
    while (query->executeStep()) {
        last_sent_[{query->getColumn(0).getString(), query->getColumn(1).getString()}] =
            FromEpoch(query->getColumn(2).getInt64());
    }
}

template <typename Job>
void StoredAddressBook::Store(const char* what, Job job) {
    if (writer_ == nullptr) {
        return;  // not started: the cache alone (tests of the sink without storage)
    }
    auto stored = writer_
                      ->Transact([job = std::move(job)](storage::Db& db) {
                          job(db);
                          return 0;
                      })
                      .get();
    if (!stored) {
        // Kept in memory all the same: this process behaves; a restart forgets it.
        AddressBookLog().warn("Could not store chat address state. tenant={} what={} error={}",
                              tenant_, what, stored.error().message);
    }
}

std::optional<std::string> StoredAddressBook::Linked(const std::string& channel,
                                                     const std::string& crm_user) {
    std::lock_guard lock(mutex_);
    const auto found = links_.find({channel, crm_user});
    return found == links_.end() ? std::nullopt : std::optional(found->second);
}

void StoredAddressBook::Linked(const std::string& channel, const std::string& crm_user,
                               const std::string& address) {
    std::lock_guard lock(mutex_);
    links_[{channel, crm_user}] = address;
}

std::optional<std::string> StoredAddressBook::Broken(const std::string& channel,
                                                     const std::string& address) {
    const std::string stored = StoredForm(channel, address);
    std::lock_guard lock(mutex_);
    const auto found = broken_.find({channel, stored});
    return found == broken_.end() ? std::nullopt : std::optional(found->second.reason);
}

void StoredAddressBook::MarkBroken(const std::string& channel, const std::string& address,
                                   const std::string& reason, Timestamp at) {
    storage::BrokenAddress broken{.tenant = tenant_,
                                  .channel = channel,
                                  .address = StoredForm(channel, address),
                                  .shown = Shown(channel, address),
                                  .reason = reason,
                                  .at = at};
    {
        std::lock_guard lock(mutex_);
        broken_[{channel, broken.address}] = broken;
    }
    Store("broken", [broken](storage::Db& db) { storage::MarkAddressBroken(db, broken); });
}

void StoredAddressBook::Unbroken(const std::string& channel, const std::string& address) {
    std::lock_guard lock(mutex_);
    broken_.erase({channel, StoredForm(channel, address)});
}

std::optional<std::string> StoredAddressBook::MovedTo(const std::string& channel,
                                                      const std::string& from) {
    std::lock_guard lock(mutex_);
    const auto found = moved_.find({channel, from});
    return found == moved_.end() ? std::nullopt : std::optional(found->second);
}

void StoredAddressBook::RecordMove(const std::string& channel, const std::string& from,
                                   const std::string& to) {
    {
        std::lock_guard lock(mutex_);
        moved_[{channel, from}] = to;
    }
    const Timestamp at = clock_.Now();
    Store("moved", [this, channel, from, to, at](storage::Db& db) {
        storage::RecordAddressMove(db, tenant_, channel, from, to, at);
    });
}

std::optional<Timestamp> StoredAddressBook::LastSent(const std::string& channel,
                                                     const std::string& address) {
    const std::string stored = StoredForm(channel, address);
    std::lock_guard lock(mutex_);
    const auto found = last_sent_.find({channel, stored});
    return found == last_sent_.end() ? std::nullopt : std::optional(found->second);
}

void StoredAddressBook::RecordSent(const std::string& channel, const std::string& address,
                                   Timestamp at) {
    const std::string stored = StoredForm(channel, address);
    {
        std::lock_guard lock(mutex_);
        Timestamp& last = last_sent_[{channel, stored}];
        last = std::max(last, at);
    }
    Store("sent", [this, channel, stored, at](storage::Db& db) {
        storage::RecordAddressSent(db, tenant_, channel, stored, at);
    });
}

std::vector<StoredAddressBook::BrokenShown> StoredAddressBook::BrokenAddresses() const {
    std::lock_guard lock(mutex_);
    std::vector<BrokenShown> out;
    for (const auto& [key, broken] : broken_) {
        out.push_back({.channel = broken.channel, .shown = broken.shown, .reason = broken.reason});
    }
    return out;
}

}  // namespace fg::engine
