// The demo gives the same run for a seed, and its summary adds up. Apart from cli_test.cpp (and
// from demo_readme_test.cpp) because the demo runs are the suite's longest: each file is a ctest
// entry of its own, run beside the rest.
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "tests/support/process.hpp"

namespace {

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
    const std::vector<std::string> lines = fg::testing::SplitLines(first.out);
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
    for (const std::string& line : fg::testing::SplitLines(first.out.substr(list))) {
        listed += line.starts_with("      - ") ? 1 : 0;
    }
    CHECK(listed == total_open);
}
