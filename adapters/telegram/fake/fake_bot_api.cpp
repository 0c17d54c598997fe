#include "adapters/telegram/fake/fake_bot_api.hpp"

#include <algorithm>
#include <regex>

#include <fmt/format.h>
#include <httplib.h>

#include "adapters/telegram/fake/wire.hpp"

namespace fg::adapters::telegram::fake {
namespace {

std::string LowerAscii(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

// Query and form values are strings; JSON values keep their types. The Bot API reads each
// parameter the same way from any of them (reference/chat.md §1.1).
nlohmann::json ParamsOf(const httplib::Request& request, const std::string& body,
                        std::string& error) {
    nlohmann::json params = nlohmann::json::object();
    for (const auto& [key, value] : request.params) {
        params[key] = value;
    }
    const std::string type = LowerAscii(request.get_header_value("Content-Type"));
    if (body.empty()) {
        return params;
    }
    if (type.rfind("application/json", 0) == 0) {
        auto json = nlohmann::json::parse(body, nullptr, false);
        if (json.is_discarded() || !json.is_object()) {
            error = "Bad Request: can't parse JSON object";
            return params;
        }
        for (auto& [key, value] : json.items()) {
            params[key] = value;
        }
    } else if (type.rfind("application/x-www-form-urlencoded", 0) == 0) {
        httplib::Params form;
        httplib::detail::parse_query_text(body, form);
        for (const auto& [key, value] : form) {
            params[key] = value;
        }
    }
    return params;
}

}  // namespace

FakeBotApi::FakeBotApi(FakeBotOptions options)
    : options_(std::move(options)),
      clock_(options_.clock != nullptr ? *options_.clock : system_clock_),
      server_(std::make_unique<httplib::Server>()) {
    auto serve_get = [this](const httplib::Request& request, httplib::Response& response) {
        Handle(request, {}, response);
    };
    // A reader of its own: httplib refuses form bodies over 8 KB on its own, and a text may be
    // 32 KB.
    auto serve_post = [this](const httplib::Request& request, httplib::Response& response,
                             const httplib::ContentReader& reader) {
        std::string body;
        reader([&](const char* data, std::size_t length) {
            body.append(data, length);
            return true;
        });
        Handle(request, body, response);
    };
    server_->Get(".*", serve_get);
    server_->Post(".*", serve_post);
    server_->set_keep_alive_max_count(1000);
    server_->set_tcp_nodelay(true);  // else every keep-alive answer waits ~40 ms for an ACK
}

FakeBotApi::~FakeBotApi() { Stop(); }

bool FakeBotApi::Start(int port) {
    if (thread_.joinable()) {
        return true;
    }
    if (port == 0) {
        port_ = server_->bind_to_any_port("127.0.0.1");
    } else {
        port_ = server_->bind_to_port("127.0.0.1", port) ? port : -1;
    }
    if (port_ <= 0) {
        return false;
    }
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    // stop() before the accept loop runs would be lost (httplib 0.11.4 has no
    // wait_until_ready), so wait for it, bounded.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
    while (!server_->is_running() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::yield();
    }
    return server_->is_running();
}

void FakeBotApi::Stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    changed_.notify_all();
    if (thread_.joinable()) {
        server_->stop();
        thread_.join();
    }
}

std::string FakeBotApi::Url() const { return fmt::format("http://127.0.0.1:{}", port_); }

std::int64_t FakeBotApi::Now() const { return ToEpoch(clock_.Now()); }

void FakeBotApi::Handle(const httplib::Request& request, const std::string& body,
                        httplib::Response& response) {
    static const std::regex kPath(R"(^/bot([^/]*)/([^/]*)$)");
    Answer answer;
    std::smatch match;
    const std::string path = request.path;
    if (!std::regex_match(path, match, kPath)) {
        answer = Answer::Error(404, "Not Found");
    } else if (const std::string token = match[1].str(); detail::IsMalformedToken(token)) {
        answer = Answer::Error(401, "Unauthorized: invalid token specified");
    } else if (token != options_.token) {
        answer = Answer::Error(401, "Unauthorized");
    } else {
        std::string error;
        nlohmann::json params = ParamsOf(request, body, error);
        answer = error.empty() ? Dispatch(LowerAscii(match[2].str()), params)
                               : Answer::Error(400, error);
    }
    nlohmann::json envelope;
    if (answer.error_code == 0) {
        envelope = {{"ok", true}, {"result", answer.result}};
        response.status = 200;
    } else {
        envelope = {
            {"ok", false}, {"error_code", answer.error_code}, {"description", answer.description}};
        nlohmann::json parameters = nlohmann::json::object();
        if (answer.retry_after && answer.retry_after_in_body) {
            parameters["retry_after"] = *answer.retry_after;
        }
        if (answer.migrate_to) {
            parameters["migrate_to_chat_id"] = *answer.migrate_to;
        }
        if (!parameters.empty()) {
            envelope["parameters"] = std::move(parameters);
        }
        if (answer.retry_after) {
            response.set_header("Retry-After", std::to_string(*answer.retry_after));
        }
        response.status = answer.error_code;
    }
    response.set_content(envelope.dump(), "application/json");
}

FakeBotApi::Answer FakeBotApi::Dispatch(const std::string& method, const nlohmann::json& params) {
    {
        std::lock_guard lock(mutex_);
        ++calls_[method];
        for (auto it = injected_.begin(); it != injected_.end(); ++it) {
            if (it->method != method) {
                continue;
            }
            Answer answer = Answer::Error(it->error_code, it->description);
            if (it->retry_after > 0) {
                answer.retry_after = it->retry_after;
                answer.retry_after_in_body = it->retry_after_in_body;
            }
            if (--it->times <= 0) {
                injected_.erase(it);
            }
            changed_.notify_all();
            return answer;
        }
    }
    changed_.notify_all();
    if (method == "getme") {
        return GetMe();
    }
    if (method == "sendmessage") {
        return SendMessage(params);
    }
    if (method == "editmessagetext") {
        return EditMessageText(params);
    }
    if (method == "answercallbackquery") {
        return AnswerCallbackQuery(params);
    }
    if (method == "getupdates") {
        return GetUpdates(params);
    }
    if (method == "deletewebhook") {
        SetWebhookActive(false);
        return Answer::Ok(true);
    }
    return Answer::Error(404, "Not Found: method not found");
}

FakeBotApi::Answer FakeBotApi::GetMe() const {
    return Answer::Ok({{"id", options_.bot_id},
                       {"is_bot", true},
                       {"first_name", "Funnelguard"},
                       {"username", options_.username},
                       {"can_join_groups", true},
                       {"can_read_all_group_messages", false},
                       {"supports_inline_queries", false}});
}

// Telegram's flood limits (reference/chat.md §1.12, §4.1): 30 messages a second per bot, a
// private chat 1 a second with a burst of 3, a group 20 a minute. Called with mutex_ held.
std::optional<FakeBotApi::Answer> FakeBotApi::CheckLimits(std::int64_t chat_id) {
    Chat& chat = *chats_.at(chat_id);
    const std::int64_t now = Now();
    int wait = 0;
    const auto this_second = std::count_if(bot_sends_.begin(), bot_sends_.end(),
                                           [&](std::int64_t at) { return at > now - 1; });
    if (this_second >= 30) {
        wait = 1;
    } else if (chat.group) {
        std::erase_if(chat.recent_sends, [&](std::int64_t at) { return at <= now - 60; });
        if (chat.recent_sends.size() >= 20) {
            wait = static_cast<int>(chat.recent_sends.front() + 60 - now);
        }
    } else {
        chat.tokens = std::min(3.0, chat.tokens + static_cast<double>(now - chat.tokens_at));
        chat.tokens_at = now;
        if (chat.tokens < 1) {
            wait = 1;
        }
    }
    if (wait == 0) {
        std::erase_if(bot_sends_, [&](std::int64_t at) { return at <= now - 1; });
        bot_sends_.push_back(now);
        if (chat.group) {
            chat.recent_sends.push_back(now);
        } else {
            chat.tokens -= 1;
        }
        return std::nullopt;
    }
    ++chat.too_many;
    ++too_many_total_;
    Answer answer = Answer::Error(429, fmt::format("Too Many Requests: retry after {}", wait));
    answer.retry_after = wait;
    return answer;
}

void FakeBotApi::AddPrivateChat(std::int64_t chat_id, std::string first_name) {
    std::lock_guard lock(mutex_);
    auto& chat = chats_[chat_id];
    if (!chat) {
        chat = std::make_unique<Chat>();
    }
    chat->id = chat_id;
    chat->group = false;
    chat->name = std::move(first_name);
    chat->tokens_at = Now();
}

void FakeBotApi::AddGroup(std::int64_t chat_id, std::string title) {
    std::lock_guard lock(mutex_);
    auto& chat = chats_[chat_id];
    if (!chat) {
        chat = std::make_unique<Chat>();
    }
    chat->id = chat_id;
    chat->group = true;
    chat->name = std::move(title);
}

void FakeBotApi::SetBlocked(std::int64_t chat_id, bool blocked) {
    nlohmann::json update;
    {
        std::lock_guard lock(mutex_);
        const auto found = chats_.find(chat_id);
        if (found == chats_.end()) {
            return;
        }
        found->second->blocked = blocked;
        const nlohmann::json bot = {{"id", options_.bot_id},
                                    {"is_bot", true},
                                    {"first_name", "Funnelguard"},
                                    {"username", options_.username}};
        update = {
            {"my_chat_member",
             {{"chat", ChatJson(chat_id)},
              {"from", {{"id", chat_id}, {"is_bot", false}, {"first_name", found->second->name}}},
              {"date", Now()},
              {"old_chat_member", {{"status", blocked ? "member" : "kicked"}, {"user", bot}}},
              {"new_chat_member", {{"status", blocked ? "kicked" : "member"}, {"user", bot}}}}}};
    }
    QueueUpdate(std::move(update));
}

void FakeBotApi::Upgrade(std::int64_t group_id, std::int64_t supergroup_id) {
    AddGroup(supergroup_id);
    std::lock_guard lock(mutex_);
    const auto found = chats_.find(group_id);
    if (found != chats_.end()) {
        found->second->migrated_to = supergroup_id;
    }
}

void FakeBotApi::SetWebhookActive(bool active) {
    std::lock_guard lock(mutex_);
    webhook_active_ = active;
}

void FakeBotApi::InjectError(InjectedError error) {
    std::lock_guard lock(mutex_);
    error.method = [&] {
        std::string lower = error.method;
        std::transform(lower.begin(), lower.end(), lower.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        return lower;
    }();
    injected_.push_back(std::move(error));
}

nlohmann::json FakeBotApi::ChatJson(std::int64_t chat_id) const {
    const auto found = chats_.find(chat_id);
    if (found == chats_.end()) {
        return {{"id", chat_id}, {"type", chat_id < 0 ? "group" : "private"}};
    }
    const Chat& chat = *found->second;
    if (chat.group) {
        return {{"id", chat_id},
                {"title", chat.name},
                {"type", chat_id < -1000000000000 ? "supergroup" : "group"}};
    }
    return {{"id", chat_id}, {"first_name", chat.name}, {"type", "private"}};
}

std::int64_t FakeBotApi::QueueUpdate(nlohmann::json update) {
    std::int64_t id = 0;
    {
        std::lock_guard lock(mutex_);
        id = next_update_id_++;
        update["update_id"] = id;
        updates_.push_back(std::move(update));
    }
    changed_.notify_all();
    return id;
}

std::int64_t FakeBotApi::InjectText(std::int64_t user_id, std::string text,
                                    std::string first_name) {
    {
        std::lock_guard lock(mutex_);
        if (chats_.find(user_id) == chats_.end()) {
            auto chat = std::make_unique<Chat>();
            chat->id = user_id;
            chat->name = first_name;
            chat->tokens_at = Now();
            chats_[user_id] = std::move(chat);
        }
    }
    nlohmann::json message = {
        {"message_id", 0},
        {"from", {{"id", user_id}, {"is_bot", false}, {"first_name", first_name}}},
        {"chat", {{"id", user_id}, {"first_name", first_name}, {"type", "private"}}},
        {"date", Now()},
        {"text", text}};
    if (text.rfind("/start", 0) == 0) {
        const std::size_t end = text.find(' ');
        message["entities"] =
            nlohmann::json::array({{{"offset", 0},
                                    {"length", end == std::string::npos ? text.size() : end},
                                    {"type", "bot_command"}}});
    }
    {
        std::lock_guard lock(mutex_);
        message["message_id"] = next_message_id_++;
    }
    return QueueUpdate({{"message", std::move(message)}});
}

std::string FakeBotApi::InjectPress(std::int64_t user_id, std::string data, std::int64_t chat_id,
                                    std::int64_t message_id, std::string first_name) {
    nlohmann::json update;
    std::string id;
    {
        std::lock_guard lock(mutex_);
        id = fmt::format("cb{}", next_callback_++);
        callbacks_[id] = false;
        nlohmann::json message = {
            {"message_id", message_id}, {"chat", ChatJson(chat_id)}, {"date", Now()}};
        for (const StoredMessage& stored : stored_) {
            if (stored.chat_id == chat_id && stored.message_id == message_id) {
                message["text"] = stored.plain;
                message["date"] = stored.date;
                if (!stored.buttons.empty()) {
                    message["reply_markup"] = detail::KeyboardJson(stored.buttons);
                }
            }
        }
        update = {{"callback_query",
                   {{"id", id},
                    {"from", {{"id", user_id}, {"is_bot", false}, {"first_name", first_name}}},
                    {"message", std::move(message)},
                    {"chat_instance", "-5736289234572937811"},
                    {"data", std::move(data)}}}};
    }
    QueueUpdate(std::move(update));
    return id;
}

std::vector<SentMessage> FakeBotApi::Messages() const {
    std::lock_guard lock(mutex_);
    return messages_;
}

std::vector<SentMessage> FakeBotApi::MessagesTo(std::int64_t chat_id) const {
    std::lock_guard lock(mutex_);
    std::vector<SentMessage> to;
    std::copy_if(messages_.begin(), messages_.end(), std::back_inserter(to),
                 [&](const SentMessage& message) { return message.chat_id == chat_id; });
    return to;
}

std::vector<EditedMessage> FakeBotApi::Edits() const {
    std::lock_guard lock(mutex_);
    return edits_;
}

std::vector<AnsweredCallback> FakeBotApi::Answers() const {
    std::lock_guard lock(mutex_);
    return answers_;
}

int FakeBotApi::TooManyRequests(std::int64_t chat_id) const {
    std::lock_guard lock(mutex_);
    const auto found = chats_.find(chat_id);
    return found == chats_.end() ? 0 : found->second->too_many;
}

int FakeBotApi::TooManyRequestsTotal() const {
    std::lock_guard lock(mutex_);
    return too_many_total_;
}

int FakeBotApi::Calls(const std::string& method) const {
    std::lock_guard lock(mutex_);
    const auto found = calls_.find(method);
    return found == calls_.end() ? 0 : found->second;
}

int FakeBotApi::Conflicts() const {
    std::lock_guard lock(mutex_);
    return conflicts_;
}

std::size_t FakeBotApi::PendingUpdates() const {
    std::lock_guard lock(mutex_);
    return updates_.size();
}

int FakeBotApi::WaitingPolls() const {
    std::lock_guard lock(mutex_);
    return waiting_polls_;
}

bool FakeBotApi::WaitForMessages(std::size_t count, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return messages_.size() >= count; });
}

bool FakeBotApi::WaitForAnswers(std::size_t count, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return answers_.size() >= count; });
}

bool FakeBotApi::WaitForEdits(std::size_t count, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return edits_.size() >= count; });
}

bool FakeBotApi::WaitForCalls(const std::string& method, int count,
                              std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] {
        const auto found = calls_.find(method);
        return found != calls_.end() && found->second >= count;
    });
}

bool FakeBotApi::WaitForPoll(std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return waiting_polls_ > 0; });
}

}  // namespace fg::adapters::telegram::fake
