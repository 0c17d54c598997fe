#include "src/config/reader.hpp"

#include <doctest/doctest.h>

namespace fg::config::detail {
namespace {

TEST_CASE("JoinKey quotes keys that are not bare TOML keys") {
    CHECK(JoinKey("", "server") == "server");
    CHECK(JoinKey("tenant[0].rules", "stage_order") == "tenant[0].rules.stage_order");
    CHECK(JoinKey("max_age", "Счёт выставлен") == "max_age.\"Счёт выставлен\"");
    CHECK(JoinKey("t", "a\"b") == "t.\"a\\\"b\"");
    CHECK(IndexKey("tenant", 3) == "tenant[3]");
}

TEST_CASE("Suggest offers the closest candidate within two edits, counted in characters") {
    const std::vector<std::string> keys = {"threads", "listen", "public_url"};
    CHECK(Suggest("thread", keys) == "threads");
    CHECK(Suggest("lisen", keys) == "listen");
    CHECK_FALSE(Suggest("colour", keys).has_value());
    CHECK(Suggest("Оплочено", {"Оплачено", "Новая"}) == "Оплачено");
    CHECK_FALSE(Suggest("x", {"id"}).has_value());
    // A longer or shorter form of a word, after real typos.
    CHECK(Suggest("warning", {"debug", "info", "warn", "error"}) == "warn");
    CHECK(Suggest("enforcing", {"observe", "warn", "enforce"}) == "enforce");
    CHECK(Suggest("lisen", {"listening", "listen"}) == "listen");
}

TEST_CASE("TableReader reports the keys it was not asked for") {
    toml::table table =
        toml::parse(std::string_view("known = 1\nunknwn = 2\n"), std::string_view("t.toml"));
    std::vector<ConfigProblem> problems;
    ProblemSink sink(problems, "t.toml");
    TableReader reader(table, "section", sink, 1);
    CHECK(reader.Integer("known") == 1);
    reader.Known("unknown");
    reader.RejectUnknownKeys();
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].key == "section.unknwn");
    CHECK(problems[0].line == 2);
    CHECK(problems[0].message == "unknown key (did you mean \"unknown\"?)");
}

}  // namespace
}  // namespace fg::config::detail
