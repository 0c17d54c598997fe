// The engine's side of chat: its channels checked and listened to, the address book it keeps,
// links by one-time code and acknowledgements by button, and messages of a violation resolved
// before they went out dropped.
#include <doctest/doctest.h>

#include "src/engine/chat_inbound.hpp"
#include "src/storage/store.hpp"
#include "tests/unit/engine/chat_support.hpp"

namespace fg::chat_test {
namespace chat_test_file {

const std::string kNotifyRules =
    "  [tenant.rules.stage_order]\n  actions = [\"note\", \"notify\"]\n";

std::map<std::string, storage::OutboxStatus> OutboxByKey(testing::TempDir& dir) {
    auto db = OpenDb(dir);
    std::map<std::string, storage::OutboxStatus> out;
    SQLite::Statement query((*db).sql(), "SELECT idempotency_key, status FROM outbox");
    while (query.executeStep()) {
        const std::string status = query.getColumn(1).getString();
        out[query.getColumn(0).getString()] = status == "done" ? storage::OutboxStatus::kDone
                                              : status == "cancelled"
                                                  ? storage::OutboxStatus::kCancelled
                                              : status == "dead" ? storage::OutboxStatus::kDead
                                                                 : storage::OutboxStatus::kPending;
    }
    return out;
}

TEST_CASE("A violation resolved before its message went out: the message is dropped") {
    testing::TempDir dir;
    ManualClock clock(kMonday);
    ChatTenant chat(dir, clock, kNotifyRules);
    std::vector<std::string> crm;
    engine::Engine engine(std::move(chat.options));
    REQUIRE(engine.Start());
    Feed(engine, clock,
         json::array({DealEvent("e1", "101", "Новая", kMonday - 2min),
                      DealEvent("e2", "101", "КП отправлено", kMonday - 1min)}));
    CHECK(OutboxByKey(dir)["acme:v1:notify:testchat"] == storage::OutboxStatus::kPending);
    // The deal is deleted before the outbox worker got to it: resolved (deal_deleted).
    const json deleted = {{"id", "e3"},
                          {"type", "deal.deleted"},
                          {"at", FormatIso8601(kMonday, "Europe/Moscow")},
                          {"deal", {{"id", "101"}}}};
    Feed(engine, clock, json::array({deleted}));
    REQUIRE(engine.Deliver());
    engine.Stop();
    CHECK(OutboxByKey(dir)["acme:v1:notify:testchat"] == storage::OutboxStatus::kCancelled);
    CHECK(chat.channel->Sent().empty());
    auto db = OpenDb(dir);
    CHECK(
        (*db).sql().execAndGet("SELECT last_error FROM outbox WHERE kind = 'notify'").getString() ==
        "cancelled: the violation was resolved (deal_deleted)");
}

TEST_CASE("At start each chat channel is checked; one that fails is reported, not listened to") {
    testing::TempDir dir;
    ManualClock clock(kMonday);
    SUBCASE("it works: listened to until the engine stops") {
        ChatTenant chat(dir, clock, kNotifyRules);
        std::shared_ptr<FakeChannel> channel = chat.channel;
        {
            engine::Engine engine(std::move(chat.options));
            REQUIRE(engine.Start());
            REQUIRE(WaitUntil([&] { return channel->inbound.load() != nullptr; }));
            CHECK(channel->checks == 1);
            CHECK(engine.Ready().chat_channels.empty());
            const std::string metrics = engine.chat().RenderMetrics();
            CHECK(metrics.find("funnelguard_chat_channel_problem{tenant=\"acme\",channel="
                               "\"testchat\"} 0") != std::string::npos);
            CHECK_FALSE(channel->stopped);
            engine.Stop();
        }
        CHECK(channel->stopped);
    }
    SUBCASE("a bad token: in /readyz and /metrics, its messages stay queued") {
        ChatTenant chat(dir, clock, kNotifyRules);
        chat.channel->problem = "the bot token was refused (401 Unauthorized)";
        std::shared_ptr<FakeChannel> channel = chat.channel;
        engine::Engine engine(std::move(chat.options));
        REQUIRE(engine.Start());
        REQUIRE(WaitUntil([&] { return engine.chat().Checked() == 1; }));
        const auto ready = engine.Ready();
        REQUIRE(ready.chat_channels.count("acme/testchat") == 1);
        CHECK(ready.chat_channels.at("acme/testchat") ==
              "the bot token was refused (401 Unauthorized)");
        CHECK(engine.chat().RenderMetrics().find(
                  "funnelguard_chat_channel_problem{tenant=\"acme\",channel=\"testchat\"} 1") !=
              std::string::npos);
        CHECK(channel->inbound.load() == nullptr);
        engine.Stop();
    }
}

TEST_CASE("The address book keeps broken, moved and sent addresses across a restart") {
    testing::TempDir dir;
    ManualClock clock(kMonday);
    {
        ChatTenant chat(dir, clock, kNotifyRules);
        engine::Engine engine(std::move(chat.options));
        REQUIRE(engine.Start());
        notify::AddressBook* book = engine.chat().BookOf("acme");
        REQUIRE(book != nullptr);
        book->MarkBroken("testchat", "100", "Forbidden: bot was blocked by the user", kMonday);
        book->RecordMove("testchat", "-200", "-100200");
        book->RecordSent("testchat", "300", kMonday + 1min);
        CHECK(book->Broken("testchat", "100") == "Forbidden: bot was blocked by the user");
        engine.Stop();
    }
    ChatTenant chat(dir, clock, kNotifyRules);
    engine::Engine engine(std::move(chat.options));
    REQUIRE(engine.Start());
    notify::AddressBook* book = engine.chat().BookOf("acme");
    REQUIRE(book != nullptr);
    CHECK(book->Broken("testchat", "100") == "Forbidden: bot was blocked by the user");
    CHECK_FALSE(book->Broken("testchat", "300"));
    CHECK(book->MovedTo("testchat", "-200") == "-100200");
    CHECK(book->LastSent("testchat", "300") == kMonday + 1min);
    const auto ready = engine.Ready();
    REQUIRE(ready.chat_addresses.count("acme") == 1);
    CHECK(ready.chat_addresses.at("acme").at(0).shown == "100");
    CHECK(engine.chat().RenderMetrics().find(
              "funnelguard_chat_addresses_broken{tenant=\"acme\",channel=\"testchat\"} 1") !=
          std::string::npos);
    engine.Stop();
}

TEST_CASE("A secret address is stored as a digest and shown redacted") {
    ManualClock clock(kMonday);
    engine::StoredAddressBook book("acme", {"slack"}, clock);
    const std::string hook = "https://hooks.slack.com/services/T000/B000/XXXXSECRET";
    CHECK(book.StoredForm("slack", hook).starts_with("sha256:"));
    CHECK(book.StoredForm("slack", hook).find("XXXXSECRET") == std::string::npos);
    CHECK(book.Shown("slack", hook) == "https://hooks.slack.com/…");
    CHECK(book.StoredForm("telegram", "100") == "100");
    book.MarkBroken("slack", hook, "invalid_token", kMonday);
    CHECK(book.Broken("slack", hook) == "invalid_token");
    CHECK(book.BrokenAddresses().at(0).shown == "https://hooks.slack.com/…");
}

struct Linked {
    testing::TempDir dir{};
    ManualClock clock{kMonday};
    ChatTenant chat;
    engine::Engine engine;
    notify::Inbound* inbound = nullptr;

    explicit Linked(const std::string& locale = "ru")
        : chat(dir, clock, kNotifyRules, locale), engine(std::move(chat.options)) {
        REQUIRE(engine.Start());
        REQUIRE(WaitUntil([this] { return chat.channel->inbound.load() != nullptr; }));
        inbound = chat.channel->inbound.load();
    }
    ~Linked() { engine.Stop(); }

    std::string CodeFor(const std::string& crm_user) {
        auto db = OpenDb(dir, /*read_only=*/false);
        storage::WriteTransaction transaction(*db);
        const std::string code = storage::IssueLinkCode(*db, "acme", crm_user, clock.Now()).code;
        transaction.Commit();
        return code;
    }
};

TEST_CASE("A one-time code links its person's chat, once") {
    Linked run;
    notify::AddressBook* book = run.engine.chat().BookOf("acme");
    book->MarkBroken("testchat", "555", "chat not found", kMonday);
    const std::string code = run.CodeFor("petrov");
    const notify::Reply reply = run.inbound->Link(" " + code, {.value = "555"}, "Petr");
    CHECK(reply.done);
    CHECK(reply.reply == "Готово, Пётр Петров: сюда будут приходить нарушения по вашим сделкам");
    CHECK(book->Linked("testchat", "petrov") == "555");
    CHECK_FALSE(book->Broken("testchat", "555"));  // linked again: usable
    {
        auto db = OpenDb(run.dir);
        CHECK(storage::ChatLinkOf(*db, "acme", "testchat", "petrov") == "555");
        CHECK(storage::FindLinkCode(*db, "acme", code)->used_at == kMonday);
        CHECK(storage::BrokenAddresses(*db, "acme").empty());
    }
    // The same update read again is done already; the code from another chat is not.
    CHECK(run.inbound->Link(code, {.value = "555"}, "Petr").done);
    const notify::Reply again = run.inbound->Link(code, {.value = "777"}, "Someone");
    CHECK_FALSE(again.done);
    CHECK(again.reply.find("не подошёл") != std::string::npos);
    CHECK(book->Linked("testchat", "petrov") == "555");
    const notify::Reply unknown = run.inbound->Link("nonsense", {.value = "777"}, "Someone");
    CHECK_FALSE(unknown.done);
    CHECK_FALSE(book->Linked("testchat", "sidorov"));
}

TEST_CASE("Replies follow the tenant's language") {
    Linked run("en");
    const notify::Reply reply = run.inbound->Link(run.CodeFor("sidorov"), {.value = "42"}, "S");
    CHECK(reply.reply == "Done, Сергей Сидоров: violations on your deals will come here");
    CHECK(run.inbound->Link("nonsense", {.value = "42"}, "S").reply.find("did not work") !=
          std::string::npos);
}

TEST_CASE("The ack button acknowledges as the API does, for the head or the responsible") {
    Linked run;
    Feed(run.engine, run.clock,
         json::array({DealEvent("e1", "101", "Новая", kMonday - 2min),
                      DealEvent("e2", "101", "КП отправлено", kMonday - 1min),
                      DealEvent("e3", "102", "Новая", kMonday - 2min),
                      DealEvent("e4", "102", "КП отправлено", kMonday - 1min)}));
    REQUIRE(run.inbound->Link(run.CodeFor("petrov"), {.value = "555"}, "P").done);
    run.clock.Advance(5min);

    SUBCASE("someone else is refused, and nothing changes") {
        const notify::Reply refused = run.inbound->Press("ack:v:1", {.value = "999"}, "X");
        CHECK_FALSE(refused.done);
        CHECK(refused.note.empty());
        auto db = OpenDb(run.dir);
        CHECK_FALSE(storage::GetViolation(*db, 1)->resolved_at);
    }
    SUBCASE("the head: acknowledged, its messages cancelled, the note names them") {
        const notify::Reply reply = run.inbound->Press("ack:v:1", {.value = "555"}, "P");
        CHECK(reply.done);
        CHECK(reply.reply == "Отмечено");
        CHECK(reply.note == "✅ Принято: Пётр Петров, 12:05");
        {
            auto db = OpenDb(run.dir);
            const auto violation = storage::GetViolation(*db, 1);
            CHECK(violation->resolution == "acknowledged");
            CHECK(violation->resolved_at == kMonday + 5min);
        }
        CHECK(OutboxByKey(run.dir)["acme:v1:notify:testchat"] == storage::OutboxStatus::kCancelled);
        const notify::Reply again = run.inbound->Press("ack:v:1", {.value = "555"}, "P");
        CHECK_FALSE(again.done);
        CHECK(again.reply == "Уже закрыто.");
    }
    SUBCASE("the responsible at their configured address") {
        CHECK(run.inbound->Press("ack:v:2", {.value = "100"}, "A").done);
    }
    SUBCASE("a button that is not an ack, or an unknown violation") {
        CHECK_FALSE(run.inbound->Press("ack:v:", {.value = "555"}, "P").done);
        CHECK_FALSE(run.inbound->Press("ack:v:1x", {.value = "555"}, "P").done);
        CHECK_FALSE(run.inbound->Press("ack:v:99", {.value = "555"}, "P").done);
        auto db = OpenDb(run.dir);
        CHECK_FALSE(storage::GetViolation(*db, 1)->resolved_at);
    }
}

TEST_CASE("The listener's cursor is kept across a restart") {
    testing::TempDir dir;
    ManualClock clock(kMonday);
    for (const std::string& expected : {std::string(), std::string("5002")}) {
        ChatTenant chat(dir, clock, kNotifyRules);
        std::shared_ptr<FakeChannel> channel = chat.channel;
        engine::Engine engine(std::move(chat.options));
        REQUIRE(engine.Start());
        REQUIRE(WaitUntil([&] { return channel->inbound.load() != nullptr; }));
        CHECK(channel->inbound.load()->Cursor() == expected);
        channel->inbound.load()->SaveCursor("5002");
        engine.Stop();
    }
}

}  // namespace chat_test_file
}  // namespace fg::chat_test
