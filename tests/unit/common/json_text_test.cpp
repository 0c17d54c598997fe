#include "src/common/json_text.hpp"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>

namespace {

/// What dump() writes for `text`, or "throws".
std::string LibraryText(const std::string& text) {
    try {
        return nlohmann::json(text).dump();
    } catch (const nlohmann::json::type_error&) {
        return "throws";
    }
}

std::string OurText(const std::string& text) {
    std::string out = "prefix";
    try {
        fg::AppendJsonString(out, text);
    } catch (const nlohmann::json::type_error& error) {
        CHECK(error.id == 316);
        return "throws";
    }
    REQUIRE(out.starts_with("prefix"));
    return out.substr(6);
}

}  // namespace

TEST_CASE("AppendJsonString writes what dump() writes") {
    std::vector<std::string> texts = {
        "",
        "plain",
        "ООО «Ромашка» — “кавычки”",
        "emoji 🦔 and U+FFFF \xEF\xBF\xBF, U+10FFFF \xF4\x8F\xBF\xBF",
        "quote \" backslash \\ slash / del \x7F",
        "tab\tnewline\nreturn\rbackspace\bformfeed\f",
        std::string("nul \0 inside", 12),
        "\xC2\xA0no-break spaces\xC2\xA0",
    };
    std::string controls;
    for (int c = 0; c < 0x20; ++c) {
        controls.push_back(static_cast<char>(c));
    }
    texts.push_back(controls);
    for (const std::string& text : texts) {
        CAPTURE(text);
        CHECK(OurText(text) == LibraryText(text));
    }
}

TEST_CASE("AppendJsonString refuses what dump() refuses: text that is not UTF-8") {
    for (const std::string text :
         {"\x80", "abc\xFF", "\xC3", "\xC3(", "\xC0\x80", "\xC1\xBF", "\xE0\x80\x80",
          "\xE0\x9F\xBF", "\xED\xA0\x80", "\xED\xBF\xBF", "\xF0\x80\x80\x80", "\xF4\x90\x80\x80",
          "\xF5\x80\x80\x80", "\xE2\x82", "end \xF0\x9F\xA6"}) {
        CAPTURE(text);
        CHECK(LibraryText(text) == "throws");
        CHECK(OurText(text) == "throws");
    }
}

TEST_CASE("AppendJsonString agrees with dump() on random bytes") {
    std::mt19937 random(2026);
    // Bytes drawn mostly from the interesting ones: ASCII, controls, quote, UTF-8 leads and tails.
    const std::vector<unsigned char> pool = {'a',  'Z',  ' ',  '"',  '\\', '/',  0x00, 0x01,
                                             0x08, 0x09, 0x0A, 0x1F, 0x7F, 0x80, 0x8F, 0x90,
                                             0x9F, 0xA0, 0xBF, 0xC0, 0xC2, 0xD0, 0xDF, 0xE0,
                                             0xE2, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF};
    int valid = 0;
    for (int round = 0; round < 20000; ++round) {
        std::string text;
        const int size = static_cast<int>(random() % 8);
        for (int i = 0; i < size; ++i) {
            text.push_back(static_cast<char>(pool[random() % pool.size()]));
        }
        const std::string expected = LibraryText(text);
        valid += expected != "throws" ? 1 : 0;
        REQUIRE(OurText(text) == expected);
    }
    CHECK(valid > 1000);
}

TEST_CASE("AppendJson writes what dump() writes for every kind of value") {
    const nlohmann::json value = {
        {"kind", "skip"},
        {"skipped", {"Квалификация", "Переговоры"}},
        {"count", 3},
        {"negative", -42},
        {"big", std::uint64_t{18446744073709551615ULL}},
        {"small", std::int64_t{-9223372036854775807LL - 1}},
        {"flag", true},
        {"off", false},
        {"none", nullptr},
        {"ratio", 1.5},
        {"huge", 1e300},
        {"whole", 2.0},
        {"empty_object", nlohmann::json::object()},
        {"empty_array", nlohmann::json::array()},
        {"nested", {{"b", {1, "two", nullptr, {{"z", "\n"}}}}, {"a", "ё"}}},
        {"Ключ «с» \"кавычками\"", "значение"},
    };
    std::string out;
    fg::AppendJson(out, value);
    CHECK(out == value.dump());
    for (const nlohmann::json& item : value) {
        std::string one;
        fg::AppendJson(one, item);
        CHECK(one == item.dump());
    }
}
