// The README's demo sample is what the default seed's run prints. Apart from demo_test.cpp: a
// ctest entry of its own, run beside the rest.
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "tests/support/process.hpp"

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
    const std::vector<std::string> sample =
        fg::testing::SplitLines(readme.substr(begin + 4, end - begin - 4));

    // The default day (09:00-19:00: 36000 clock seconds) unpaced: only the pace differs.
    const auto run =
        fg::testing::Run({FG_BINARY, "demo", "--speed", "1000000", "--seconds", "0.036"}, true);
    REQUIRE(run.status == 0);
    std::vector<std::string> out = fg::testing::SplitLines(run.out);
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
