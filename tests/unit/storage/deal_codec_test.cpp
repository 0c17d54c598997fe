#include "src/storage/deal_codec.hpp"

#include <map>
#include <string>

#include <SQLiteCpp/SQLiteCpp.h>
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

// How a deal row stores its fields (JSON text) and its document (binary), without the mirror.
namespace fg::storage::detail {
namespace {

using Fields = std::map<std::string, std::string>;

Fields Decoded(const std::string& text, Fields out = {}) {
    DecodeFields(text, out);
    return out;
}

}  // namespace

TEST_CASE("EncodeFields writes the compact object of strings that earlier builds wrote") {
    // The bytes the hand-written writer produced before nlohmann took over, for valid UTF-8.
    CHECK(EncodeFields({}) == "{}");
    CHECK(EncodeFields({{"b", "2"}, {"a", "1"}}) == R"({"a":"1","b":"2"})");
    CHECK(EncodeFields({{"q\"\\", "\n\t\r\b\f\x01\x1f\x7f/"}}) ==
          "{\"q\\\"\\\\\":\"\\n\\t\\r\\b\\f\\u0001\\u001f\x7f/\"}");
    CHECK(EncodeFields({{"Бюджет", "100 ₽ 😀"}}) == R"({"Бюджет":"100 ₽ 😀"})");
    CHECK(EncodeFields({{"k", std::string("a\0b", 3)}}) == R"({"k":"a\u0000b"})");
    // JSON text is UTF-8: a byte that is not becomes U+FFFD.
    CHECK(EncodeFields({{"k", "bad\xFF"}}) == "{\"k\":\"bad\xEF\xBF\xBD\"}");
}

TEST_CASE("EncodeFields output is read by SQLite's JSON functions") {
    SQLite::Database db(":memory:", SQLite::OPEN_READWRITE);
    const std::string text = EncodeFields({{"Бюджет", "a\"b\\c\nd"}, {"x", "1"}});
    SQLite::Statement query(db, "SELECT json_valid(?1), json_extract(?1, '$.Бюджет')");
    query.bind(1, text);
    REQUIRE(query.executeStep());
    CHECK(query.getColumn(0).getInt() == 1);
    CHECK(query.getColumn(1).getString() == "a\"b\\c\nd");
}

TEST_CASE("DecodeFields reads what EncodeFields writes, and any JSON object") {
    const Fields fields = {{"", ""},
                           {"q\"\\", "\n\t\r\b\f\x01\x1f\x7f/"},
                           {"Бюджет", "😀"},
                           {"k", std::string("a\0b", 3)}};
    CHECK(Decoded(EncodeFields(fields)) == fields);
    CHECK(Decoded(EncodeFields({})).empty());
    // Whitespace, escapes a writer may choose (\/, \u with surrogate pairs).
    CHECK(Decoded(R"( { "a" : "1" , "b":"\u00e9\ud83d\ude00\/" } )") ==
          Fields{{"a", "1"}, {"b", "\xC3\xA9\xF0\x9F\x98\x80/"}});
    SUBCASE("values that are not strings keep their JSON text") {
        CHECK(Decoded(R"({"n":5,"f":1.5,"b":false,"z":null,"o":{"x":[1,"y"]},"s":"t"})") ==
              Fields{{"n", "5"},
                     {"f", "1.5"},
                     {"b", "false"},
                     {"z", "null"},
                     {"o", R"({"x":[1,"y"]})"},
                     {"s", "t"}});
    }
    SUBCASE("a repeated key: the last one wins") {
        CHECK(Decoded(R"({"a":"1","a":"2"})") == Fields{{"a", "2"}});
        CHECK(Decoded(R"({"a":"1","b":"2","a":"3"})", Fields{{"a", "x"}, {"b", "y"}}) ==
              Fields{{"a", "3"}, {"b", "2"}});
    }
    SUBCASE("bytes that are not UTF-8, as earlier builds stored them, read as U+FFFD") {
        CHECK(Decoded("{\"a\xFF\":\"b\xC3\"}") == Fields{{"a\xEF\xBF\xBD", "b\xEF\xBF\xBD"}});
    }
    SUBCASE("text that is not a JSON object of that shape throws") {
        CHECK_THROWS_AS(Decoded(R"({"a":)"), nlohmann::json::exception);
        CHECK_THROWS_AS(Decoded(""), nlohmann::json::exception);
        CHECK_THROWS_AS(Decoded(R"({"a":"1"} x)"), nlohmann::json::exception);
    }
}

TEST_CASE("DecodeFields reuses the map it is given, whatever keys it held") {
    const Fields held = {{"a", "old"}, {"c", "old"}, {"e", "old"}};
    CHECK(Decoded(R"({"a":"1","c":"2","e":"3"})", held) ==
          Fields{{"a", "1"}, {"c", "2"}, {"e", "3"}});
    CHECK(Decoded(R"({"a":"1"})", held) == Fields{{"a", "1"}});
    CHECK(Decoded(R"({"a":"1","b":"2","e":"3"})", held) ==
          Fields{{"a", "1"}, {"b", "2"}, {"e", "3"}});
    CHECK(Decoded(R"({"e":"1","a":"2"})", held) == Fields{{"a", "2"}, {"e", "1"}});
    CHECK(Decoded(R"({"f":"1"})", held) == Fields{{"f", "1"}});
    CHECK(Decoded("{}", held).empty());
    CHECK(Decoded(R"({"a":"1","n":5})", held) == Fields{{"a", "1"}, {"n", "5"}});
}

TEST_CASE("EncodeDoc and DecodeDoc round-trip a deal's document") {
    DealDoc doc;
    CHECK(EncodeDoc(doc).empty());
    doc.history.push_back({FromEpoch(-5), "main", std::string("a\0b", 3), true});
    doc.history.push_back({FromEpoch(10), "main", "B", false});
    domain::Task task;
    task.id = "t";
    task.due = FromEpoch(5'000'000'000);
    task.done = true;
    task.created_at = FromEpoch(1);
    task.updated_at = FromEpoch(6);
    task.closed_at = FromEpoch(7);
    task.reschedules = 3;
    task.responsible = "u1";
    task.text = "bad\xFF";  // a document holds any bytes
    doc.tasks.push_back(task);
    domain::Task open;
    open.id = "u";
    doc.tasks.push_back(open);
    doc.notes.push_back(domain::Note{.id = "n", .at = FromEpoch(8), .text = "x", .own = true});
    const std::string bytes = EncodeDoc(doc);

    // Into vectors that already hold more elements than the document: they are resized.
    DealDoc read;
    read.history.resize(5);
    read.tasks.resize(4);
    DecodeDoc(bytes, "acme", "d", read.history, read.tasks, read.notes);
    REQUIRE(read.history.size() == 2);
    CHECK(read.history[0].stage == doc.history[0].stage);
    CHECK(read.history[0].at == FromEpoch(-5));
    CHECK(read.history[0].own);
    CHECK_FALSE(read.history[1].own);
    REQUIRE(read.tasks.size() == 2);
    CHECK(read.tasks[0].deal_id == "d");
    CHECK(read.tasks[0].due == task.due);
    CHECK(read.tasks[0].done);
    CHECK_FALSE(read.tasks[0].deleted);
    CHECK(read.tasks[0].created_at == task.created_at);
    CHECK(read.tasks[0].updated_at == task.updated_at);
    CHECK(read.tasks[0].closed_at == task.closed_at);
    CHECK(read.tasks[0].reschedules == 3);
    CHECK(read.tasks[0].responsible == "u1");
    CHECK(read.tasks[0].text == task.text);
    CHECK_FALSE(read.tasks[1].due.has_value());
    CHECK_FALSE(read.tasks[1].closed_at.has_value());
    REQUIRE(read.notes.size() == 1);
    CHECK(read.notes[0].deal_id == "d");
    CHECK(read.notes[0].at == FromEpoch(8));
    CHECK(read.notes[0].own);

    DecodeDoc("", "acme", "d", read.history, read.tasks, read.notes);
    CHECK(read.history.empty());
    CHECK(read.tasks.empty());
    CHECK(read.notes.empty());
}

TEST_CASE("DecodeDoc refuses a truncated, overlong or unknown document, naming the deal") {
    DealDoc doc;
    doc.history.push_back({FromEpoch(1), "main", "A", false});
    const std::string bytes = EncodeDoc(doc);
    DealDoc read;
    CHECK_THROWS_WITH_AS(DecodeDoc(bytes.substr(0, bytes.size() - 1), "acme", "d", read.history,
                                   read.tasks, read.notes),
                         doctest::Contains("deal acme/d"), SQLite::Exception);
    CHECK_THROWS_AS(DecodeDoc(bytes + "x", "acme", "d", read.history, read.tasks, read.notes),
                    SQLite::Exception);
    std::string other_version = bytes;
    other_version[0] = 2;
    CHECK_THROWS_AS(DecodeDoc(other_version, "acme", "d", read.history, read.tasks, read.notes),
                    SQLite::Exception);
}

}  // namespace fg::storage::detail
