// The commands as a user runs them: config check, replay, check --now.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "tests/support/process.hpp"

namespace {

using nlohmann::json;

constexpr const char* kConfig = R"(
[storage]
path = "fg.db"
[[tenant]]
id = "acme"
secret = "s"
timezone = "Europe/Moscow"
  [[tenant.pipeline]]
  id = "main"
  stages = ["Новая", "Квалификация", "КП отправлено", "Успешно"]
  won = ["Успешно"]
  lost = ["Отказ"]
  [tenant.rules.deal_without_task]
  grace = "15m"
)";

constexpr const char* kDay = R"({"events": [
  {"id": "e1", "type": "deal.upserted", "at": "2026-11-02T09:00:00+03:00",
   "deal": {"id": "101", "title": "ООО «Ромашка»", "pipeline": "main", "stage": "Новая",
            "responsible": "ivanova", "fields": {}}},
  {"id": "e2", "type": "task.upserted", "at": "2026-11-02T09:01:00+03:00",
   "task": {"id": "t1", "deal": "101", "due": "2026-11-02T12:00:00+03:00", "done": false,
            "responsible": "ivanova", "text": "Позвонить"}},
  {"id": "e3", "type": "task.upserted", "at": "2026-11-02T09:30:00+03:00",
   "task": {"id": "t1", "deal": "101", "due": "2026-11-02T12:00:00+03:00", "done": true,
            "responsible": "ivanova", "text": "Позвонить"}},
  {"id": "e4", "type": "deal.upserted", "at": "2026-11-02T09:40:00+03:00",
   "deal": {"id": "101", "title": "ООО «Ромашка»", "pipeline": "main", "stage": "КП отправлено",
            "responsible": "ivanova", "fields": {}}}
]})";

std::vector<std::string> RulesAt(const std::string& config, const std::string& now) {
    const auto result = fg::testing::Run(
        {FG_BINARY, "check", "--config", config, "--format", "json", "--now", now});
    REQUIRE(result.status == 0);
    const json found = json::parse(result.out);
    std::vector<std::string> rules;
    for (const json& v : found["violations"]) {
        rules.push_back(v["rule"].get<std::string>());
    }
    std::sort(rules.begin(), rules.end());
    return rules;
}

}  // namespace

TEST_CASE("config check reports every problem with file, line and key, and exits 2") {
    fg::testing::TempDir dir;
    dir.Write("bad.toml", R"([server]
listen = "127.0.0.1:8080"
colour = "blue"
[[tenant]]
id = "acme"
secret = "${FG_TEST_SURELY_UNSET_VARIABLE}"
mode = "strict"
  [[tenant.pipeline]]
  id = "main"
  stages = ["Новая"]
  [tenant.rules.deal_without_task]
  grace = "15 minutes"
)");
    const auto result =
        fg::testing::Run({FG_BINARY, "config", "check", "--config", dir.File("bad.toml")}, true);
    CHECK(result.status == 2);
    const std::string file = dir.File("bad.toml");
    CHECK(result.out.find(file + ":3: server.colour") != std::string::npos);
    CHECK(result.out.find(file + ":6: tenant[0].secret") != std::string::npos);
    CHECK(result.out.find("FG_TEST_SURELY_UNSET_VARIABLE") != std::string::npos);
    CHECK(result.out.find(file + ":7: tenant[0].mode") != std::string::npos);
    CHECK(result.out.find(file + ":12: tenant[0].rules.deal_without_task.grace") !=
          std::string::npos);

    dir.Write("good.toml", kConfig);
    const auto good =
        fg::testing::Run({FG_BINARY, "config", "check", "--config", dir.File("good.toml")});
    CHECK(good.status == 0);
}

TEST_CASE("replay feeds recorded bodies; check judges the mirror at --now") {
    fg::testing::TempDir dir;
    dir.Write("fg.toml", kConfig);
    dir.Write("day.json", kDay);
    dir.Write("broken.json", R"({"events": [{"id": "x", "type": "deal.moved"}]})");
    const std::string config = dir.File("fg.toml");

    const auto replayed = fg::testing::Run(
        {FG_BINARY, "replay", "--config", config, "--tenant", "acme", dir.File("day.json")});
    CHECK(replayed.status == 0);
    CHECK(replayed.out.find("4 event(s) applied") != std::string::npos);

    // Before the skip, while the task is open: nothing. After it: the skip. Once the task has
    // been done for longer than the grace: no task either.
    CHECK(RulesAt(config, "2026-11-02T09:20:00+03:00").empty());
    CHECK(RulesAt(config, "2026-11-02T09:41:00+03:00") == std::vector<std::string>{"stage_order"});
    CHECK(RulesAt(config, "2026-11-02T10:00:00+03:00") ==
          std::vector<std::string>{"deal_without_task", "stage_order"});

    // Replaying again changes nothing: every event id was seen.
    const auto again = fg::testing::Run(
        {FG_BINARY, "replay", "--config", config, "--tenant", "acme", dir.File("day.json")});
    CHECK(again.status == 0);
    CHECK(again.out.find("0 event(s) applied") != std::string::npos);

    // A body that does not fit the schema is refused with its reason and the file name.
    const auto broken = fg::testing::Run(
        {FG_BINARY, "replay", "--config", config, "--tenant", "acme", dir.File("broken.json")},
        true);
    CHECK(broken.status == 1);
    CHECK(broken.out.find("broken.json") != std::string::npos);
    CHECK(broken.out.find("deal.moved") != std::string::npos);

    const auto table = fg::testing::Run(
        {FG_BINARY, "check", "--config", config, "--now", "2026-11-02T10:00:00+03:00"});
    CHECK(table.status == 0);
    CHECK(table.out.find("ООО «Ромашка»") != std::string::npos);
    CHECK(table.out.find("2 violation(s) in 1 deal(s)") != std::string::npos);

    const auto bad_now =
        fg::testing::Run({FG_BINARY, "check", "--config", config, "--now", "yesterday"});
    CHECK(bad_now.status == 2);
}

TEST_CASE("demo runs funnelguard against the amoCRM simulator and summarises by rule and manager") {
    fg::testing::TempDir dir;
    const std::string db = dir.File("demo.db");
    // A short run: 2 hours of the working day in about 8 seconds.
    const auto result = fg::testing::Run(
        {FG_BINARY, "demo", "--seconds", "8", "--speed", "900", "--leads", "20", "--db", db}, true);
    INFO(result.out);
    REQUIRE(result.status == 0);
    const auto has = [&](const std::string& text) {
        return result.out.find(text) != std::string::npos;
    };
    CHECK(has("webhook registered"));
    CHECK(has("first reconcile: 20 deals in the funnel"));
    CHECK(has("The managers start working"));
    CHECK(has("\n09:"));  // lines stamped with the fast clock's local time
    CHECK(has("violations by rule:"));
    CHECK(has("opened by manager:"));
    CHECK(has("answered 429"));
    CHECK(has(", 0 answered 429"));
    CHECK(has("The database is kept at " + db));
    // Managers by name (the simulator's users), not by amoCRM user id.
    CHECK((has("Иван Петров") || has("Мария Кузнецова") || has("Дмитрий Соколов") ||
           has("Елена Попова")));
}
