#include "adapters/telegram/listener.hpp"

#include <regex>

#include <fmt/format.h>

#include "src/common/log.hpp"

namespace fg::adapters::telegram {
namespace {

spdlog::logger& ListenerLog() {
    static const std::shared_ptr<spdlog::logger> logger = ModuleLogger("telegram");
    return *logger;
}

constexpr std::size_t kMaxCallbackAnswer = 200;

std::string DisplayName(const nlohmann::json& user) {
    std::string name = user.value("first_name", "");
    const std::string last = user.value("last_name", "");
    if (!last.empty()) {
        name += (name.empty() ? "" : " ") + last;
    }
    if (name.empty() && user.contains("username")) {
        name = "@" + user.value("username", "");
    }
    return name;
}

std::string CutUtf8(const std::string& text, std::size_t max_code_points) {
    std::size_t points = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 && points++ == max_code_points) {
            return text.substr(0, i);
        }
    }
    return text;
}

std::string StartHint(const std::string& locale) {
    if (locale == "en") {
        return "Hello! To receive funnelguard's messages here, open the link you were given (it "
               "carries your personal code), or ask your head of sales for it.";
    }
    return "Здравствуйте! Чтобы получать сообщения funnelguard в этом чате, откройте выданную "
           "вам ссылку (в ней ваш личный код) или попросите её у руководителя отдела продаж.";
}

}  // namespace

struct Listener::State {
    ListenerSetup setup{};
    notify::Inbound* inbound = nullptr;
    std::unique_ptr<BotApi> polls{};  // read timeout: the poll's and 10 s more
    std::unique_ptr<BotApi> pokes{};  // short: the polls that end a pending one at Stop
    std::mutex mutex{};               // held while updates are handled; guards the rest
    std::condition_variable changed{};
    bool stopped = false;
    bool exited = false;
    std::optional<std::int64_t> offset{};

    // Waits `wait` (real time) or until stopped; true when stopped.
    bool Pause(Duration wait) {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, wait, [&] { return stopped; });
    }
    bool Stopped() {
        std::lock_guard lock(mutex);
        return stopped;
    }
    void Run();
    void HandleBatch(const nlohmann::json& updates);
    void HandleMessage(const nlohmann::json& message);
    void HandleCallback(const nlohmann::json& query);
    void Reply(std::int64_t chat, const std::string& text);
};

void Listener::State::Reply(std::int64_t chat, const std::string& text) {
    if (text.empty()) {
        return;
    }
    setup.pacer->Take(std::to_string(chat), chat < 0);
    const ApiAnswer answer = setup.replies->Call(
        "sendMessage",
        {{"chat_id", chat}, {"text", text}, {"link_preview_options", {{"is_disabled", true}}}});
    if (!answer.ok) {
        ListenerLog().warn("Telegram reply not sent. tenant={} chat={} error={}", setup.tenant,
                           chat, LogSafe(answer.error));
    }
}

void Listener::State::HandleMessage(const nlohmann::json& message) {
    static const std::regex kStartWithCode(R"(^/start(@\w+)? ([A-Za-z0-9_-]{1,64})$)");
    static const std::regex kBareStart(R"(^/start(@\w+)?\s*$)");
    const nlohmann::json& chat = message.at("chat");
    if (chat.value("type", "") != "private" || !message.contains("text") ||
        !message["text"].is_string()) {
        return;  // links are made in private chats only
    }
    const std::int64_t chat_id = chat.at("id").get<std::int64_t>();
    const std::string text = message["text"].get<std::string>();
    const std::string name = DisplayName(message.value("from", nlohmann::json::object()));
    std::smatch match;
    if (std::regex_match(text, match, kStartWithCode)) {
        const notify::Reply reply =
            inbound->Link(match[2].str(),
                          notify::Address{.value = std::to_string(chat_id), .group = false}, name);
        ListenerLog().info("Telegram link request handled. tenant={} chat={} linked={}",
                           setup.tenant, chat_id, reply.done);
        Reply(chat_id, reply.reply);
    } else if (std::regex_match(text, kBareStart)) {
        Reply(chat_id, StartHint(setup.locale));
    }
}

void Listener::State::HandleCallback(const nlohmann::json& query) {
    const std::string id = query.at("id").get<std::string>();
    notify::Reply reply;
    try {
        const nlohmann::json& from = query.at("from");
        reply = inbound->Press(
            query.value("data", ""),
            notify::Address{.value = std::to_string(from.at("id").get<std::int64_t>()),
                            .group = false},
            DisplayName(from));
    } catch (const std::exception& error) {
        ListenerLog().error("Telegram button press not handled. tenant={} error={}", setup.tenant,
                            LogSafe(error.what()));
    }
    // Always answered, or the person's client keeps a spinner on the button.
    nlohmann::json answer = {{"callback_query_id", id}};
    if (!reply.reply.empty()) {
        answer["text"] = CutUtf8(reply.reply, kMaxCallbackAnswer);
    }
    if (const ApiAnswer answered = setup.replies->Call("answerCallbackQuery", answer);
        !answered.ok) {
        ListenerLog().warn("Telegram callback answer failed. tenant={} error={}", setup.tenant,
                           LogSafe(answered.error));
    }
    const auto message = query.find("message");
    if (reply.note.empty() || message == query.end() || !message->contains("chat")) {
        return;
    }
    // Plain text without a keyboard: the message's own text (Telegram returns it without tags)
    // and the note, so the button cannot be pressed twice.
    const ApiAnswer edited = setup.replies->Call(
        "editMessageText", {{"chat_id", message->at("chat").at("id")},
                            {"message_id", message->at("message_id")},
                            {"text", message->value("text", "") + "\n\n" + reply.note},
                            {"link_preview_options", {{"is_disabled", true}}}});
    if (!edited.ok && edited.description.rfind("Bad Request: message is not modified", 0) != 0) {
        ListenerLog().warn(
            "Telegram message not edited after a button press. tenant={} "
            "error={}",
            setup.tenant, LogSafe(edited.error));
    }
}

void Listener::State::HandleBatch(const nlohmann::json& updates) {
    std::optional<std::int64_t> next;
    for (const nlohmann::json& update : updates) {
        try {
            const std::int64_t id = update.at("update_id").get<std::int64_t>();
            next = std::max(next.value_or(id + 1), id + 1);
            if (update.contains("message")) {
                HandleMessage(update["message"]);
            } else if (update.contains("callback_query")) {
                HandleCallback(update["callback_query"]);
            } else if (update.contains("my_chat_member")) {
                const nlohmann::json& member = update["my_chat_member"];
                ListenerLog().info(
                    "Telegram chat membership of the bot changed. tenant={} chat={} status={}",
                    setup.tenant, member.at("chat").at("id").dump(),
                    member.at("new_chat_member").value("status", ""));
            }
        } catch (const std::exception& error) {
            // One malformed update must not stop the others, nor be fetched for ever.
            ListenerLog().error("Telegram update not handled. tenant={} error={}", setup.tenant,
                                LogSafe(error.what()));
        }
    }
    if (next) {
        offset = std::max(offset.value_or(*next), *next);
        inbound->SaveCursor(std::to_string(*offset));
    }
}

void Listener::State::Run() {
    try {
        const std::string cursor = inbound->Cursor();
        if (!cursor.empty()) {
            offset = std::stoll(cursor);
        }
    } catch (const std::exception&) {
        ListenerLog().warn(
            "Telegram cursor unreadable, starting from the pending updates. "
            "tenant={}",
            setup.tenant);
    }
    const ChannelOptions& options = setup.options;
    Duration backoff = options.error_backoff;
    ListenerLog().info("Telegram listener started. tenant={}", setup.tenant);
    while (!Stopped()) {
        nlohmann::json params = {
            {"timeout", options.poll_timeout.count()},
            {"allowed_updates", {"message", "callback_query", "my_chat_member"}}};
        if (offset) {
            params["offset"] = *offset;
        }
        const ApiAnswer answer = polls->Call("getUpdates", params);
        if (Stopped()) {
            break;
        }
        if (!answer.ok) {
            Duration wait = backoff;
            if (answer.error_code == 409) {
                wait = std::max(options.conflict_backoff, answer.retry_after.value_or(Duration{}));
                ListenerLog().warn(
                    "Telegram polling conflict: another instance polls this bot, "
                    "or a webhook is set. tenant={} error={}",
                    setup.tenant, LogSafe(answer.error));
            } else if (answer.error_code == 429 && answer.retry_after) {
                wait = *answer.retry_after;
            } else if (answer.error_code == 401 || answer.error_code == 404) {
                wait = options.max_backoff;
                ListenerLog().error("Telegram refuses the bot's polling. tenant={} error={}",
                                    setup.tenant, LogSafe(answer.error));
            } else {
                ListenerLog().warn(
                    "Telegram poll failed, will retry. tenant={} wait={}s "
                    "error={}",
                    setup.tenant, wait.count(), LogSafe(answer.error));
            }
            backoff = std::min(backoff * 2, options.max_backoff);
            if (Pause(std::max(wait, Duration{1}))) {
                break;
            }
            continue;
        }
        backoff = options.error_backoff;
        std::lock_guard lock(mutex);
        if (stopped) {
            break;
        }
        if (answer.result.is_array()) {
            HandleBatch(answer.result);
        }
    }
    ListenerLog().info("Telegram listener stopped. tenant={}", setup.tenant);
}

Listener::Listener(ListenerSetup setup, notify::Inbound& inbound)
    : state_(std::make_shared<State>()) {
    state_->setup = std::move(setup);
    state_->inbound = &inbound;
}

Listener::~Listener() { Stop(); }

void Listener::Start() {
    const ListenerSetup& setup = state_->setup;
    // The polling thread may outlive the channel (see Stop), and with it the injected clock: its
    // clients read an HTTP-date Retry-After against a clock that lives as long as the program.
    static const SystemClock kWallClock;
    auto polls = BotApi::Make(setup.settings.api_url, setup.settings.bot_token, kWallClock,
                              setup.options.poll_timeout + Duration{10});
    auto pokes =
        BotApi::Make(setup.settings.api_url, setup.settings.bot_token, kWallClock, Duration{2});
    if (!polls || !pokes) {
        ListenerLog().error("Telegram listener not started. tenant={} error={}", setup.tenant,
                            (polls ? pokes.error() : polls.error()).message);
        return;
    }
    state_->polls = std::move(*polls);
    state_->pokes = std::move(*pokes);
    thread_ = std::thread([state = state_] {
        state->Run();
        {
            std::lock_guard lock(state->mutex);
            state->exited = true;
        }
        state->changed.notify_all();
    });
}

void Listener::Stop() {
    if (!thread_.joinable()) {
        return;
    }
    {
        // Waits for a batch being handled: after this, no update is handled any more.
        std::lock_guard lock(state_->mutex);
        state_->stopped = true;
    }
    state_->changed.notify_all();
    // A poll of our own ends the pending long poll at once (409 "terminated by other getUpdates
    // request"); it confirms nothing new, since it asks from the saved offset. Repeated, in case
    // the thread began its poll after the first.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{3};
    while (true) {
        nlohmann::json poke = {{"timeout", 0}, {"limit", 1}};
        {
            std::lock_guard lock(state_->mutex);
            if (state_->exited) {
                break;
            }
            if (state_->offset) {
                poke["offset"] = *state_->offset;
            }
        }
        (void)state_->pokes->Call("getUpdates", poke);
        std::unique_lock lock(state_->mutex);
        if (state_->changed.wait_for(lock, std::chrono::milliseconds{200},
                                     [&] { return state_->exited; }) ||
            std::chrono::steady_clock::now() >= deadline) {
            break;
        }
    }
    bool exited = false;
    {
        std::lock_guard lock(state_->mutex);
        exited = state_->exited;
    }
    if (exited) {
        thread_.join();
    } else {
        // The API does not answer: the poll ends by its own read timeout, touching only the
        // state it shares, never the inbound or the channel.
        ListenerLog().warn(
            "Telegram listener still waiting for its poll; leaving it to end "
            "alone. tenant={}",
            state_->setup.tenant);
        thread_.detach();
    }
}

}  // namespace fg::adapters::telegram
