// What `funnelguard demo` shows of chat: each message its built-in fake Telegram accepted, as the
// manager, the head of sales or the team's group reads it, the next morning's summaries, and
// closing figures that add up with no 429.
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "tests/support/process.hpp"

namespace {

std::vector<std::string> SplitLines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
    }
    return lines;
}

std::size_t Letters(const std::string& text) {
    std::size_t letters = 0;
    for (const unsigned char c : text) {
        letters += (c & 0xC0) != 0x80 ? 1 : 0;
    }
    return letters;
}

// One narrated message: "HH:MM    ✉ who[ (silent)]", then its body lines, indented.
struct Narrated {
    std::size_t line = 0;  // of the ✉ line
    std::string who{};
    bool silent = false;
    std::vector<std::string> body{};
    bool next_morning = false;
};

constexpr const char* kMark = "    ✉ ";
constexpr const char* kBodyIndent = "           ";
constexpr const char* kHead = "Ольга Волкова, head of sales";

std::vector<Narrated> Messages(const std::vector<std::string>& lines) {
    std::vector<Narrated> messages;
    bool next_morning = false;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        next_morning = next_morning || lines[i].starts_with("The next morning, ");
        const auto mark = lines[i].find(kMark);
        if (mark != 5) {  // after "HH:MM"
            continue;
        }
        Narrated message{.line = i, .next_morning = next_morning};
        message.who = lines[i].substr(mark + std::string(kMark).size());
        if (message.who.ends_with(" (silent)")) {
            message.silent = true;
            message.who.erase(message.who.size() - std::string(" (silent)").size());
        }
        for (std::size_t k = i + 1; k < lines.size() && lines[k].starts_with(kBodyIndent); ++k) {
            message.body.push_back(lines[k].substr(std::string(kBodyIndent).size()));
        }
        messages.push_back(std::move(message));
    }
    return messages;
}

}  // namespace

TEST_CASE(
    "the demo narrates what managers and the head receive in Telegram, and the morning "
    "summary") {
    // An hour of the working day in about 3 seconds, then the next morning.
    const auto run = fg::testing::Run(
        {FG_BINARY, "demo", "--seconds", "3", "--speed", "1200", "--leads", "20", "--seed", "5"},
        true);
    INFO(run.out);
    REQUIRE(run.status == 0);
    const std::vector<std::string> lines = SplitLines(run.out);
    const std::vector<Narrated> messages = Messages(lines);
    REQUIRE_FALSE(messages.empty());
    const std::vector<std::string> managers = {"Анна Смирнова", "Иван Петров", "Мария Кузнецова",
                                               "Дмитрий Соколов", "Елена Попова"};
    const auto is_manager = [&](const std::string& who) {
        return std::find(managers.begin(), managers.end(), who) != managers.end();
    };

    bool manager_notice = false;
    bool head_escalation = false;
    bool group_escalation = false;
    bool head_summary = false;
    bool manager_summary = false;
    std::map<std::string, int> per_reader;
    for (const Narrated& message : messages) {
        INFO(lines[message.line]);
        REQUIRE_FALSE(message.body.empty());
        ++per_reader[message.who];
        const std::string& first = message.body.front();
        std::string text;
        for (const std::string& line : message.body) {
            // As a person reads it: no markup, wrapped to the demo's width.
            CHECK(line.find("<b>") == std::string::npos);
            CHECK(line.find("</a>") == std::string::npos);
            CHECK(line.find("&lt;") == std::string::npos);
            CHECK(Letters(std::string(kBodyIndent) + line) <= 100);
            text += line + "\n";
        }
        if (!message.next_morning && is_manager(message.who) && first.starts_with("⚠️")) {
            // The rule in words, what to do, the deal's title, and the button that opens it.
            manager_notice = manager_notice || (text.find("«") != std::string::npos &&
                                                text.find("[Открыть сделку]") != std::string::npos);
        }
        if (message.who == kHead && first.starts_with("🔺")) {
            head_escalation = head_escalation || text.find("[Принято") != std::string::npos;
        }
        if (message.who == "group «Отдел продаж»" && first.starts_with("🔺")) {
            group_escalation = true;
        }
        if (message.next_morning && message.silent) {
            head_summary =
                head_summary || (message.who == kHead &&
                                 first.starts_with("☀️ Сводка по команде"));
            manager_summary =
                manager_summary ||
                (is_manager(message.who) && first.starts_with("☀️ Доброе утро"));
        }
    }
    CHECK(manager_notice);
    CHECK(head_escalation);
    CHECK(group_escalation);
    CHECK(head_summary);
    CHECK(manager_summary);

    // The closing figures: one row per reader, adding up to the messages narrated, no 429.
    std::size_t at = 0;
    while (at < lines.size() && !lines[at].starts_with("chat: ")) {
        ++at;
    }
    REQUIRE(at < lines.size());
    const std::string total = std::to_string(messages.size());
    CHECK(lines[at] ==
          "chat: " + total + " Telegram messages accepted by the built-in fake, 0 answered 429");
    int rows_total = 0;
    int rows = 0;
    for (std::size_t i = at + 1; i < lines.size() && lines[i].starts_with("  "); ++i) {
        ++rows;
        for (const auto& [who, n] : per_reader) {
            if (lines[i].starts_with("  " + who + " ")) {
                std::istringstream count(lines[i].substr(2 + who.size()));
                int listed = -1;
                count >> listed;
                CHECK_MESSAGE(listed == n, lines[i]);
            }
        }
        std::istringstream row(lines[i]);
        std::string word;
        while (row >> word && !(std::isdigit(static_cast<unsigned char>(word[0])) != 0)) {
        }
        rows_total += std::stoi(word);
    }
    CHECK(rows == static_cast<int>(managers.size()) + 2);  // the managers, the head, the group
    CHECK(rows_total == static_cast<int>(messages.size()));
    CHECK(run.out.find("127.0.0.1") == std::string::npos);
}
