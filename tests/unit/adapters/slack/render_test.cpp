// adapters/slack: notify::Message as mrkdwn text and blocks (reference/chat.md §2.3, §4.5, §4.6).
#include "adapters/slack/render.hpp"

#include <doctest/doctest.h>

#include "adapters/slack/fake/mrkdwn_check.hpp"

namespace fg::adapters::slack {
namespace {

notify::Message Of(std::vector<notify::Span> spans) {
    notify::Message message;
    message.blocks.push_back(notify::Block{.spans = std::move(spans)});
    return message;
}

std::size_t CodePoints(const std::string& text) {
    std::size_t points = 0;
    for (const char c : text) {
        points += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
    }
    return points;
}

}  // namespace

TEST_CASE("mrkdwn escapes &, < and > in every span and label, and nothing else") {
    CHECK(EscapeMrkdwn("R&D <ООО> *x* _y_ 😀") == "R&amp;D &lt;ООО&gt; *x* _y_ 😀");
    const auto posts = Render(
        Of({notify::Span{.text = "R&D <ООО>", .bold = true}, notify::Span{.text = " <!channel> "},
            notify::Span{.text = "Сделка «Ромашка» 🚀 a|b>c",
                         .url = "https://acme.amocrm.ru/l/42"}}),
        "ru");
    REQUIRE(posts.size() == 1);
    CHECK(posts[0].text ==
          "*R&amp;D &lt;ООО&gt;* &lt;!channel&gt; "
          "<https://acme.amocrm.ru/l/42|Сделка «Ромашка» 🚀 a|b&gt;c>");
    REQUIRE(posts[0].blocks.size() == 1);
    CHECK(posts[0].blocks[0]["type"] == "section");
    CHECK(posts[0].blocks[0]["text"]["type"] == "mrkdwn");
    CHECK(posts[0].blocks[0]["text"]["text"] == posts[0].text);
    const fake::MrkdwnReading reading = fake::ReadMrkdwn(posts[0].text);
    CHECK(reading.unsafe.empty());
    CHECK(reading.plain == "*R&D <ООО>* <!channel> Сделка «Ромашка» 🚀 a|b>c");
    REQUIRE(reading.links.size() == 1);
    CHECK(reading.links[0].label == "Сделка «Ромашка» 🚀 a|b>c");
}

TEST_CASE("Link URLs keep |, <, >, spaces and non-http schemes out of the control sequence") {
    CHECK(LinkTarget("https://x.example/a?b=1&c=2") == "https://x.example/a?b=1&amp;c=2");
    CHECK(LinkTarget("https://x.example/a|b>c<d e") == "https://x.example/a%7Cb%3Ec%3Cd%20e");
    CHECK(LinkTarget("https://x.example/сделка") ==
          "https://x.example/%D1%81%D0%B4%D0%B5%D0%BB%D0%BA%D0%B0");
    CHECK(LinkTarget("HTTP://x.example") == "HTTP://x.example");
    for (const char* bad : {"!channel", "@U024BE7LH", "#C024BE7LR", "javascript:alert(1)", ""}) {
        CHECK(LinkTarget(bad).empty());
    }
    // A URL that cannot be a link leaves its label, escaped, as text.
    const auto posts = Render(Of({notify::Span{.text = "все", .url = "!channel"}}), "ru");
    CHECK(posts[0].text == "все");
    const auto labelled = Render(
        Of({notify::Span{.text = " открыть ", .bold = true, .url = "https://a.example"}}), "ru");
    CHECK(labelled[0].text == " *<https://a.example|открыть>* ");
    CHECK(Render(Of({notify::Span{.text = "", .url = "https://a.example"}}), "ru")[0].text ==
          "<https://a.example>");
}

TEST_CASE("Buttons become a line of links and hints; the reference a context line") {
    notify::Message message = Of({notify::Span{.text = "Сделка без задачи", .bold = true}});
    message.buttons = {
        notify::Button{.label = "Открыть сделку", .url = "https://acme.amocrm.ru/leads/detail/42"},
        notify::Button{.label = "Принято <ok>", .callback = "ack:v:42"}};
    message.reference = "#V-42";
    const auto posts = Render(message, "ru");
    REQUIRE(posts.size() == 1);
    CHECK(posts[0].text ==
          "*Сделка без задачи*\n"
          "<https://acme.amocrm.ru/leads/detail/42|Открыть сделку>   ·   "
          "_Принято &lt;ok&gt;: эта кнопка работает в Telegram_\n"
          "#V-42");
    REQUIRE(posts[0].blocks.size() == 3);
    CHECK(posts[0].blocks[1]["type"] == "section");
    CHECK(posts[0].blocks[2]["type"] == "context");
    CHECK(posts[0].blocks[2]["elements"][0]["text"] == "#V-42");
    CHECK(Render(message, "en")[0].text.find("_Принято &lt;ok&gt;: this button works in "
                                             "Telegram_") != std::string::npos);
    CHECK(posts[0].text.find("ack:v:42") == std::string::npos);
}

TEST_CASE("A block over a section is cut at a space; a long message is split between blocks") {
    SUBCASE("one block of 7,000 characters, with entities and a link") {
        std::string text;
        while (CodePoints(text) < 7000) {
            text += "ООО «Ромашка» R&D <x> ";
        }
        const auto posts = Render(
            Of({notify::Span{.text = text, .url = "https://acme.amocrm.ru/leads/detail/42"}}),
            "ru");
        REQUIRE(posts.size() == 1);
        REQUIRE(posts[0].blocks.size() >= 3);
        std::string seen;
        for (const auto& block : posts[0].blocks) {
            const std::string section = block["text"]["text"];
            CHECK(CodePoints(section) <= 2900);
            const fake::MrkdwnReading reading = fake::ReadMrkdwn(section);
            CHECK(reading.unsafe.empty());
            REQUIRE(reading.links.size() == 1);  // each piece is a whole link
            seen += reading.plain;
        }
        CHECK(seen == text);
    }
    SUBCASE("120 blocks of 200 characters: posts within 50 blocks and 11,000 characters") {
        notify::Message message;
        for (int i = 0; i < 120; ++i) {
            std::string text = "Нарушение №" + std::to_string(i) + " ";
            while (CodePoints(text) < 200) {
                text += "ж";
            }
            message.blocks.push_back(notify::Block{.spans = {notify::Span{.text = text}}});
        }
        message.buttons = {notify::Button{.label = "Открыть", .url = "https://a.example"}};
        message.reference = "#V-7";
        const auto posts = Render(message, "ru");
        REQUIRE(posts.size() == 3);
        std::size_t sections = 0;
        for (std::size_t i = 0; i < posts.size(); ++i) {
            std::size_t chars = 0;
            for (const auto& block : posts[i].blocks) {
                chars += CodePoints(block["type"] == "context"
                                        ? block["elements"][0]["text"].get<std::string>()
                                        : block["text"]["text"].get<std::string>());
            }
            CHECK(chars <= 11000);
            CHECK(posts[i].blocks.size() <= 50);
            CHECK((posts[i].text.find("#V-7") != std::string::npos) == (i + 1 == posts.size()));
            CHECK((posts[i].text.find("Открыть") != std::string::npos) == (i + 1 == posts.size()));
            sections += posts[i].blocks.size();
        }
        CHECK(sections == 122);
        CHECK(posts[0].text.rfind("Нарушение №0 ", 0) == 0);
        CHECK(posts[1].text.rfind("Нарушение №50 ", 0) == 0);
    }
}

}  // namespace fg::adapters::slack
