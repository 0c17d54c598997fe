// The commands as a user runs them: config check, replay, check --now.
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

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
    CHECK(result.out.find(file + ":6: tenant \"acme\".secret") != std::string::npos);
    CHECK(result.out.find("FG_TEST_SURELY_UNSET_VARIABLE") != std::string::npos);
    CHECK(result.out.find(file + ":7: tenant \"acme\".mode") != std::string::npos);
    CHECK(result.out.find(file + ":12: tenant \"acme\".rules.deal_without_task.grace") !=
          std::string::npos);

    dir.Write("good.toml", kConfig);
    const auto good =
        fg::testing::Run({FG_BINARY, "config", "check", "--config", dir.File("good.toml")});
    CHECK(good.status == 0);
}

TEST_CASE("--version prints the version") {
    const auto result = fg::testing::Run({FG_BINARY, "--version"});
    CHECK(result.status == 0);
    CHECK(result.out == "funnelguard 0.1.0\n");
}

// An amoCRM tenant at `base_url` (empty: its subdomain's https address) and `public_url`.
std::string AmoConfig(const std::string& public_url, const std::string& base_url) {
    std::string text = "[server]\n";
    if (!public_url.empty()) {
        text += "public_url = \"" + public_url + "\"\n";
    }
    text +=
        "[storage]\n"
        "path = \"fg.db\"\n"
        "[[tenant]]\n"
        "id = \"beta\"\n"
        "crm = \"amocrm\"\n"
        "secret = \"hook-secret-123\"\n"
        "[tenant.amocrm]\n"
        "subdomain = \"beta\"\n"
        "token = \"token-456\"\n";
    if (!base_url.empty()) {
        text += "base_url = \"" + base_url + "\"\n";
    }
    return text;
}

TEST_CASE("connect refuses a server.public_url the CRM cannot reach, naming the key") {
    fg::testing::TempDir dir;
    const auto connect = [&](const std::string& public_url, const std::string& base_url) {
        dir.Write("fg.toml", AmoConfig(public_url, base_url));
        return fg::testing::Run(
            {FG_BINARY, "connect", "--config", dir.File("fg.toml"), "--tenant", "beta"}, true);
    };
    const std::string key = dir.File("fg.toml") + ": server.public_url: ";
    SUBCASE("missing") {
        const auto result = connect("", "");
        CHECK(result.status == 2);
        CHECK(result.out.find("connect: " + key + "required") != std::string::npos);
    }
    SUBCASE("the example config's placeholder") {
        const auto result = connect("https://fg.example.com", "");
        CHECK(result.status == 2);
        CHECK(result.out.find(key + "\"https://fg.example.com\" is a placeholder") !=
              std::string::npos);
    }
    SUBCASE("loopback, while the account is a remote host") {
        const auto result = connect("http://127.0.0.1:8080", "");
        CHECK(result.status == 2);
        CHECK(result.out.find(key + "\"http://127.0.0.1:8080\" is a loopback address, which "
                                    "the CRM at beta.amocrm.ru cannot reach") != std::string::npos);
        CHECK(connect("http://localhost:8080/", "").status == 2);
    }
    SUBCASE("loopback is fine for a CRM on this machine: it gets as far as calling it") {
        // Nothing listens on port 1: the call fails, and says where and why.
        const auto result = connect("http://127.0.0.1:8080", "http://127.0.0.1:1");
        CHECK(result.status == 1);
        CHECK(result.out.find("public_url") == std::string::npos);
        CHECK(result.out.find("transport error: 127.0.0.1:1: cannot connect: connection refused") !=
              std::string::npos);
        CHECK(result.out.find("token-456") == std::string::npos);
        CHECK(result.out.find("hook-secret-123") == std::string::npos);
    }
    SUBCASE("never the secret, whatever the problem") {
        CHECK(connect("https://fg.example.com", "").out.find("hook-secret-123") ==
              std::string::npos);
    }
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

TEST_CASE("users prints the tenant's people, creates the database 0600, exits 2 on bad usage") {
    fg::testing::TempDir dir;
    std::string config = kConfig;
    config.replace(config.find("path = \"fg.db\""), std::string("path = \"fg.db\"").size(),
                   "path = \"" + dir.File("users.db") + "\"");
    dir.Write("fg.toml", config);
    const auto listed = fg::testing::Run(
        {FG_BINARY, "users", "--config", dir.File("fg.toml"), "--tenant", "acme"}, true);
    CHECK(listed.status == 0);
    CHECK(listed.out.find("CRM USER") != std::string::npos);
    struct stat info {};
    REQUIRE(::stat(dir.File("users.db").c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0600);

    const auto unknown = fg::testing::Run(
        {FG_BINARY, "users", "--config", dir.File("fg.toml"), "--tenant", "nope"}, true);
    CHECK(unknown.status == 2);
    CHECK(unknown.out.find("unknown tenant \"nope\"") != std::string::npos);
    CHECK(fg::testing::Run({FG_BINARY, "users", "--config", dir.File("fg.toml")}, true).status ==
          2);
}
