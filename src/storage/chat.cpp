#include "src/storage/chat.hpp"

#include <array>
#include <stdexcept>

#include <openssl/rand.h>

#include "src/common/base64url.hpp"
#include "src/storage/query.hpp"

namespace fg::storage {
namespace {

using detail::BindText;
using detail::BindTime;
using detail::OptionalTime;
using detail::Query;

// 9 random bytes: 72 bits, 12 base64url characters without padding.
constexpr std::size_t kCodeBytes = 9;

LinkCode ReadCode(SQLite::Statement& statement) {
    return LinkCode{.code = statement.getColumn(0).getString(),
                    .tenant = statement.getColumn(1).getString(),
                    .crm_user = statement.getColumn(2).getString(),
                    .created_at = FromEpoch(statement.getColumn(3).getInt64()),
                    .used_at = OptionalTime(statement.getColumn(4))};
}

std::optional<std::string> OptionalText(Query& query) {
    if (!query->executeStep()) {
        return std::nullopt;
    }
    return query->getColumn(0).getString();
}

}  // namespace

void SaveChatLink(Db& db, const ChatLink& link) {
    static constexpr const char* kSql = R"sql(
        INSERT INTO chat_link (tenant, channel, crm_user, address, linked_at)
        VALUES (?1, ?2, ?3, ?4, ?5)
        ON CONFLICT (tenant, channel, crm_user)
        DO UPDATE SET address = excluded.address, linked_at = excluded.linked_at
    )sql";
    Query query(db, kSql);
    BindText(*query, 1, link.tenant);
    BindText(*query, 2, link.channel);
    BindText(*query, 3, link.crm_user);
    BindText(*query, 4, link.address);
    BindTime(*query, 5, link.linked_at);
    query->exec();
}

std::optional<std::string> ChatLinkOf(Db& db, const std::string& tenant, const std::string& channel,
                                      const std::string& crm_user) {
    static constexpr const char* kSql =
        "SELECT address FROM chat_link WHERE tenant = ?1 AND channel = ?2 AND crm_user = ?3";
    Query query(db, kSql);
    BindText(*query, 1, tenant);
    BindText(*query, 2, channel);
    BindText(*query, 3, crm_user);
    return OptionalText(query);
}

std::vector<ChatLink> ChatLinks(Db& db, const std::string& tenant) {
    static constexpr const char* kSql = R"sql(
        SELECT tenant, channel, crm_user, address, linked_at FROM chat_link
        WHERE ?1 = '' OR tenant = ?1 ORDER BY tenant, channel, crm_user
    )sql";
    Query query(db, kSql);
    BindText(*query, 1, tenant);
    std::vector<ChatLink> links;
    while (query->executeStep()) {
        links.push_back({.tenant = query->getColumn(0).getString(),
                         .channel = query->getColumn(1).getString(),
                         .crm_user = query->getColumn(2).getString(),
                         .address = query->getColumn(3).getString(),
                         .linked_at = FromEpoch(query->getColumn(4).getInt64())});
    }
    return links;
}

std::string NewLinkCode() {
    std::array<unsigned char, kCodeBytes> bytes{};
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
        throw std::runtime_error("the random generator failed to make a link code");
    }
    return Base64Url(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

LinkCode IssueLinkCode(Db& db, const std::string& tenant, const std::string& crm_user,
                       Timestamp now) {
    static constexpr const char* kFind = R"sql(
        SELECT code, tenant, crm_user, created_at, used_at FROM chat_link_code
        WHERE tenant = ?1 AND crm_user = ?2 AND used_at IS NULL
        ORDER BY created_at DESC LIMIT 1
    )sql";
    {
        Query query(db, kFind);
        BindText(*query, 1, tenant);
        BindText(*query, 2, crm_user);
        if (query->executeStep()) {
            return ReadCode(*query);
        }
    }
    static constexpr const char* kInsert = R"sql(
        INSERT INTO chat_link_code (code, tenant, crm_user, created_at) VALUES (?1, ?2, ?3, ?4)
    )sql";
    LinkCode code{.code = NewLinkCode(), .tenant = tenant, .crm_user = crm_user, .created_at = now};
    Query query(db, kInsert);
    BindText(*query, 1, code.code);
    BindText(*query, 2, code.tenant);
    BindText(*query, 3, code.crm_user);
    BindTime(*query, 4, code.created_at);
    query->exec();
    return code;
}

std::optional<LinkCode> FindLinkCode(Db& db, const std::string& tenant, const std::string& code) {
    static constexpr const char* kSql = R"sql(
        SELECT code, tenant, crm_user, created_at, used_at FROM chat_link_code
        WHERE code = ?1 AND tenant = ?2
    )sql";
    Query query(db, kSql);
    BindText(*query, 1, code);
    BindText(*query, 2, tenant);
    if (!query->executeStep()) {
        return std::nullopt;
    }
    return ReadCode(*query);
}

bool UseLinkCode(Db& db, const std::string& tenant, const std::string& code, Timestamp at) {
    static constexpr const char* kSql = R"sql(
        UPDATE chat_link_code SET used_at = ?3
        WHERE code = ?1 AND tenant = ?2 AND used_at IS NULL
    )sql";
    Query query(db, kSql);
    BindText(*query, 1, code);
    BindText(*query, 2, tenant);
    BindTime(*query, 3, at);
    return query->exec() == 1;
}

void MarkAddressBroken(Db& db, const BrokenAddress& broken) {
    static constexpr const char* kSql = R"sql(
        INSERT INTO chat_broken (tenant, channel, address, shown, reason, at)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6)
        ON CONFLICT (tenant, channel, address)
        DO UPDATE SET shown = excluded.shown, reason = excluded.reason, at = excluded.at
    )sql";
    Query query(db, kSql);
    BindText(*query, 1, broken.tenant);
    BindText(*query, 2, broken.channel);
    BindText(*query, 3, broken.address);
    BindText(*query, 4, broken.shown);
    BindText(*query, 5, broken.reason);
    BindTime(*query, 6, broken.at);
    query->exec();
}

std::optional<std::string> BrokenReason(Db& db, const std::string& tenant,
                                        const std::string& channel, const std::string& address) {
    static constexpr const char* kSql =
        "SELECT reason FROM chat_broken WHERE tenant = ?1 AND channel = ?2 AND address = ?3";
    Query query(db, kSql);
    BindText(*query, 1, tenant);
    BindText(*query, 2, channel);
    BindText(*query, 3, address);
    return OptionalText(query);
}

bool ClearAddressBroken(Db& db, const std::string& tenant, const std::string& channel,
                        const std::string& address) {
    static constexpr const char* kSql =
        "DELETE FROM chat_broken WHERE tenant = ?1 AND channel = ?2 AND address = ?3";
    Query query(db, kSql);
    BindText(*query, 1, tenant);
    BindText(*query, 2, channel);
    BindText(*query, 3, address);
    return query->exec() == 1;
}

std::vector<BrokenAddress> BrokenAddresses(Db& db, const std::string& tenant) {
    static constexpr const char* kSql = R"sql(
        SELECT tenant, channel, address, shown, reason, at FROM chat_broken
        WHERE ?1 = '' OR tenant = ?1 ORDER BY tenant, channel, at
    )sql";
    Query query(db, kSql);
    BindText(*query, 1, tenant);
    std::vector<BrokenAddress> out;
    while (query->executeStep()) {
        out.push_back({.tenant = query->getColumn(0).getString(),
                       .channel = query->getColumn(1).getString(),
                       .address = query->getColumn(2).getString(),
                       .shown = query->getColumn(3).getString(),
                       .reason = query->getColumn(4).getString(),
                       .at = FromEpoch(query->getColumn(5).getInt64())});
    }
    return out;
}

void RecordAddressMove(Db& db, const std::string& tenant, const std::string& channel,
                       const std::string& from, const std::string& to, Timestamp at) {
    static constexpr const char* kSql = R"sql(
        INSERT INTO chat_moved (tenant, channel, from_address, to_address, at)
        VALUES (?1, ?2, ?3, ?4, ?5)
        ON CONFLICT (tenant, channel, from_address)
        DO UPDATE SET to_address = excluded.to_address, at = excluded.at
    )sql";
    Query query(db, kSql);
    BindText(*query, 1, tenant);
    BindText(*query, 2, channel);
    BindText(*query, 3, from);
    BindText(*query, 4, to);
    BindTime(*query, 5, at);
    query->exec();
}

std::optional<std::string> AddressMovedTo(Db& db, const std::string& tenant,
                                          const std::string& channel, const std::string& from) {
    static constexpr const char* kSql = R"sql(
        SELECT to_address FROM chat_moved
        WHERE tenant = ?1 AND channel = ?2 AND from_address = ?3
    )sql";
    Query query(db, kSql);
    BindText(*query, 1, tenant);
    BindText(*query, 2, channel);
    BindText(*query, 3, from);
    return OptionalText(query);
}

void RecordAddressSent(Db& db, const std::string& tenant, const std::string& channel,
                       const std::string& address, Timestamp at) {
    static constexpr const char* kSql = R"sql(
        INSERT INTO chat_last_sent (tenant, channel, address, at) VALUES (?1, ?2, ?3, ?4)
        ON CONFLICT (tenant, channel, address) DO UPDATE SET at = MAX(at, excluded.at)
    )sql";
    Query query(db, kSql);
    BindText(*query, 1, tenant);
    BindText(*query, 2, channel);
    BindText(*query, 3, address);
    BindTime(*query, 4, at);
    query->exec();
}

std::optional<Timestamp> AddressLastSent(Db& db, const std::string& tenant,
                                         const std::string& channel, const std::string& address) {
    static constexpr const char* kSql =
        "SELECT at FROM chat_last_sent WHERE tenant = ?1 AND channel = ?2 AND address = ?3";
    Query query(db, kSql);
    BindText(*query, 1, tenant);
    BindText(*query, 2, channel);
    BindText(*query, 3, address);
    if (!query->executeStep()) {
        return std::nullopt;
    }
    return OptionalTime(query->getColumn(0));
}

std::string ListenerCursor(Db& db, const std::string& tenant, const std::string& channel) {
    static constexpr const char* kSql =
        "SELECT cursor FROM chat_cursor WHERE tenant = ?1 AND channel = ?2";
    Query query(db, kSql);
    BindText(*query, 1, tenant);
    BindText(*query, 2, channel);
    return OptionalText(query).value_or(std::string{});
}

void SaveListenerCursor(Db& db, const std::string& tenant, const std::string& channel,
                        const std::string& cursor) {
    static constexpr const char* kSql = R"sql(
        INSERT INTO chat_cursor (tenant, channel, cursor) VALUES (?1, ?2, ?3)
        ON CONFLICT (tenant, channel) DO UPDATE SET cursor = excluded.cursor
    )sql";
    Query query(db, kSql);
    BindText(*query, 1, tenant);
    BindText(*query, 2, channel);
    BindText(*query, 3, cursor);
    query->exec();
}

bool MarkSummaryDone(Db& db, const std::string& tenant, const std::string& day, Timestamp at) {
    static constexpr const char* kSql = R"sql(
        INSERT INTO chat_summary_done (tenant, day, done_at) VALUES (?1, ?2, ?3)
        ON CONFLICT (tenant, day) DO NOTHING
    )sql";
    Query query(db, kSql);
    BindText(*query, 1, tenant);
    BindText(*query, 2, day);
    BindTime(*query, 3, at);
    return query->exec() == 1;
}

bool SummaryDone(Db& db, const std::string& tenant, const std::string& day) {
    static constexpr const char* kSql =
        "SELECT 1 FROM chat_summary_done WHERE tenant = ?1 AND day = ?2";
    Query query(db, kSql);
    BindText(*query, 1, tenant);
    BindText(*query, 2, day);
    return query->executeStep();
}

}  // namespace fg::storage
