// The chat sink: due message actions grouped by address, digest, cooldown, working time, the
// channel's limits, fallback to the head, moved addresses, ambiguous sends.
#include "src/notify/chat_sink.hpp"

#include <doctest/doctest.h>

#include "tests/support/fake_channel.hpp"
#include "tests/unit/notify/support.hpp"

namespace fg::notify {
namespace {

using outbox::Action;
using outbox::DeliveryStatus;
using testing::At;
using testing::Violation;
using namespace std::chrono_literals;

struct Fixture {
    explicit Fixture(config::TenantConfig tenant_in = testing::Tenant(),
                     Timestamp now = At("2026-11-02T10:00:00+03:00"))
        : tenant(std::move(tenant_in)), clock(now) {
        schema.name = "tg";
        channel = std::make_shared<fg::testing::FakeChannel>();
        sink = MakeChatSink({.tenant = &tenant,
                             .schema = &schema,
                             .channel = channel,
                             .book = &book,
                             .observer = &observer,
                             .clock = &clock});
    }

    std::vector<outbox::DeliveryResult> Deliver(const std::vector<outbox::ActionBody>& bodies,
                                                int attempt = 1, bool previous_not_sent = false) {
        std::vector<Action> actions;
        for (const outbox::ActionBody& body : bodies) {
            actions.push_back({.channel = "tg",
                               .body = body,
                               .attempt = attempt,
                               .previous_not_sent = previous_not_sent});
        }
        return sink.sink->DeliverBatch(actions);
    }

    config::TenantConfig tenant;
    config::NotifierSchema schema{};
    ManualClock clock;
    fg::testing::MemoryAddressBook book{};
    fg::testing::RecordingObserver observer{};
    std::shared_ptr<fg::testing::FakeChannel> channel{};
    outbox::PacedSink sink{};
};

TEST_CASE("The sink takes batches of 50 and paces generously") {
    Fixture fixture;
    CHECK(fixture.sink.sink->MaxBatch(outbox::ActionKind::kNotify) == 50);
    CHECK(fixture.sink.calls_per_second >= 10);
}

TEST_CASE("Three violations due together for one person are one digest send") {
    Fixture fixture;
    const auto results =
        fixture.Deliver({Violation(1, "u1"), Violation(2, "u1"), Violation(3, "u1")});
    REQUIRE(results.size() == 3);
    for (const auto& result : results) {
        CHECK(result.status == DeliveryStatus::kDelivered);
    }
    const auto sent = fixture.channel->sent();
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].to.value == "101");
    CHECK(PlainText(sent[0].message).find("Новые нарушения: 3") != std::string::npos);
    CHECK(sent[0].message.reference == "#V-1 #V-2 #V-3");
    CHECK(fixture.observer.sent_kinds == std::vector<std::string>{"notify"});
    CHECK(fixture.book.LastSent("tg", "101") == fixture.clock.Now());
}

TEST_CASE("A digest window holds the first violation and gathers the next") {
    config::TenantConfig tenant = testing::Tenant();
    tenant.chat.digest = 30min;
    Fixture fixture(tenant);
    auto first = fixture.Deliver({Violation(1, "u1")});
    CHECK(first[0].status == DeliveryStatus::kRetry);
    CHECK(first[0].not_sent);
    CHECK(first[0].retry_after == 30min);
    fixture.clock.Advance(10min);
    auto second = fixture.Deliver({Violation(2, "u1")});
    CHECK(second[0].retry_after == 20min);  // the window the first one opened
    CHECK(fixture.channel->sent().empty());
    fixture.clock.Advance(20min);
    auto both = fixture.Deliver({Violation(1, "u1"), Violation(2, "u1")});
    CHECK(both[0].status == DeliveryStatus::kDelivered);
    CHECK(both[1].status == DeliveryStatus::kDelivered);
    CHECK(fixture.channel->sent().size() == 1);
}

TEST_CASE("A digest window whose messages never came back does not hold later ones short") {
    config::TenantConfig tenant = testing::Tenant();
    tenant.chat.digest = 30min;
    Fixture fixture(tenant);
    CHECK(fixture.Deliver({Violation(1, "u1")})[0].retry_after == 30min);
    // Violation 1 was resolved before its window ended: its action never comes back.
    fixture.clock.Advance(2h);
    CHECK(fixture.Deliver({Violation(2, "u1")})[0].retry_after == 30min);
    CHECK(fixture.channel->sent().empty());
}

TEST_CASE("Cooldown holds a person's second message") {
    Fixture fixture;
    CHECK(fixture.Deliver({Violation(1, "u1")})[0].status == DeliveryStatus::kDelivered);
    fixture.clock.Advance(3min);
    const auto held = fixture.Deliver({Violation(2, "u1")});
    CHECK(held[0].status == DeliveryStatus::kRetry);
    CHECK(held[0].not_sent);
    CHECK(held[0].retry_after == 7min);
    CHECK(fixture.channel->sent().size() == 1);
    fixture.clock.Advance(7min);
    CHECK(fixture.Deliver({Violation(2, "u1")})[0].status == DeliveryStatus::kDelivered);
    CHECK(fixture.channel->sent().size() == 2);
}

TEST_CASE("Outside working hours a message waits for the next working start") {
    Fixture fixture(testing::Tenant(), At("2026-11-06T20:00:00+03:00"));  // Friday evening
    const auto held = fixture.Deliver({Violation(1, "u1")});
    CHECK(held[0].status == DeliveryStatus::kRetry);
    CHECK(held[0].not_sent);
    CHECK(fixture.clock.Now() + *held[0].retry_after == At("2026-11-09T09:00:00+03:00"));
    CHECK(fixture.channel->sent().empty());
    fixture.clock.Set(At("2026-11-09T09:00:00+03:00"));
    CHECK(fixture.Deliver({Violation(1, "u1")})[0].status == DeliveryStatus::kDelivered);
}

TEST_CASE("The channel's limits hold a message without counting a failure") {
    Fixture fixture;
    fixture.channel->SetWait("101", 2s);
    const auto held = fixture.Deliver({Violation(1, "u1")});
    CHECK(held[0].status == DeliveryStatus::kRetry);
    CHECK(held[0].not_sent);
    CHECK(held[0].retry_after == 2s);
    CHECK(fixture.channel->sent().empty());
}

TEST_CASE("The head covers a manager without an address, with a line saying so") {
    Fixture fixture;
    const auto results = fixture.Deliver({Violation(1, "u2")});
    CHECK(results[0].status == DeliveryStatus::kDelivered);
    const auto sent = fixture.channel->SentTo("900");
    REQUIRE(sent.size() == 1);
    CHECK(PlainText(sent[0].message).find("Олег Сидоров не подключён к чату, сообщение для него") ==
          0);
}

TEST_CASE("A gone address falls back to the head and is not tried again") {
    Fixture fixture;
    fixture.channel->Script("101", fg::testing::FakeChannel::Gone("Forbidden: bot was blocked"));
    const auto results = fixture.Deliver({Violation(1, "u1")});
    CHECK(results[0].status == DeliveryStatus::kDelivered);
    CHECK(fixture.book.Broken("tg", "101") == "Forbidden: bot was blocked");
    CHECK(fixture.observer.broken == std::vector<std::string>{"101: Forbidden: bot was blocked"});
    const auto head = fixture.channel->SentTo("900");
    REQUIRE(head.size() == 1);
    CHECK(PlainText(head[0].message).find("Иван Петров не подключён к чату") == 0);

    fixture.clock.Advance(1h);
    CHECK(fixture.Deliver({Violation(2, "u1")})[0].status == DeliveryStatus::kDelivered);
    CHECK(fixture.channel->SentTo("101").size() == 1);  // the one that failed
    CHECK(fixture.channel->SentTo("900").size() == 2);
}

TEST_CASE("A gone address with no head to fall back to is refused, clearly") {
    config::TenantConfig tenant = testing::Tenant();
    tenant.people[0].team.clear();
    Fixture fixture(tenant);
    fixture.channel->Script("101", fg::testing::FakeChannel::Gone("Bad Request: chat not found"));
    const auto results = fixture.Deliver({Violation(1, "u1")});
    CHECK(results[0].status == DeliveryStatus::kRejected);
    CHECK(results[0].error.find("no head") != std::string::npos);
}

TEST_CASE("A secret address is shown redacted when it breaks") {
    Fixture fixture;
    fixture.schema.secret_addresses = true;
    fixture.tenant.people[0].addresses["tg"] = "https://hooks.example/services/T0/B0/secret";
    fixture.channel->Script("https://hooks.example/services/T0/B0/secret",
                            fg::testing::FakeChannel::Gone("webhook revoked"));
    fixture.Deliver({Violation(1, "u1")});
    REQUIRE(fixture.observer.broken.size() == 1);
    CHECK(fixture.observer.broken[0] == "https://hooks.example/…: webhook revoked");
}

TEST_CASE("A moved address is recorded and followed") {
    Fixture fixture;
    fixture.channel->Script("-100500", fg::testing::FakeChannel::Moved("-100999"));
    const auto results =
        fixture.Deliver({Violation(1, "u1", "deal_without_task", domain::ActionKind::kEscalate)});
    CHECK(results[0].status == DeliveryStatus::kDelivered);
    CHECK(fixture.book.MovedTo("tg", "-100500") == "-100999");
    CHECK(fixture.channel->SentTo("-100999").size() == 1);
    fixture.clock.Advance(1h);
    fixture.Deliver({Violation(2, "u1", "deal_without_task", domain::ActionKind::kEscalate)});
    CHECK(fixture.channel->SentTo("-100500").size() == 1);  // only the first try
    CHECK(fixture.channel->SentTo("-100999").size() == 2);
}

TEST_CASE("An escalation goes to the head and the team's group, with the ack button") {
    Fixture fixture;
    const auto results =
        fixture.Deliver({Violation(9, "u1", "deal_without_task", domain::ActionKind::kEscalate)});
    CHECK(results[0].status == DeliveryStatus::kDelivered);
    for (const std::string address : {"900", "-100500"}) {
        const auto sent = fixture.channel->SentTo(address);
        REQUIRE(sent.size() == 1);
        CHECK(PlainText(sent[0].message).find("Менеджер: Иван Петров") != std::string::npos);
        REQUIRE(sent[0].message.buttons.size() == 2);
        CHECK(sent[0].message.buttons[1].callback == "ack:v:9");
    }
    CHECK(fixture.channel->SentTo("-100500")[0].to.group);
    CHECK(fixture.observer.sent_kinds == std::vector<std::string>{"escalate", "escalate"});
}

TEST_CASE("An escalation that reached the head is not resent when the group must wait") {
    Fixture fixture;
    fixture.channel->SetWait("-100500", 3s);
    const auto body = Violation(9, "u1", "deal_without_task", domain::ActionKind::kEscalate);
    auto first = fixture.Deliver({body});
    CHECK(first[0].status == DeliveryStatus::kRetry);
    CHECK(first[0].retry_after == 3s);
    fixture.channel->SetWait("-100500", 0s);
    fixture.clock.Advance(3s);
    CHECK(fixture.Deliver({body}, 2, true)[0].status == DeliveryStatus::kDelivered);
    CHECK(fixture.channel->SentTo("900").size() == 1);
    CHECK(fixture.channel->SentTo("-100500").size() == 1);
}

TEST_CASE("After an ambiguous send: once more with the identical body, then delivered-unknown") {
    Fixture fixture;
    fixture.channel->Script("101", fg::testing::FakeChannel::Ambiguous());
    fixture.channel->Script("101", fg::testing::FakeChannel::Ambiguous());
    const std::vector<outbox::ActionBody> bodies = {Violation(1, "u1"), Violation(2, "u1")};
    const auto first = fixture.Deliver(bodies);
    CHECK(first[0].status == DeliveryStatus::kRetry);
    CHECK_FALSE(first[0].not_sent);
    fixture.clock.Advance(1min);  // inside cooldown: a resend does not wait for it
    const auto second = fixture.Deliver(bodies, 2, false);
    REQUIRE(fixture.channel->sent().size() == 2);
    CHECK(PlainText(fixture.channel->sent()[1].message) ==
          PlainText(fixture.channel->sent()[0].message));
    CHECK(fixture.channel->sent()[1].attempt == 2);
    CHECK_FALSE(fixture.channel->sent()[1].previous_not_sent);
    for (const auto& result : second) {
        CHECK(result.status == DeliveryStatus::kRejected);
        CHECK(result.error.find("delivered-unknown") != std::string::npos);
    }
}

TEST_CASE("A resend after an ambiguous send that lands is delivered") {
    Fixture fixture;
    fixture.channel->Script("101", fg::testing::FakeChannel::Ambiguous());
    fixture.Deliver({Violation(1, "u1")});
    CHECK(fixture.Deliver({Violation(1, "u1")}, 2, false)[0].status == DeliveryStatus::kDelivered);
    CHECK(fixture.channel->sent().size() == 2);
}

TEST_CASE("A gone channel keeps messages queued and is reported, then cleared") {
    Fixture fixture;
    fixture.channel->Script("101", fg::testing::FakeChannel::ChannelGone("Unauthorized"));
    const auto held = fixture.Deliver({Violation(1, "u1")});
    CHECK(held[0].status == DeliveryStatus::kRetry);
    CHECK(held[0].not_sent);
    CHECK(held[0].retry_after == 60s);
    CHECK(fixture.observer.problems == std::vector<std::string>{"Unauthorized"});
    fixture.clock.Advance(60s);
    CHECK(fixture.Deliver({Violation(1, "u1")}, 2, true)[0].status == DeliveryStatus::kDelivered);
    CHECK(fixture.observer.problems == std::vector<std::string>{"Unauthorized", ""});
}

TEST_CASE("An unknown person is reported once and nothing is sent") {
    Fixture fixture;
    const auto results = fixture.Deliver({Violation(1, "u404"), Violation(2, "u404")});
    CHECK(results[0].status == DeliveryStatus::kRejected);
    CHECK(results[0].error.find("u404") != std::string::npos);
    fixture.Deliver({Violation(3, "u404", "deal_without_task", domain::ActionKind::kEscalate)});
    CHECK(fixture.observer.unknown == std::vector<std::string>{"u404"});
    CHECK(fixture.channel->sent().empty());
}

TEST_CASE("An observe-mode tenant gets nothing sent") {
    config::TenantConfig tenant = testing::Tenant();
    tenant.mode = config::Mode::kObserve;
    Fixture fixture(tenant);
    CHECK(fixture.Deliver({Violation(1, "u1")})[0].status == DeliveryStatus::kRejected);
    CHECK(fixture.channel->sent().empty());
}

TEST_CASE("One batch, several people: one send per address") {
    Fixture fixture;
    const auto results =
        fixture.Deliver({Violation(1, "u1"), Violation(2, "u2"), Violation(3, "u1")});
    for (const auto& result : results) {
        CHECK(result.status == DeliveryStatus::kDelivered);
    }
    CHECK(fixture.channel->SentTo("101").size() == 1);
    CHECK(fixture.channel->SentTo("900").size() == 1);
}

}  // namespace
}  // namespace fg::notify
