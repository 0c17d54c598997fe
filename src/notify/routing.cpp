#include "src/notify/routing.hpp"

namespace fg::notify {
namespace {

// Follows the moves the service reported (a group upgraded twice moves twice), never looping.
std::string Followed(AddressBook& book, const std::string& channel, std::string address) {
    for (int hops = 0; hops < 4; ++hops) {
        auto moved = book.MovedTo(channel, address);
        if (!moved || moved->empty() || *moved == address) {
            break;
        }
        address = std::move(*moved);
    }
    return address;
}

std::optional<Address> Usable(AddressBook& book, const std::string& channel, std::string value,
                              bool group) {
    value = Followed(book, channel, std::move(value));
    if (book.Broken(channel, value)) {
        return std::nullopt;
    }
    return Address{.value = std::move(value), .group = group};
}

}  // namespace

const config::Person* FindPerson(const config::TenantConfig& tenant, std::string_view crm_user,
                                 std::string_view shown_name) {
    for (const config::Person& person : tenant.people) {
        if (person.crm_user == crm_user) {
            return &person;
        }
    }
    if (shown_name.empty()) {
        return nullptr;
    }
    for (const config::Person& person : tenant.people) {
        if (person.crm_user == shown_name) {
            return &person;
        }
    }
    return nullptr;
}

const config::Team* TeamOf(const config::TenantConfig& tenant, const config::Person& person) {
    if (person.team.empty()) {
        return nullptr;
    }
    for (const config::Team& team : tenant.teams) {
        if (team.id == person.team) {
            return &team;
        }
    }
    return nullptr;
}

const config::Person* HeadOf(const config::TenantConfig& tenant, const config::Person& person) {
    const config::Team* team = TeamOf(tenant, person);
    return team == nullptr ? nullptr : FindPerson(tenant, team->head);
}

std::string DisplayName(const config::Person& person, const UserNames& names) {
    if (!person.name.empty()) {
        return person.name;
    }
    if (names) {
        if (std::string shown = names(person.crm_user); !shown.empty()) {
            return shown;
        }
    }
    return person.crm_user;
}

std::optional<Address> AddressOf(const config::TenantConfig& tenant, AddressBook& book,
                                 const std::string& channel, const config::Person& person) {
    (void)tenant;
    if (auto linked = book.Linked(channel, person.crm_user); linked && !linked->empty()) {
        return Usable(book, channel, std::move(*linked), false);
    }
    const auto configured = person.addresses.find(channel);
    if (configured == person.addresses.end()) {
        return std::nullopt;
    }
    return Usable(book, channel, configured->second, false);
}

std::optional<Address> GroupAddressOf(AddressBook& book, const std::string& channel,
                                      const config::Team& team) {
    const auto configured = team.chats.find(channel);
    if (configured == team.chats.end()) {
        return std::nullopt;
    }
    return Usable(book, channel, configured->second, true);
}

bool Reachable(const config::TenantConfig& tenant, AddressBook& book,
               const config::Person& person) {
    for (const auto& [channel, settings] : tenant.chat_channels) {
        if (AddressOf(tenant, book, channel, person)) {
            return true;
        }
    }
    return false;
}

std::optional<Recipient> FallbackToHead(const config::TenantConfig& tenant, AddressBook& book,
                                        const std::string& channel, const Recipient& recipient) {
    if (recipient.person == nullptr || recipient.covering_for != nullptr) {
        return std::nullopt;  // a group, or already the head covering
    }
    const config::Person* head = HeadOf(tenant, *recipient.person);
    if (head == nullptr || head == recipient.person) {
        return std::nullopt;
    }
    auto address = AddressOf(tenant, book, channel, *head);
    if (!address) {
        return std::nullopt;
    }
    return Recipient{
        .person = head, .address = std::move(*address), .covering_for = recipient.person};
}

Routing Route(const config::TenantConfig& tenant, AddressBook& book, const std::string& channel,
              MessageKind kind, const std::string& to, const UserNames& names) {
    Routing routing;
    const config::Person* person = FindPerson(tenant, to, names ? names(to) : std::string());
    if (person == nullptr) {
        routing.unknown_person = to;
        return routing;
    }
    switch (kind) {
        case MessageKind::kNotify:
            if (auto address = AddressOf(tenant, book, channel, *person)) {
                routing.recipients.push_back({.person = person, .address = std::move(*address)});
            } else if (!Reachable(tenant, book, *person)) {
                if (auto head = FallbackToHead(tenant, book, channel, {.person = person})) {
                    routing.recipients.push_back(std::move(*head));
                }
            }
            break;
        case MessageKind::kEscalate: {
            const config::Person* head = HeadOf(tenant, *person);
            if (head != nullptr) {
                if (auto address = AddressOf(tenant, book, channel, *head)) {
                    routing.recipients.push_back({.person = head, .address = std::move(*address)});
                }
            }
            if (const config::Team* team = TeamOf(tenant, *person)) {
                if (auto group = GroupAddressOf(book, channel, *team)) {
                    routing.recipients.push_back({.team = team, .address = std::move(*group)});
                }
            }
            break;
        }
        case MessageKind::kSummary:
            if (auto address = AddressOf(tenant, book, channel, *person)) {
                routing.recipients.push_back({.person = person, .address = std::move(*address)});
            }
            break;
    }
    return routing;
}

}  // namespace fg::notify
