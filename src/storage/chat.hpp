#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "src/common/time.hpp"
#include "src/storage/database.hpp"

/// What the chat core knows of people's addresses beyond the config (migration 0008): linked
/// chats, one-time link codes, broken and moved addresses, when each address last got a message,
/// the channel listeners' cursors, and the morning summaries done. Throws SQLite::Exception on
/// database errors; the caller owns the transaction.
namespace fg::storage {

struct ChatLink {
    std::string tenant{};
    std::string channel{};
    std::string crm_user{};
    std::string address{};
    Timestamp linked_at{};
};

/// Links `crm_user`'s chat on `channel` to `address`, replacing an earlier link.
void SaveChatLink(Db& db, const ChatLink& link);
std::optional<std::string> ChatLinkOf(Db& db, const std::string& tenant, const std::string& channel,
                                      const std::string& crm_user);
/// Every link of a tenant (all when empty), by channel and person.
std::vector<ChatLink> ChatLinks(Db& db, const std::string& tenant);

struct LinkCode {
    std::string code{};
    std::string tenant{};
    std::string crm_user{};
    Timestamp created_at{};
    std::optional<Timestamp> used_at{};
};

/// A new random one-time code: 9 bytes of OpenSSL's RAND_bytes in base64url (12 characters).
/// Throws std::runtime_error when the generator fails.
std::string NewLinkCode();
/// The person's unused code, or a new one stored now.
LinkCode IssueLinkCode(Db& db, const std::string& tenant, const std::string& crm_user,
                       Timestamp now);
/// The code of the tenant as stored (used or not), or nullopt when it never was one.
std::optional<LinkCode> FindLinkCode(Db& db, const std::string& tenant, const std::string& code);
/// Marks the code used; false when it was used already (or does not exist).
bool UseLinkCode(Db& db, const std::string& tenant, const std::string& code, Timestamp at);

struct BrokenAddress {
    std::string tenant{};
    std::string channel{};
    std::string address{};  // as stored (a digest for a secret one)
    std::string shown{};    // as it may be shown
    std::string reason{};
    Timestamp at{};
};
void MarkAddressBroken(Db& db, const BrokenAddress& broken);
std::optional<std::string> BrokenReason(Db& db, const std::string& tenant,
                                        const std::string& channel, const std::string& address);
/// Forgets a broken mark (the address was linked again); false when there was none.
bool ClearAddressBroken(Db& db, const std::string& tenant, const std::string& channel,
                        const std::string& address);
/// Every broken address of a tenant (all when empty).
std::vector<BrokenAddress> BrokenAddresses(Db& db, const std::string& tenant);

void RecordAddressMove(Db& db, const std::string& tenant, const std::string& channel,
                       const std::string& from, const std::string& to, Timestamp at);
std::optional<std::string> AddressMovedTo(Db& db, const std::string& tenant,
                                          const std::string& channel, const std::string& from);

void RecordAddressSent(Db& db, const std::string& tenant, const std::string& channel,
                       const std::string& address, Timestamp at);
std::optional<Timestamp> AddressLastSent(Db& db, const std::string& tenant,
                                         const std::string& channel, const std::string& address);

/// A channel listener's saved position; empty when none was saved.
std::string ListenerCursor(Db& db, const std::string& tenant, const std::string& channel);
void SaveListenerCursor(Db& db, const std::string& tenant, const std::string& channel,
                        const std::string& cursor);

/// Records the tenant's morning summary of local day `day` (YYYY-MM-DD) as done; false when it
/// was already.
bool MarkSummaryDone(Db& db, const std::string& tenant, const std::string& day, Timestamp at);
bool SummaryDone(Db& db, const std::string& tenant, const std::string& day);

}  // namespace fg::storage
