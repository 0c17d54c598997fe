#include "adapters/telegram/render.hpp"

#include <doctest/doctest.h>

#include "adapters/telegram/fake/html_entities.hpp"

namespace fg::adapters::telegram {
namespace {

notify::Message OneBlock(std::vector<notify::Span> spans) {
    notify::Message message;
    message.blocks.push_back(notify::Block{.spans = std::move(spans)});
    return message;
}

// What a reader sees of `html` once Telegram's parser took it; fails the test when it refuses.
std::string Seen(const std::string& html) {
    const fake::ParsedHtml parsed = fake::ParseHtml(html);
    INFO(html);
    INFO(parsed.error);
    REQUIRE(parsed.ok);
    return parsed.text;
}

}  // namespace

TEST_CASE("Telegram rendering escapes every value so that Telegram shows it as written") {
    for (const std::string text :
         {"R&D <ООО>", "a&ltb", "2 < 3", "R&ampD", "x > y && z", "</b>", "&#1071;", "\"quoted\""}) {
        const std::vector<Part> parts =
            Render(OneBlock({notify::Span{.text = text, .bold = true}}));
        REQUIRE(parts.size() == 1);
        CHECK(Seen(parts[0].html) == text);
        CHECK(parts[0].plain == text);
    }
    CHECK(EscapeHtml("R&D <ООО>") == "R&amp;D &lt;ООО&gt;");
    CHECK(EscapeHtml("a&ltb") == "a&amp;ltb");
}

TEST_CASE("Telegram rendering: bold as <b>, links as <a href> with quotes escaped") {
    const std::vector<Part> parts = Render(
        OneBlock({notify::Span{.text = "Сделка", .bold = true},
                  notify::Span{.text = " ООО «Ромашка» & Co",
                               .url = "https://acme.amocrm.ru/leads/detail/42?a=1&b=\"x\"<y>"}}));
    REQUIRE(parts.size() == 1);
    CHECK(parts[0].html ==
          "<b>Сделка</b><a href=\"https://acme.amocrm.ru/leads/detail/42?a=1&amp;b=&quot;x&quot;"
          "&lt;y&gt;\"> ООО «Ромашка» &amp; Co</a>");
    CHECK(Seen(parts[0].html) == "Сделка ООО «Ромашка» & Co");
}

TEST_CASE("Telegram rendering puts one block a line and the reference last") {
    notify::Message message = OneBlock({notify::Span{.text = "first"}});
    message.blocks.push_back(notify::Block{.spans = {notify::Span{.text = "second"}}});
    message.reference = "#V-42";
    const std::vector<Part> parts = Render(message);
    REQUIRE(parts.size() == 1);
    CHECK(Seen(parts[0].html) == "first\nsecond\n#V-42");
}

TEST_CASE("Telegram rendering splits a long message between blocks, each part within limits") {
    notify::Message message;
    for (int i = 0; i < 100; ++i) {
        // 100 blocks of 100 code points (Cyrillic: 2 bytes each) with characters to escape.
        std::string text = "Сделка & <" + std::to_string(i) + ">";
        while (fake::CodePoints(text) < 100) {
            text += "ж";
        }
        message.blocks.push_back(
            notify::Block{.spans = {notify::Span{.text = text, .bold = i % 2 == 0}}});
    }
    const std::vector<Part> parts = Render(message);
    CHECK(parts.size() == 3);
    std::string joined;
    for (const Part& part : parts) {
        const std::string seen = Seen(part.html);
        CHECK(fake::CodePoints(seen) <= 3900);
        CHECK(part.html.size() <= 30000);
        joined += (joined.empty() ? "" : "\n") + seen;
    }
    std::string expected;
    for (const notify::Block& block : message.blocks) {
        expected += (expected.empty() ? "" : "\n") + block.spans[0].text;
    }
    CHECK(joined == expected);  // nothing lost, nothing doubled, in order
}

TEST_CASE("Telegram rendering cuts a single over-long block at a space, never inside an entity") {
    std::string text;
    while (fake::CodePoints(text) < 10000) {
        text += "R&D <ООО> ";
    }
    const std::vector<Part> parts = Render(
        OneBlock({notify::Span{.text = text, .bold = true, .url = "https://x.example/?a&b"}}));
    REQUIRE(parts.size() == 3);
    std::string joined;
    for (const Part& part : parts) {
        const std::string seen = Seen(part.html);  // every part's tags closed
        CHECK(fake::CodePoints(seen) <= 3900);
        CHECK(part.html.rfind("<a href=", 0) == 0);
        CHECK(seen.back() == ' ');  // cut after a space
        joined += seen;
    }
    CHECK(joined == text);
}

TEST_CASE("Telegram rendering keeps under 32 KiB of HTML when links are long") {
    notify::Message message;
    notify::Block block;
    for (int i = 0; i < 400; ++i) {
        block.spans.push_back(
            notify::Span{.text = "x", .url = "https://x.example/" + std::string(200, 'a')});
    }
    message.blocks.push_back(block);
    const std::vector<Part> parts = Render(message);
    CHECK(parts.size() > 1);
    for (const Part& part : parts) {
        CHECK(part.html.size() <= 30000);
        CHECK(!Seen(part.html).empty());
    }
}

}  // namespace fg::adapters::telegram
