// Who gets a message: the responsible manager, their head for an escalation (and the team's
// group), the head covering a manager without an address, links, broken and moved addresses.
#include "src/notify/routing.hpp"

#include <doctest/doctest.h>

#include "tests/support/fake_channel.hpp"
#include "tests/unit/notify/support.hpp"

namespace fg::notify {
namespace {

using fg::testing::MemoryAddressBook;

std::vector<std::string> Addresses(const Routing& routing) {
    std::vector<std::string> out;
    for (const Recipient& recipient : routing.recipients) {
        out.push_back(recipient.address.value);
    }
    return out;
}

TEST_CASE("A notify goes to the responsible's own address") {
    const config::TenantConfig tenant = testing::Tenant();
    MemoryAddressBook book;
    const Routing routing = Route(tenant, book, "tg", MessageKind::kNotify, "u1");
    REQUIRE(routing.recipients.size() == 1);
    CHECK(routing.recipients[0].person->crm_user == "u1");
    CHECK(routing.recipients[0].address.value == "101");
    CHECK_FALSE(routing.recipients[0].address.group);
    CHECK(routing.recipients[0].covering_for == nullptr);
}

TEST_CASE("A manager with no address on any channel is covered by their head") {
    const config::TenantConfig tenant = testing::Tenant();
    MemoryAddressBook book;
    const Routing routing = Route(tenant, book, "tg", MessageKind::kNotify, "u2");
    REQUIRE(routing.recipients.size() == 1);
    CHECK(routing.recipients[0].person->crm_user == "h1");
    CHECK(routing.recipients[0].address.value == "900");
    REQUIRE(routing.recipients[0].covering_for != nullptr);
    CHECK(routing.recipients[0].covering_for->crm_user == "u2");
}

TEST_CASE("A manager who reads another channel gets nothing here, and is not covered") {
    config::TenantConfig tenant = testing::Tenant();
    tenant.chat_channels["hook"] = std::make_shared<config::ChannelSettings>();
    tenant.people[1].addresses["hook"] = "https://hooks.example/u2";
    MemoryAddressBook book;
    CHECK(Route(tenant, book, "tg", MessageKind::kNotify, "u2").recipients.empty());
    CHECK(Addresses(Route(tenant, book, "hook", MessageKind::kNotify, "u2")) ==
          std::vector<std::string>{"https://hooks.example/u2"});
}

TEST_CASE("An escalation goes to the responsible's head and the team's group") {
    const config::TenantConfig tenant = testing::Tenant();
    MemoryAddressBook book;
    const Routing routing = Route(tenant, book, "tg", MessageKind::kEscalate, "u1");
    CHECK(Addresses(routing) == std::vector<std::string>{"900", "-100500"});
    CHECK(routing.recipients[1].team->id == "north");
    CHECK(routing.recipients[1].address.group);
}

TEST_CASE("An unknown CRM user goes to no one and is named") {
    const config::TenantConfig tenant = testing::Tenant();
    MemoryAddressBook book;
    for (const MessageKind kind :
         {MessageKind::kNotify, MessageKind::kEscalate, MessageKind::kSummary}) {
        const Routing routing = Route(tenant, book, "tg", kind, "u404");
        CHECK(routing.recipients.empty());
        CHECK(routing.unknown_person == "u404");
    }
}

TEST_CASE("A person is found by the name the CRM shows for the user id") {
    config::TenantConfig tenant = testing::Tenant();
    tenant.people[0].crm_user = "Иван Петров";  // the config names them as the CRM shows them
    MemoryAddressBook book;
    const UserNames names = [](const std::string& id) {
        return id == "8000001" ? std::string("Иван Петров") : std::string();
    };
    CHECK(Addresses(Route(tenant, book, "tg", MessageKind::kNotify, "8000001", names)) ==
          std::vector<std::string>{"101"});
    CHECK(Route(tenant, book, "tg", MessageKind::kNotify, "8000001").unknown_person == "8000001");
}

TEST_CASE("Linked addresses replace configured ones; broken are skipped; moved are followed") {
    const config::TenantConfig tenant = testing::Tenant();
    MemoryAddressBook book;
    SUBCASE("linked") {
        book.Link("tg", "u1", "555");
        CHECK(Addresses(Route(tenant, book, "tg", MessageKind::kNotify, "u1")) ==
              std::vector<std::string>{"555"});
        // A manager without a configured address who linked one is not covered any more.
        book.Link("tg", "u2", "777");
        CHECK(Addresses(Route(tenant, book, "tg", MessageKind::kNotify, "u2")) ==
              std::vector<std::string>{"777"});
    }
    SUBCASE("broken: the head covers") {
        book.MarkBroken("tg", "101", "bot was blocked by the user",
                        testing::At("2026-11-02T07:00:00Z"));
        const Routing routing = Route(tenant, book, "tg", MessageKind::kNotify, "u1");
        CHECK(Addresses(routing) == std::vector<std::string>{"900"});
        CHECK(routing.recipients[0].covering_for->crm_user == "u1");
    }
    SUBCASE("a moved group") {
        book.RecordMove("tg", "-100500", "-100999");
        CHECK(Addresses(Route(tenant, book, "tg", MessageKind::kEscalate, "u1")) ==
              std::vector<std::string>{"900", "-100999"});
    }
}

TEST_CASE("A summary goes to its person only, never covered") {
    const config::TenantConfig tenant = testing::Tenant();
    MemoryAddressBook book;
    CHECK(Addresses(Route(tenant, book, "tg", MessageKind::kSummary, "h1")) ==
          std::vector<std::string>{"900"});
    CHECK(Route(tenant, book, "tg", MessageKind::kSummary, "u2").recipients.empty());
}

}  // namespace
}  // namespace fg::notify
