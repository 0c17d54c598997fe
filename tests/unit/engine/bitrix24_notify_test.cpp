// Bitrix24 notifications through the engine (issue 11 point 6): a crm = "bitrix24" tenant with
// `[tenant.chat] bitrix24_notify = true`, the program's wiring against the Bitrix24 simulator on
// a manual clock. The rules open violations from the portal's own events; each person hears of
// theirs in im.notify.system.add: once per violation, the escalation to the head after
// escalate_after, the morning summary once, nothing twice across a restart, a resend replacing
// its first copy (TAG), never faster than the portal's bucket, and next to Telegram each
// service at its own pace.
#include <atomic>
#include <map>
#include <set>
#include <sstream>

#include <doctest/doctest.h>

#include "adapters/telegram/fake/fake_bot_api.hpp"
#include "src/app/users.hpp"
#include "src/storage/store.hpp"
#include "tests/unit/engine/bitrix24_notify_support.hpp"

namespace fg::bitrix24_notify_test {
namespace bitrix24_notify_test_file {

// Monday 2026-11-02 12:00 in Moscow: inside working hours.
const Timestamp kMonday = *ParseIso8601("2026-11-02T12:00:00+03:00");
const std::string kNoSummary = "  morning_summary = \"\"\n";

std::map<std::string, std::string> OutboxStatus(Program& program) {
    auto reader = program.engine->OpenReader();
    REQUIRE(reader);
    std::map<std::string, std::string> out;
    SQLite::Statement query((**reader).sql(), "SELECT idempotency_key, status FROM outbox");
    while (query.executeStep()) {
        out[query.getColumn(0).getString()] = query.getColumn(1).getString();
    }
    return out;
}

TEST_CASE(
    "Bitrix24 notify: one per violation, by crm_user id and by bitrix24_user; the head "
    "covers a person without a Bitrix24 address") {
    testing::TempDir dir;
    ManualClock clock(kMonday);
    Portal portal(clock);
    const config::AppConfig config = Load(Config(dir, portal, kNoSummary), dir);
    // Ольга Кузнецова has no address: no config problem, and nothing warns of it...
    CHECK(config::Warnings(config).empty());
    // ...she is covered by her head (chat issue point 1).
    CHECK(config.tenants[0].people[2].addresses.count("bitrix24") == 0);
    {
        // `funnelguard users` lists each person's Bitrix24 user id, implied or written.
        auto db = storage::OpenDatabase(":memory:");
        REQUIRE(db);
        std::ostringstream listed;
        app::PrintUsers(config.tenants[0], app::Notifiers(), **db, clock, listed);
        std::map<std::string, std::string> column;  // crm_user -> the bitrix24 column
        for (const std::string& line : testing::SplitLines(listed.str())) {
            std::istringstream words(line);
            std::vector<std::string> cells;
            for (std::string word; words >> word;) {
                cells.push_back(word);
            }
            if (cells.size() >= 2) {
                column[cells.front()] = cells.back();
            }
        }
        CAPTURE(listed.str());
        CHECK(column["7"] == "7");
        CHECK(column["Мария"] == "9");
        CHECK(column["Ольга"] == "-");
        CHECK(column["1"] == "1");
    }

    Program program(config, clock);
    const std::int64_t petrov = portal.Skip("ООО «Ромашка» [B]VIP[/B]", kPetrov);
    const std::int64_t ivanova = portal.Skip("ИП Васильев", kIvanova);
    const std::int64_t kuznetsova = portal.Skip("АО «Север»", kKuznetsova);
    program.Pump(portal);
    REQUIRE(program.engine->Deliver());

    const auto to_petrov = portal.To(kPetrov);
    REQUIRE(to_petrov.size() == 1);
    CHECK(Contains(to_petrov[0].message, "Пропущен этап воронки"));
    // The deal's title with its brackets neutralised, inside the link to the deal.
    CHECK(Contains(to_petrov[0].message, "ООО «Ромашка» ［B］VIP［/B］"));
    CHECK(Contains(to_petrov[0].message, fmt::format("/crm/deal/details/{}/", petrov)));
    CHECK(to_petrov[0].tag.starts_with("FG|#V-"));
    const auto to_ivanova = portal.To(kIvanova);
    REQUIRE(to_ivanova.size() == 1);
    CHECK(Contains(to_ivanova[0].message, fmt::format("/crm/deal/details/{}/", ivanova)));
    // Her head gets hers, with a line saying for whom.
    const auto to_head = portal.To(kHead);
    REQUIRE(to_head.size() == 1);
    CHECK(Contains(to_head[0].message, fmt::format("/crm/deal/details/{}/", kuznetsova)));
    CHECK(Contains(to_head[0].message, "Ольга Кузнецова не подключён к чату"));
    CHECK(portal.To(kKuznetsova).empty());
    CHECK(portal.Calls() == 3);
    std::set<std::string> tags{to_petrov[0].tag, to_ivanova[0].tag, to_head[0].tag};
    CHECK(tags.size() == 3);

    // Delivering again, and later, sends nothing more.
    REQUIRE(program.engine->Deliver());
    clock.Advance(10min);
    program.Pump(portal);
    REQUIRE(program.engine->Deliver());
    CHECK(portal.Calls() == 3);
    // Not a structured binding: clang 14 cannot capture one in CHECK_MESSAGE's lambda.
    for (const auto& entry : OutboxStatus(program)) {
        CHECK_MESSAGE(entry.second == "done", entry.first);
    }
}

TEST_CASE(
    "Bitrix24 notify: the escalation reaches the head after escalate_after, once; a "
    "violation resolved earlier is not escalated") {
    testing::TempDir dir;
    ManualClock clock(kMonday);
    Portal portal(clock);
    const config::AppConfig config = Load(Config(dir, portal, kNoSummary), dir);
    Program program(config, clock);
    const std::int64_t open = portal.Skip("ООО «Долгострой»", kPetrov);
    const std::int64_t fixed = portal.Skip("ООО «Быстро»", kIvanova);
    program.Pump(portal);
    REQUIRE(program.engine->Deliver());
    REQUIRE(portal.To(kPetrov).size() == 1);
    REQUIRE(portal.To(kIvanova).size() == 1);
    // Мария's deal is deleted within the hour: resolved, never escalated.
    clock.Set(kMonday + 30min);
    REQUIRE(portal.sim->DeleteDeal(fixed));
    program.Pump(portal);

    clock.Set(kMonday + 2h - 1min);
    program.SweepAndDeliver();
    CHECK(portal.To(kHead).empty());

    clock.Set(kMonday + 2h + 1min);
    program.SweepAndDeliver();
    const auto to_head = portal.To(kHead);
    REQUIRE(to_head.size() == 1);
    CHECK(Contains(to_head[0].message, "Эскалация: [B]Пропущен этап воронки[/B]"));
    CHECK(Contains(to_head[0].message, "Алексей Петров"));  // the manager, as the portal names him
    CHECK(Contains(to_head[0].message, fmt::format("/crm/deal/details/{}/", open)));
    CHECK_FALSE(Contains(to_head[0].message, fmt::format("/crm/deal/details/{}/", fixed)));
    const std::uint64_t calls = portal.Calls();
    CHECK(calls == 3);

    clock.Advance(1h);
    program.SweepAndDeliver();
    CHECK(portal.Calls() == calls);
    CHECK(portal.To(kPetrov).size() == 1);
}

TEST_CASE(
    "Bitrix24 notify: working hours, the morning summary once a day, a restart sends "
    "nothing twice") {
    testing::TempDir dir;
    ManualClock clock(*ParseIso8601("2026-11-02T08:00:00+03:00"));
    Portal portal(clock);
    // Notify only: no escalation two working hours later.
    const config::AppConfig config = Load(
        Config(dir, portal, "  morning_summary = \"09:30\"\n", {}, R"(actions = ["notify"])"), dir);
    {
        Program program(config, clock);
        portal.Skip("ООО «Рано»", kPetrov);
        portal.Skip("АО «Север»", kKuznetsova);
        program.Pump(portal);
        // Before working hours: the messages wait.
        program.SweepAndDeliver();
        CHECK(portal.Calls() == 0);
        clock.Set(*ParseIso8601("2026-11-02T09:00:00+03:00"));
        program.SweepAndDeliver();
        CHECK(portal.To(kPetrov).size() == 1);
        CHECK(portal.To(kHead).size() == 1);  // covering for Ольга
        CHECK(portal.Calls() == 2);

        clock.Set(*ParseIso8601("2026-11-02T09:30:00+03:00"));
        program.SweepAndDeliver();
        const auto to_petrov = portal.To(kPetrov);
        REQUIRE(to_petrov.size() == 2);
        CHECK(Contains(to_petrov[1].message, "Доброе утро"));
        CHECK(Contains(to_petrov[1].message, "Открытых нарушений: 1"));
        const auto to_head = portal.To(kHead);
        REQUIRE(to_head.size() == 2);
        CHECK(Contains(to_head[1].message, "Сводка по команде"));
        CHECK(Contains(to_head[1].message, "Алексей Петров"));
        CHECK(Contains(to_head[1].message, "Ольга Кузнецова"));
        // A summary is never covered: the head's own covers the team.
        CHECK(portal.To(kKuznetsova).empty());
        CHECK(portal.Calls() == 4);

        clock.Set(*ParseIso8601("2026-11-02T11:00:00+03:00"));
        program.SweepAndDeliver();
        CHECK(portal.Calls() == 4);
    }
    // A restart on the same database, the same day: nothing is sent again.
    {
        Program program(config, clock);
        clock.Advance(1min);
        program.Pump(portal);
        program.SweepAndDeliver();
        CHECK(portal.Calls() == 4);
        // The next working morning: one summary each again, replacing nothing of Monday's.
        clock.Set(*ParseIso8601("2026-11-03T09:30:00+03:00"));
        program.SweepAndDeliver();
        CHECK(portal.Calls() == 6);
        const auto to_petrov = portal.To(kPetrov);
        REQUIRE(to_petrov.size() == 3);
        CHECK(to_petrov[1].tag != to_petrov[2].tag);
        CHECK(Contains(to_petrov[2].message, "Доброе утро"));
    }
}

TEST_CASE("Bitrix24 notify: nobody to cover or escalate to is said in the outbox") {
    testing::TempDir dir;
    ManualClock clock(kMonday);
    Portal portal(clock);
    // The head too is named as the portal shows her, without a Bitrix24 address.
    std::string text = Config(dir, portal, kNoSummary);
    const std::vector<std::pair<std::string, std::string>> renames = {
        {"crm_user = \"1\"\n  name = \"Ирина Соколова\"", "crm_user = \"Ирина Соколова\""},
        {"head = \"1\"", "head = \"Ирина Соколова\""}};
    for (const auto& [from, to] : renames) {
        REQUIRE(text.find(from) != std::string::npos);
        text.replace(text.find(from), from.size(), to);
    }
    const config::AppConfig config = Load(text, dir);
    Program program(config, clock);
    portal.Skip("АО «Север»", kKuznetsova);
    program.Pump(portal);
    REQUIRE(program.engine->Deliver());
    clock.Set(kMonday + 2h + 1min);
    program.SweepAndDeliver();
    CHECK(portal.Calls() == 0);
    auto reader = program.engine->OpenReader();
    REQUIRE(reader);
    SQLite::Statement query((**reader).sql(),
                            "SELECT kind, status, last_error FROM outbox ORDER BY kind");
    std::vector<std::string> rows;
    while (query.executeStep()) {
        rows.push_back(fmt::format("{} {}: {}", query.getColumn(0).getString(),
                                   query.getColumn(1).getString(), query.getColumn(2).getString()));
    }
    REQUIRE(rows.size() == 2);
    CHECK(Contains(rows[0], "escalate dead"));
    CHECK(Contains(rows[0], "has no head with a chat address"));
    CHECK(Contains(rows[1], "notify dead"));
    CHECK(Contains(rows[1], "has no chat address (nor a head with one)"));
}

// The portal behind a proxy that loses the answer to the first im.notify.system.add: the portal
// made the notification, funnelguard heard a 502 (a front end's timeout).
struct LossyProxy {
    explicit LossyProxy(const sim::Simulator& portal) {
        const std::string url = portal.Url();
        const auto colon = url.rfind(':');
        const int port = std::stoi(url.substr(colon + 1));
        server.ServeAll([this, port](const httplib::Request& request, httplib::Response& response) {
            httplib::Client upstream("127.0.0.1", port);
            upstream.set_read_timeout(10, 0);
            const std::string type = request.get_header_value("Content-Type");
            auto answer = request.method == "GET"
                              ? upstream.Get(request.target.c_str())
                              : upstream.Post(request.target.c_str(), request.body,
                                              type.empty() ? "application/json" : type.c_str());
            if (!answer) {
                response.status = 504;
                return;
            }
            if (request.path.find(kMethod) != std::string::npos && lose.exchange(false)) {
                response.status = 502;
                response.set_content("<html>502 Bad Gateway</html>", "text/html");
                return;
            }
            response.status = answer->status;
            response.set_content(answer->body, answer->get_header_value("Content-Type").c_str());
        });
        server.Start();
    }
    std::atomic<bool> lose{true};
    testing::FakeHttpServer server;
};

TEST_CASE("Bitrix24 notify: a resend after an answer was lost replaces the first copy (TAG)") {
    testing::TempDir dir;
    ManualClock clock(kMonday);
    Portal portal(clock);
    LossyProxy proxy(*portal.sim);
    std::string text = Config(dir, portal, kNoSummary);
    const std::string direct = fmt::format("portal_url = \"{}\"", portal.sim->Url());
    text.replace(text.find(direct), direct.size(),
                 fmt::format("portal_url = \"{}\"", proxy.server.Url()));
    // The proxy's address is another portal to the process: its own bucket, on the manual clock.
    const auto limiter = adapters::bitrix24::SharedPortalLimiter(proxy.server.Url(), 2, 48, clock,
                                                                 portal.pace.Make());
    const config::AppConfig config = Load(text, dir);
    Program program(config, clock);
    portal.Skip("ООО «Ромашка»", kPetrov);
    program.Pump(portal);
    REQUIRE(program.engine->Deliver());
    CHECK(portal.Calls() == 1);
    CHECK_FALSE(proxy.lose);
    // The outcome is unknown: the message is sent once more, with the same TAG.
    for (int i = 0; i < 30 && portal.Calls() < 2; ++i) {
        clock.Advance(1min);
        REQUIRE(program.engine->Deliver());
    }
    CHECK(portal.Calls() == 2);
    const auto to_petrov = portal.To(kPetrov);
    REQUIRE(to_petrov.size() == 1);  // replaced, not doubled
    CHECK(to_petrov[0].tag.starts_with("FG|#V-"));
    clock.Advance(10min);
    REQUIRE(program.engine->Deliver());
    CHECK(portal.Calls() == 2);
    // Not a structured binding: clang 14 cannot capture one in CHECK_MESSAGE's lambda.
    for (const auto& entry : OutboxStatus(program)) {
        CHECK_MESSAGE(entry.second == "done", entry.first);
    }
}

// Fills the portal's bucket as a burst of CRM calls would.
void FillBucket(Portal& portal) {
    while (portal.limiter->WaitSeconds() <= 0) {
        portal.limiter->Acquire();
    }
}

TEST_CASE("Bitrix24 notify: never faster than the portal's bucket, which the CRM calls share") {
    testing::TempDir dir;
    ManualClock clock(kMonday);
    Portal portal(clock);
    const config::AppConfig config = Load(Config(dir, portal, kNoSummary), dir);
    Program program(config, clock);
    const std::vector<std::int64_t> managers = {kPetrov, kIvanova, kKuznetsova,
                                                kPetrov, kIvanova, kKuznetsova};
    for (std::size_t i = 0; i < managers.size(); ++i) {
        portal.Skip(fmt::format("Сделка {}", i + 1), managers[i]);
        program.Pump(portal);
    }
    FillBucket(portal);
    REQUIRE(program.engine->Deliver());
    CHECK(portal.Calls() == 0);  // the bucket is full: everything waits, nothing is refused
    const auto delivered = [&] {
        std::string all;
        for (const sim::SimNotification& notification : portal.sim->Notifications()) {
            all += notification.message;
        }
        for (int id = 1; id <= 6; ++id) {
            if (!Contains(all, fmt::format("#V-{}", id))) {
                return false;
            }
        }
        return true;
    };
    std::vector<std::uint64_t> per_second;
    for (int second = 0; second < 120 && !delivered(); ++second) {
        const std::uint64_t before = portal.Calls();
        clock.Advance(1s);
        REQUIRE(program.engine->Deliver());
        per_second.push_back(portal.Calls() - before);
    }
    CHECK(delivered());
    for (const std::uint64_t sent : per_second) {
        CHECK(sent <= 2);  // the portal's 2 requests a second
    }
    CHECK(portal.sim->Stats().limit_errors == 0);
    CHECK(portal.To(kKuznetsova).empty());
}

TEST_CASE("Bitrix24 notify and Telegram together: both get the message, each at its own pace") {
    testing::TempDir dir;
    ManualClock clock(kMonday);
    Portal portal(clock);
    adapters::telegram::fake::FakeBotOptions fake_options;
    fake_options.clock = &clock;
    fake_options.enforce_limits = true;
    fake_options.max_poll_timeout = std::chrono::seconds{2};
    adapters::telegram::fake::FakeBotApi telegram(fake_options);
    REQUIRE(telegram.Start());
    telegram.AddPrivateChat(111, "Алексей");
    const std::string chat =
        fmt::format("{}  telegram_bot_token = \"{}\"\n  telegram_api_url = \"{}\"\n", kNoSummary,
                    telegram.options().token, telegram.Url());
    const config::AppConfig config = Load(Config(dir, portal, chat, "  telegram = \"111\"\n"), dir);
    Program program(config, clock);
    REQUIRE(telegram.WaitForCalls("getme", 1, 15s));
    portal.Skip("ООО «Ромашка»", kPetrov);
    program.Pump(portal);

    // The portal's bucket is full (the CRM's calls): Telegram does not wait for it.
    FillBucket(portal);
    REQUIRE(program.engine->Deliver());
    REQUIRE(telegram.WaitForMessages(1, 15s));
    CHECK(telegram.MessagesTo(111).size() == 1);
    CHECK(Contains(telegram.MessagesTo(111)[0].plain, "ООО «Ромашка»"));
    CHECK(portal.Calls() == 0);
    // Once the bucket has room, Bitrix24's copy goes; Telegram's is not sent again.
    for (int i = 0; i < 10 && portal.Calls() == 0; ++i) {
        clock.Advance(1s);
        REQUIRE(program.engine->Deliver());
    }
    REQUIRE(portal.To(kPetrov).size() == 1);
    CHECK(Contains(portal.To(kPetrov)[0].message, "ООО «Ромашка»"));
    CHECK(telegram.Messages().size() == 1);
    CHECK(portal.sim->Stats().limit_errors == 0);
    CHECK(telegram.TooManyRequestsTotal() == 0);
}

}  // namespace bitrix24_notify_test_file
}  // namespace fg::bitrix24_notify_test
