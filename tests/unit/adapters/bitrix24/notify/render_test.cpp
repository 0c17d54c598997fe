// adapters/bitrix24/notify: notify::Message as Bitrix24 BB-code, CRM strings neutralised.
#include "adapters/bitrix24/notify/render.hpp"

#include <doctest/doctest.h>

namespace fg::adapters::bitrix24::notify {
namespace render_test {

using fg::notify::Block;
using fg::notify::Button;
using fg::notify::Message;
using fg::notify::Span;

constexpr const char* kUrl = "https://acme.bitrix24.ru/crm/deal/details/42/";

TEST_CASE("Bold, a link, lines joined by [BR], the reference last; MESSAGE_OUT is plain") {
    Message message;
    message.blocks = {Block{{Span{.text = "Сделка без задачи", .bold = true, .url = {}}}},
                      Block{{Span{.text = "ООО Ромашка", .bold = false, .url = kUrl}}}};
    message.reference = "#V-42";
    const auto parts = Render(message, "ru");
    REQUIRE(parts.size() == 1);
    CHECK(parts[0].message ==
          "[B]Сделка без задачи[/B][BR][URL=https://acme.bitrix24.ru/crm/deal/details/42/]ООО "
          "Ромашка[/URL][BR]#V-42");
    CHECK(parts[0].message_out ==
          "Сделка без задачи\nООО Ромашка (https://acme.bitrix24.ru/crm/deal/details/42/)\n#V-42");
}

TEST_CASE("A deal title's [URL=javascript:x] and [B] reach Bitrix24 as look-alikes, not tags") {
    Message message;
    message.blocks = {Block{
        {Span{.text = "[URL=javascript:x]клик[/URL] [B]VIP[/B]", .bold = false, .url = kUrl}}}};
    const auto parts = Render(message, "ru");
    REQUIRE(parts.size() == 1);
    CHECK(parts[0].message ==
          "[URL=https://acme.bitrix24.ru/crm/deal/details/42/]［URL=javascript:x］клик［/URL］ "
          "［B］VIP［/B］[/URL]");
    // Exactly one opening tag of each kind: the renderer's own.
    CHECK(parts[0].message.find("[URL=javascript") == std::string::npos);
    CHECK(parts[0].message.find("[B]") == std::string::npos);
    // The e-mail text keeps what the manager typed.
    CHECK(parts[0].message_out.find("[URL=javascript:x]клик[/URL] [B]VIP[/B]") == 0);
}

TEST_CASE("Only http(s) links, and their brackets and spaces cannot close the tag") {
    CHECK(UrlTarget("javascript:alert(1)").empty());
    CHECK(UrlTarget("ftp://x").empty());
    CHECK(UrlTarget("https://a.ru/x]y[z w") == "https://a.ru/x%5Dy%5Bz%20w");
    CHECK(UrlTarget("HTTP://a.ru/д") == "HTTP://a.ru/%D0%B4");
    Message message;
    message.blocks = {Block{{Span{.text = "x", .bold = false, .url = "javascript:x"}}}};
    CHECK(Render(message, "ru")[0].message == "x");
}

TEST_CASE("A link button is a link, a callback button a hint in the tenant's language") {
    Message message;
    message.blocks = {Block{{Span{.text = "Сделка", .bold = false, .url = {}}}}};
    message.buttons = {Button{.label = "Открыть [сделку]", .url = kUrl, .callback = {}},
                       Button{.label = "Принять", .url = {}, .callback = "ack:v:42"}};
    const auto ru = Render(message, "ru");
    REQUIRE(ru.size() == 1);
    CHECK(ru[0].message ==
          "Сделка[BR][URL=https://acme.bitrix24.ru/crm/deal/details/42/]Открыть ［сделку］[/URL]"
          "   ·   Принять: эта кнопка работает в Telegram");
    CHECK(ru[0].message.find("ack:v:42") == std::string::npos);
    const auto en = Render(message, "en");
    CHECK(en[0].message.find("Принять: this button works in Telegram") != std::string::npos);
}

TEST_CASE("A long message is split between blocks; an oversized block at a space, tags whole") {
    Message message;
    for (int i = 0; i < 30; ++i) {
        message.blocks.push_back(
            Block{{Span{.text = "Сделка №" + std::to_string(i) + " «Ромашка»: просрочена задача",
                        .bold = true,
                        .url = {}}}});
    }
    message.reference = "#D-1";
    const RenderLimits limits{.max_chars = 300};
    const auto parts = Render(message, "ru", limits);
    REQUIRE(parts.size() > 1);
    std::string joined;
    for (const Notification& part : parts) {
        // Within the limit in code points, every [B] closed in its own part.
        std::size_t points = 0;
        for (const char c : part.message) {
            points += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
        }
        CHECK(points <= limits.max_chars);
        std::size_t open = 0;
        std::size_t close = 0;
        for (auto at = part.message.find("[B]"); at != std::string::npos;
             at = part.message.find("[B]", at + 1)) {
            ++open;
        }
        for (auto at = part.message.find("[/B]"); at != std::string::npos;
             at = part.message.find("[/B]", at + 1)) {
            ++close;
        }
        CHECK(open == close);
        // Whole blocks: no part starts or ends with a line break.
        CHECK_FALSE(part.message.starts_with("[BR]"));
        CHECK_FALSE(part.message.ends_with("[BR]"));
        joined += part.message_out + "\n";
    }
    for (int i = 0; i < 30; ++i) {
        CHECK(joined.find("Сделка №" + std::to_string(i) + " «Ромашка»") != std::string::npos);
    }
    CHECK(parts.back().message.ends_with("#D-1"));
    CHECK(parts.front().message.find("#D-1") == std::string::npos);

    Message huge;
    std::string words;
    for (int i = 0; i < 200; ++i) {
        words += "слово ";
    }
    huge.blocks = {Block{{Span{.text = words, .bold = true, .url = {}}}}};
    const auto cut = Render(huge, "ru", limits);
    REQUIRE(cut.size() > 1);
    for (const Notification& part : cut) {
        CHECK(part.message.starts_with("[B]"));
        CHECK(part.message.ends_with("[/B]"));
    }
}

}  // namespace render_test
}  // namespace fg::adapters::bitrix24::notify
