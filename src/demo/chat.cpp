#include "src/demo/chat.hpp"

#include <fmt/format.h>

#include "adapters/telegram/fake/fake_bot_api.hpp"
#include "src/common/time.hpp"

namespace fg::demo {
namespace {

namespace fake = adapters::telegram::fake;

// Private chat ids are the users' Telegram ids; the fake's are made up, one per reader.
constexpr std::int64_t kFirstPrivateChat = 700001;
constexpr std::int64_t kHeadChat = 700100;
constexpr std::int64_t kGroupChat = -1001700000001;
constexpr const char* kHeadUser = "head";
constexpr const char* kHeadName = "Ольга Волкова";
constexpr const char* kGroupTitle = "Отдел продаж";
constexpr const char* kTeam = "sales";
// The message body under its "HH:MM    ✉ who" line.
constexpr std::size_t kIndent = 11;

bool Continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

std::size_t Letters(std::string_view text) {
    std::size_t letters = 0;
    for (unsigned char c : text) {
        letters += Continuation(c) ? 0 : 1;
    }
    return letters;
}

// The byte offset after `letters` letters of `text` (or its size).
std::size_t BytesOf(std::string_view text, std::size_t letters) {
    std::size_t at = 0;
    for (std::size_t seen = 0; at < text.size(); ++at) {
        if (!Continuation(static_cast<unsigned char>(text[at]))) {
            if (seen == letters) {
                break;
            }
            ++seen;
        }
    }
    return at;
}

void WrapLine(std::string_view line, std::size_t width, std::vector<std::string>& out) {
    while (Letters(line) > width) {
        const std::size_t limit = BytesOf(line, width);
        std::size_t cut = line.rfind(' ', limit);
        std::size_t next = cut + 1;
        if (cut == std::string_view::npos || cut == 0) {
            cut = limit;  // one word longer than the line
            next = limit;
        }
        out.emplace_back(line.substr(0, cut));
        line.remove_prefix(next);
    }
    out.emplace_back(line);
}

std::string KindOf(const std::string& plain) {
    if (plain.starts_with("☀")) {
        return "morning summary";
    }
    if (plain.starts_with("🔺")) {
        return "escalation";
    }
    return "violation messages";
}

std::string TomlString(const std::string& value) {
    std::string out = "\"";
    for (const char c : value) {
        if (c == '"' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    return out + "\"";
}

}  // namespace

std::vector<std::string> Wrap(const std::string& text, std::size_t width) {
    std::vector<std::string> lines;
    std::string_view rest = text;
    for (;;) {
        const std::size_t end = rest.find('\n');
        WrapLine(rest.substr(0, end), std::max<std::size_t>(width, 1), lines);
        if (end == std::string_view::npos) {
            break;
        }
        rest.remove_prefix(end + 1);
    }
    return lines;
}

DemoChat::DemoChat(const Clock& clock, const std::map<std::string, std::string>& managers)
    : clock_(clock) {
    std::int64_t chat = kFirstPrivateChat;
    for (const auto& [user, name] : managers) {
        readers_.push_back({.crm_user = user,
                            .name = name.empty() ? user : name,
                            .role = ChatReader::Role::kManager,
                            .chat_id = chat++});
    }
    readers_.push_back({.crm_user = kHeadUser,
                        .name = kHeadName,
                        .role = ChatReader::Role::kHead,
                        .chat_id = kHeadChat});
    readers_.push_back({.crm_user = {},
                        .name = kGroupTitle,
                        .role = ChatReader::Role::kGroup,
                        .chat_id = kGroupChat});
}

DemoChat::~DemoChat() { Stop(); }

Result<void> DemoChat::Start() {
    fake::FakeBotOptions options;
    options.clock = &clock_;
    options.username = "funnelguard_demo_bot";
    // The engine's listener long-polls; a short poll lets the demo stop at once.
    options.max_poll_timeout = std::chrono::seconds{1};
    telegram_ = std::make_unique<fake::FakeBotApi>(options);
    if (!telegram_->Start()) {
        telegram_.reset();
        return MakeError(ErrorCode::kUnavailable, "the demo's fake Telegram cannot bind 127.0.0.1");
    }
    for (const ChatReader& reader : readers_) {
        if (reader.role == ChatReader::Role::kGroup) {
            telegram_->AddGroup(reader.chat_id, reader.name);
        } else {
            telegram_->AddPrivateChat(reader.chat_id, reader.name);
        }
    }
    return {};
}

void DemoChat::Stop() {
    if (telegram_) {
        telegram_->Stop();
    }
}

std::string DemoChat::ConfigSection() const {
    if (!telegram_) {
        return {};
    }
    // Each violation at once (no digest window) but at most one message per person in ten
    // minutes: what comes meanwhile goes out together. Working hours are the demo's day.
    std::string toml = fmt::format(
        "  [tenant.chat]\n"
        "  telegram_bot_token = {}\n"
        "  telegram_api_url = {}\n"
        "  digest = \"0s\"\n"
        "  cooldown = \"10m\"\n"
        "  working_hours = \"09:00-19:00\"\n"
        "  working_days = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"]\n"
        "  morning_summary = \"09:30\"\n\n",
        TomlString(telegram_->options().token), TomlString(telegram_->Url()));
    for (const ChatReader& reader : readers_) {
        if (reader.role == ChatReader::Role::kGroup) {
            continue;
        }
        toml += fmt::format(
            "  [[tenant.person]]\n  crm_user = {}\n  name = {}\n  role = \"{}\"\n  team = "
            "\"{}\"\n  telegram = \"{}\"\n\n",
            TomlString(reader.crm_user), TomlString(reader.name),
            reader.role == ChatReader::Role::kHead ? "head" : "manager", kTeam, reader.chat_id);
    }
    toml += fmt::format("  [[tenant.team]]\n  id = \"{}\"\n  head = \"{}\"\n  chat = \"{}\"\n\n",
                        kTeam, kHeadUser, kGroupChat);
    return toml;
}

const ChatReader* DemoChat::ReaderOf(std::int64_t chat_id) const {
    for (const ChatReader& reader : readers_) {
        if (reader.chat_id == chat_id) {
            return &reader;
        }
    }
    return nullptr;
}

std::string DemoChat::Who(const ChatReader& reader) const {
    switch (reader.role) {
        case ChatReader::Role::kManager:
            return reader.name;
        case ChatReader::Role::kHead:
            return reader.name + ", head of sales";
        case ChatReader::Role::kGroup:
            return "group «" + reader.name + "»";
    }
    return reader.name;
}

std::vector<std::string> DemoChat::NewMessages(const std::string& time_zone) {
    std::vector<std::string> lines;
    if (!telegram_) {
        return lines;
    }
    const std::vector<fake::SentMessage> messages = telegram_->Messages();
    const std::string indent(kIndent, ' ');
    for (; narrated_ < messages.size(); ++narrated_) {
        const fake::SentMessage& message = messages[narrated_];
        const ChatReader* reader = ReaderOf(message.chat_id);
        const std::string who =
            reader != nullptr ? Who(*reader) : fmt::format("chat {}", message.chat_id);
        ++kinds_[message.chat_id][KindOf(message.plain)];
        lines.push_back(fmt::format("{}    ✉ {}{}",
                                    FormatIso8601(FromEpoch(message.date), time_zone).substr(11, 5),
                                    who, message.silent ? " (silent)" : ""));
        for (const std::string& line : Wrap(message.plain, kChatWidth - kIndent)) {
            lines.push_back(indent + line);
        }
        std::string buttons;
        for (const auto& row : message.buttons) {
            for (const fake::SentButton& button : row) {
                buttons += (buttons.empty() ? "" : " ") + ("[" + button.text + "]");
            }
        }
        for (const std::string& line : Wrap(buttons, kChatWidth - kIndent)) {
            if (!line.empty()) {
                lines.push_back(indent + line);
            }
        }
    }
    return lines;
}

std::size_t DemoChat::MessageCount() const { return telegram_ ? telegram_->Messages().size() : 0; }

int DemoChat::TooManyRequests() const { return telegram_ ? telegram_->TooManyRequestsTotal() : 0; }

std::vector<std::string> DemoChat::Figures() const {
    std::vector<std::string> lines;
    std::size_t total = 0;
    std::size_t width = 0;
    for (const ChatReader& reader : readers_) {
        width = std::max(width, Letters(Who(reader)));
    }
    std::vector<std::string> rows;
    for (const ChatReader& reader : readers_) {
        const auto found = kinds_.find(reader.chat_id);
        int sent = 0;
        std::string of;
        if (found != kinds_.end()) {
            for (const auto& [kind, n] : found->second) {
                sent += n;
                of += fmt::format("{}{} {}", of.empty() ? "" : ", ", kind, n);
            }
        }
        total += static_cast<std::size_t>(sent);
        const std::string who = Who(reader);
        rows.push_back(fmt::format("  {}{} {:>4}{}", who, std::string(width - Letters(who), ' '),
                                   sent, of.empty() ? "" : "  (" + of + ")"));
    }
    const int refused = TooManyRequests();
    lines.push_back(fmt::format(
        "chat: {} Telegram messages accepted by the built-in fake, {} answered 429{}", total,
        refused,
        refused > 0 ? " (the notifier went over Telegram's limits: a funnelguard bug)" : ""));
    for (std::string& row : rows) {
        lines.push_back(std::move(row));
    }
    return lines;
}

}  // namespace fg::demo
