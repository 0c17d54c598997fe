#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/config/config.hpp"
#include "src/notify/address_book.hpp"
#include "src/notify/port.hpp"

/// Who a chat message goes to on one channel: the people of `[[tenant.person]]` and
/// `[[tenant.team]]`, their configured addresses, and what the AddressBook knows beyond them
/// (linked, broken, moved). Pure but for the AddressBook's reads.
namespace fg::notify {

/// What a message action is, for routing and composing.
enum class MessageKind { kNotify, kEscalate, kSummary };

/// The name the CRM shows for a user id (its directory), or empty when unknown.
using UserNames = std::function<std::string(const std::string& crm_user)>;

/// The person the CRM knows as `crm_user`: a [[tenant.person]] whose crm_user is that id, or
/// the name the CRM shows for it (`shown_name`, may be empty). Null when none.
const config::Person* FindPerson(const config::TenantConfig& tenant, std::string_view crm_user,
                                 std::string_view shown_name = {});
/// The team `person` belongs to, or null.
const config::Team* TeamOf(const config::TenantConfig& tenant, const config::Person& person);
/// The head of `person`'s team (never `person` itself... unless they head their own team), or
/// null when they have no team or it has no head among the people.
const config::Person* HeadOf(const config::TenantConfig& tenant, const config::Person& person);
/// How people read `person`: their configured name, else the CRM's, else the crm_user.
std::string DisplayName(const config::Person& person, const UserNames& names = {});

/// Where `person` reads `channel` now: a linked address replaces the configured one, a moved
/// one is followed, a broken one is none.
std::optional<Address> AddressOf(const config::TenantConfig& tenant, AddressBook& book,
                                 const std::string& channel, const config::Person& person);
/// Where the team's group reads `channel` (group = true), moved followed, broken none.
std::optional<Address> GroupAddressOf(AddressBook& book, const std::string& channel,
                                      const config::Team& team);
/// Whether `person` can be reached on any channel the tenant uses.
bool Reachable(const config::TenantConfig& tenant, AddressBook& book, const config::Person& person);

/// One addressee of a message on one channel.
struct Recipient {
    const config::Person* person = nullptr;  // null for a team's group chat
    const config::Team* team = nullptr;      // set for a team's group chat
    Address address{};
    /// The person this message is really for when `person` (their head) covers for them: they
    /// have no address on any channel of the tenant.
    const config::Person* covering_for = nullptr;
};

struct Routing {
    std::vector<Recipient> recipients{};
    /// The CRM user the config does not know (to be reported once); recipients are empty then.
    std::string unknown_person{};
};

/// The recipients on `channel` of a `kind` message for the CRM user `to`:
/// - notify: `to` on this channel; when `to` has no address on any channel, their head, covering;
/// - escalate: the head of `to`'s team, and the team's group chat;
/// - summary: `to` themselves (a summary is never covered: the head has their own).
/// A person with an address on another channel only gets nothing here. An unknown `to` gets no
/// one and is named in Routing::unknown_person.
Routing Route(const config::TenantConfig& tenant, AddressBook& book, const std::string& channel,
              MessageKind kind, const std::string& to, const UserNames& names = {});

/// The head's fallback for a recipient whose address turned out gone: `recipient.person`'s
/// head on `channel` (covering for the person the message was for), or nullopt.
std::optional<Recipient> FallbackToHead(const config::TenantConfig& tenant, AddressBook& book,
                                        const std::string& channel, const Recipient& recipient);

}  // namespace fg::notify
