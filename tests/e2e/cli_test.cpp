// The commands as a user runs them: config check, replay, check --now.
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <utility>
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

namespace {

std::vector<std::string> Lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
    }
    return lines;
}

// The numbers of a summary table row ("  stage_order   0  25  0  25  0"), after its name.
std::vector<int> RowNumbers(const std::string& line, std::string& name) {
    std::istringstream in(line);
    in >> name;
    std::vector<int> numbers;
    for (int n = 0; in >> n;) {
        numbers.push_back(n);
    }
    return numbers;
}

}  // namespace

TEST_CASE("demo gives the same run for a seed, and its summary adds up on its own page") {
    fg::testing::TempDir dir;
    const std::string db = dir.File("demo.db");
    // A short run: an hour of the working day in about 3 seconds, twice with one seed.
    const std::vector<std::string> args = {FG_BINARY, "demo",    "--seconds", "3",      "--speed",
                                           "1200",    "--leads", "20",        "--seed", "5"};
    const auto first = fg::testing::Run(args, true);
    std::vector<std::string> keep = args;
    keep.insert(keep.end(), {"--db", db});
    const auto second = fg::testing::Run(keep, true);
    INFO(first.out);
    REQUIRE(first.status == 0);
    REQUIRE(second.status == 0);
    const std::string kept = "\nThe database is kept at " + db + "\n";
    REQUIRE(second.out.ends_with(kept));
    // Byte for byte, ports and all (the demo prints none).
    CHECK(second.out.substr(0, second.out.size() - kept.size()) == first.out);

    const auto has = [&](const std::string& text) {
        return first.out.find(text) != std::string::npos;
    };
    CHECK(has("webhook registered"));
    CHECK(has("first reconcile: 20 deals in the funnel"));
    CHECK(has("The managers start working"));
    CHECK(has("\n09:"));  // lines stamped with the clock's local time
    CHECK(has("opened by manager:"));
    CHECK(has(", 0 answered 429"));
    CHECK_FALSE(has("127.0.0.1"));
    // Managers by name (the simulator's users), not by amoCRM user id.
    CHECK((has("Иван Петров") || has("Мария Кузнецова") || has("Дмитрий Соколов") ||
           has("Елена Попова")));

    // Per rule: found + opened - resolved (each cause a column) = still open.
    const std::vector<std::string> lines = Lines(first.out);
    std::size_t at = 0;
    while (at < lines.size() && !lines[at].starts_with("violations by rule")) {
        ++at;
    }
    REQUIRE(at + 2 < lines.size());
    CHECK(lines[at].find("found") != std::string::npos);
    CHECK(lines[at + 1].find("by the managers") != std::string::npos);
    CHECK(lines[at + 1].find("by funnelguard") != std::string::npos);
    int rows = 0;
    int still_open = 0;
    int total_open = -1;
    for (std::size_t i = at + 2; i < lines.size() && lines[i].starts_with("  "); ++i) {
        std::string name;
        const std::vector<int> n = RowNumbers(lines[i], name);
        if (n.size() < 4) {
            break;  // the sentence under the table
        }
        INFO(lines[i]);
        int resolved = 0;
        for (std::size_t k = 2; k + 1 < n.size(); ++k) {
            resolved += n[k];
        }
        CHECK(n[0] + n[1] - resolved == n.back());
        if (name == "total") {
            total_open = n.back();
        } else {
            ++rows;
            still_open += n.back();
        }
    }
    CHECK(rows == 5);
    CHECK(total_open == still_open);
    CHECK_FALSE(has("DOES NOT ADD UP"));

    // A ✓ credited to funnelguard's revert or task comes after that action's line, and every
    // narration line names its deal once.
    std::set<std::string> titles;
    int credited = 0;
    const std::string dash = "— «";
    for (std::size_t i = 0; i < at; ++i) {
        const std::string& line = lines[i];
        const auto open = line.find(dash);
        const auto close = line.rfind("»: ");
        if (line.find("  ✓ ") == std::string::npos || open == std::string::npos ||
            close == std::string::npos || close < open) {
            continue;
        }
        const std::string title = line.substr(open + dash.size(), close - open - dash.size());
        titles.insert(title);
        for (const auto& [by, action] : {std::pair{"by funnelguard's revert", "↩ revert   «"},
                                         std::pair{"by funnelguard's task", "+ task     «"}}) {
            if (!line.ends_with(by)) {
                continue;
            }
            ++credited;
            bool before = false;
            for (std::size_t k = 0; k < i; ++k) {
                before = before || lines[k].find(action + title + "»") != std::string::npos;
            }
            CHECK_MESSAGE(before, line);
        }
    }
    CHECK(credited > 0);
    for (std::size_t i = 0; i < at; ++i) {
        for (const std::string& title : titles) {
            const std::string quoted = "«" + title + "»";
            const auto first_at = lines[i].find(quoted);
            CHECK_MESSAGE((first_at == std::string::npos ||
                           lines[i].find(quoted, first_at + 1) == std::string::npos),
                          lines[i]);
        }
    }

    // The list of what is still open: one "- rule" line per violation, as many as the table's.
    const std::string header = "still open at 10:00, by manager and deal: ";
    const auto list = first.out.find(header);
    REQUIRE(list != std::string::npos);
    CHECK(std::stoi(first.out.substr(list + header.size())) == total_open);
    int listed = 0;
    for (const std::string& line : Lines(first.out.substr(list))) {
        listed += line.starts_with("      - ") ? 1 : 0;
    }
    CHECK(listed == total_open);
}

TEST_CASE("the README's demo sample is the default seed's run, at any pace") {
    // The sample: the code block of "## The demo" that starts with the demo's first line.
    std::ifstream file(FG_SOURCE_DIR "/README.md");
    REQUIRE(file);
    const std::string readme{std::istreambuf_iterator<char>(file),
                             std::istreambuf_iterator<char>()};
    const auto section = readme.find("\n## The demo\n");
    REQUIRE(section != std::string::npos);
    const auto begin = readme.find("```\nfunnelguard demo:", section);
    REQUIRE(begin != std::string::npos);
    const auto end = readme.find("\n```\n", begin + 4);
    REQUIRE(end != std::string::npos);
    const std::vector<std::string> sample = Lines(readme.substr(begin + 4, end - begin - 4));

    // The default day (09:00-19:00: 36000 clock seconds) unpaced: only the pace differs.
    const auto run =
        fg::testing::Run({FG_BINARY, "demo", "--speed", "1000000", "--seconds", "0.036"}, true);
    REQUIRE(run.status == 0);
    std::vector<std::string> out = Lines(run.out);
    REQUIRE(out.size() > 2);
    CHECK(out[1].find("1000000x faster") != std::string::npos);
    out[1].replace(out[1].find("1000000x"), 8, "600x");
    // Every line of the sample, in order; "..." marks lines the sample leaves out.
    std::size_t at = 0;
    for (const std::string& line : sample) {
        if (line == "...") {
            continue;
        }
        while (at < out.size() && out[at] != line) {
            ++at;
        }
        CHECK_MESSAGE(at < out.size(), "not in the run (or out of order): " << line);
        if (at == out.size()) {
            break;
        }
        ++at;
    }
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
