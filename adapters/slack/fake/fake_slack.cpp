#include "adapters/slack/fake/fake_slack.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <regex>

#include <fmt/format.h>
#include <httplib.h>

namespace fg::adapters::slack::fake {
namespace {

constexpr std::size_t kMaxBlocks = 50;
constexpr std::size_t kMaxSectionChars = 3000;
// bolt-js#2509: msg_blocks_too_long at about 13.2k characters in all (chat.md §2.1).
constexpr std::size_t kMaxBlockChars = 13200;
constexpr std::size_t kMaxTextChars = 40000;

std::string LowerAscii(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

std::size_t CodePoints(std::string_view text) {
    return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
        return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    }));
}

std::string TruncateCodePoints(const std::string& text, std::size_t max) {
    std::size_t points = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 && points++ == max) {
            return text.substr(0, i);
        }
    }
    return text;
}

std::string RandomToken(std::mt19937& random, std::size_t length, bool upper_only) {
    static constexpr std::string_view kUpper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    static constexpr std::string_view kAll =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const std::string_view alphabet = upper_only ? kUpper : kAll;
    std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
    std::string token;
    for (std::size_t i = 0; i < length; ++i) {
        token += alphabet[pick(random)];
    }
    return token;
}

// A text object's mrkdwn or plain text; false when it is no text object or over `max`.
bool ReadTextObject(const nlohmann::json& object, std::size_t max, std::vector<std::string>& out) {
    if (!object.is_object() || !object.contains("text") || !object["text"].is_string()) {
        return false;
    }
    const std::string type = object.value("type", "");
    if (type != "mrkdwn" && type != "plain_text") {
        return false;
    }
    const auto& text = object["text"].get_ref<const std::string&>();
    if (text.empty() || CodePoints(text) > max) {
        return false;
    }
    out.push_back(text);
    return true;
}

// Block Kit as far as a notifier uses it: sections, context lines, dividers. False: Slack's
// 400 invalid_blocks.
bool ReadBlocks(const nlohmann::json& blocks, std::vector<std::string>& texts) {
    if (!blocks.is_array() || blocks.size() > kMaxBlocks) {
        return false;
    }
    for (const nlohmann::json& block : blocks) {
        if (!block.is_object() || !block.contains("type") || !block["type"].is_string()) {
            return false;
        }
        const std::string type = block["type"].get<std::string>();
        if (type == "section") {
            if (!ReadTextObject(block.value("text", nlohmann::json()), kMaxSectionChars, texts)) {
                return false;
            }
        } else if (type == "context") {
            const nlohmann::json elements = block.value("elements", nlohmann::json());
            if (!elements.is_array() || elements.empty() || elements.size() > 10) {
                return false;
            }
            for (const nlohmann::json& element : elements) {
                if (!ReadTextObject(element, kMaxSectionChars, texts)) {
                    return false;
                }
            }
        } else if (type != "divider") {
            return false;
        }
    }
    return true;
}

}  // namespace

struct FakeSlack::Hook {
    std::string path{};
    bool mattermost = false;
    bool revoked = false;
    Refusal refusal = Refusal::kNone;
    int fail = 0;  // posts still to answer 500
    double tokens = 0;
    std::int64_t at = 0;
    bool touched = false;  // the bucket starts full at the first post
    int too_many = 0;
};

FakeSlack::FakeSlack(FakeSlackOptions options)
    : options_(options),
      clock_(options_.clock != nullptr ? *options_.clock : system_clock_),
      server_(std::make_unique<httplib::Server>()) {
    // A reader of its own: httplib refuses form bodies over 8 KB on its own.
    auto serve_post = [this](const httplib::Request& request, httplib::Response& response,
                             const httplib::ContentReader& reader) {
        std::string body;
        reader([&](const char* data, std::size_t length) {
            body.append(data, length);
            return true;
        });
        Handle(request, body, response);
    };
    server_->Post(".*", serve_post);
    server_->Get(".*", [this](const httplib::Request& request, httplib::Response& response) {
        {
            std::lock_guard lock(mutex_);
            ++requests_;
        }
        // Slack's hooks take POST only.
        response.status = 405;
        response.set_content("invalid_method", "text/plain");
        (void)request;
    });
    server_->set_keep_alive_max_count(1000);
    server_->set_tcp_nodelay(true);  // else every keep-alive answer waits ~40 ms for an ACK
}

FakeSlack::~FakeSlack() { Stop(); }

bool FakeSlack::Start(int port) {
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

void FakeSlack::Stop() {
    if (thread_.joinable()) {
        server_->stop();
        thread_.join();
    }
}

std::string FakeSlack::Url() const { return fmt::format("http://127.0.0.1:{}", port_); }

std::int64_t FakeSlack::Now() const { return ToEpoch(clock_.Now()); }

std::string FakeSlack::Register(bool mattermost) {
    std::lock_guard lock(mutex_);
    std::mt19937 random(static_cast<std::mt19937::result_type>(next_hook_ * 7919 + 17));
    const std::uint64_t number = next_hook_++;
    auto hook = std::make_unique<Hook>();
    if (mattermost) {
        hook->path = fmt::format("/hooks/{}{}", RandomToken(random, 20, false), number);
    } else {
        hook->path = fmt::format("/services/T{:08}/B{:08}/{}", number, number + 4000,
                                 RandomToken(random, 24, false));
    }
    hook->mattermost = mattermost;
    const std::string path = hook->path;
    hooks_.emplace(path, std::move(hook));
    return Url() + path;
}

std::string FakeSlack::AddHook() { return Register(false); }
std::string FakeSlack::AddMattermostHook() { return Register(true); }

std::string FakeSlack::PathOf(const std::string& hook) const {
    const std::string origin = Url();
    return hook.rfind(origin, 0) == 0 ? hook.substr(origin.size()) : hook;
}

void FakeSlack::Revoke(const std::string& hook) {
    std::lock_guard lock(mutex_);
    if (auto found = hooks_.find(PathOf(hook)); found != hooks_.end()) {
        found->second->revoked = true;
    }
}

void FakeSlack::SetRefusal(const std::string& hook, Refusal refusal) {
    std::lock_guard lock(mutex_);
    if (auto found = hooks_.find(PathOf(hook)); found != hooks_.end()) {
        found->second->refusal = refusal;
    }
}

void FakeSlack::FailNext(int times, const std::string& hook) {
    std::lock_guard lock(mutex_);
    if (hook.empty()) {
        fail_any_ += times;
    } else if (auto found = hooks_.find(PathOf(hook)); found != hooks_.end()) {
        found->second->fail += times;
    }
}

void FakeSlack::Handle(const httplib::Request& request, const std::string& body,
                       httplib::Response& response) {
    const Answer answer = Post(request.path, request.get_header_value("Content-Type"), body);
    response.status = answer.status;
    if (answer.retry_after > 0) {
        response.set_header("Retry-After", std::to_string(answer.retry_after));
    }
    response.set_content(answer.body, answer.content_type.c_str());
}

FakeSlack::Answer FakeSlack::Refuse(const Hook& hook, int status, const std::string& code) {
    Answer answer{.status = status, .body = code, .content_type = "text/plain", .retry_after = 0};
    if (hook.mattermost) {
        // Mattermost answers AppErrors (chat.md §2.5).
        answer.content_type = "application/json";
        answer.body = nlohmann::json{
            {"id", "web.incoming_webhook." + code},
            {"message", code},
            {"status_code",
             status}}.dump();
    }
    refusals_.push_back(fmt::format("{} {}", status, code));
    return answer;
}

FakeSlack::Answer FakeSlack::Post(const std::string& path, const std::string& content_type,
                                  const std::string& body) {
    static const std::regex kSlackPath(R"(^/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]+$)");
    static const std::regex kMattermostPath(R"(^/hooks/[A-Za-z0-9]+$)");
    std::unique_lock lock(mutex_);
    ++requests_;
    const auto found = hooks_.find(path);
    const bool well_formed =
        std::regex_match(path, kSlackPath) || std::regex_match(path, kMattermostPath);
    if (!well_formed || found == hooks_.end() || found->second->revoked) {
        refusals_.push_back("404 no_service");
        return Answer{
            .status = 404, .body = "no_service", .content_type = "text/plain", .retry_after = 0};
    }
    Hook& hook = *found->second;
    if (options_.enforce_limits) {
        const std::int64_t now = Now();
        if (!hook.touched) {
            hook.touched = true;
            hook.tokens = options_.burst;
            hook.at = now;
        }
        if (now > hook.at) {
            hook.tokens =
                std::min(options_.burst,
                         hook.tokens + static_cast<double>(now - hook.at) * options_.per_second);
            hook.at = now;
        }
        if (hook.tokens < 1) {
            ++hook.too_many;
            ++too_many_total_;
            const int wait =
                std::max(1, static_cast<int>(std::ceil((1 - hook.tokens) / options_.per_second)));
            refusals_.push_back("429 rate_limited");
            // Slack: "a JSON object containing the number of calls you have been making".
            return Answer{.status = 429,
                          .body = nlohmann::json{{"ok", false},
                                                 {"error", "rate_limited"},
                                                 {"calls_over_limit", hook.too_many}}
                                      .dump(),
                          .content_type = "application/json",
                          .retry_after = wait};
        }
        hook.tokens -= 1;
    }
    if (hook.refusal == Refusal::kChannelNotFound) {
        return Refuse(hook, 404, "channel_not_found");
    }
    if (hook.refusal == Refusal::kChannelArchived) {
        return Refuse(hook, 410, "channel_is_archived");
    }
    if (hook.refusal == Refusal::kActionProhibited) {
        return Refuse(hook, 403, "action_prohibited");
    }
    if (hook.fail > 0 || fail_any_ > 0) {
        hook.fail > 0 ? --hook.fail : --fail_any_;
        return Refuse(hook, 500, "rollup_error");
    }

    // The body must be what its Content-Type says: JSON, or a form with payload=<JSON>.
    const std::string type = LowerAscii(content_type);
    nlohmann::json payload;
    if (type.rfind("application/json", 0) == 0) {
        payload = nlohmann::json::parse(body, nullptr, false);
    } else if (type.rfind("application/x-www-form-urlencoded", 0) == 0) {
        httplib::Params form;
        httplib::detail::parse_query_text(body, form);
        const auto field = form.find("payload");
        payload = field == form.end() ? nlohmann::json(nlohmann::json::value_t::discarded)
                                      : nlohmann::json::parse(field->second, nullptr, false);
    } else {
        payload = nlohmann::json(nlohmann::json::value_t::discarded);
    }
    if (payload.is_discarded() || !payload.is_object()) {
        return Refuse(hook, 400, hook.mattermost ? "parse.app_error" : "invalid_payload");
    }
    const auto text = payload.find("text");
    if (text != payload.end() && !text->is_string()) {
        return Refuse(hook, 400, hook.mattermost ? "parse.app_error" : "invalid_payload");
    }
    AcceptedMessage message;
    message.hook = hook.path;
    message.content_type = content_type;
    message.at = Now();
    if (text != payload.end()) {
        message.text = TruncateCodePoints(text->get<std::string>(), kMaxTextChars);
    }
    // Mattermost and Rocket.Chat render no blocks: their posts are `text` alone.
    const auto blocks = payload.find("blocks");
    if (!hook.mattermost && blocks != payload.end()) {
        if (!ReadBlocks(*blocks, message.block_texts)) {
            return Refuse(hook, 400, "invalid_blocks");
        }
        std::size_t characters = 0;
        for (const std::string& block_text : message.block_texts) {
            characters += CodePoints(block_text);
        }
        if (characters > kMaxBlockChars) {
            return Refuse(hook, 400, "msg_blocks_too_long");
        }
        message.blocks = *blocks;
    }
    if (message.text.empty() && message.block_texts.empty()) {
        return Refuse(hook, 400, hook.mattermost ? "text.app_error" : "no_text");
    }
    MrkdwnReading reading = ReadMrkdwn(message.text);
    message.plain = std::move(reading.plain);
    message.links = std::move(reading.links);
    for (std::string& excerpt : reading.unsafe) {
        unsafe_.push_back(UnsafeMarkup{.hook = hook.path, .excerpt = std::move(excerpt)});
    }
    for (const std::string& block_text : message.block_texts) {
        for (std::string& excerpt : ReadMrkdwn(block_text).unsafe) {
            unsafe_.push_back(UnsafeMarkup{.hook = hook.path, .excerpt = std::move(excerpt)});
        }
    }
    messages_.push_back(std::move(message));
    lock.unlock();
    changed_.notify_all();
    return Answer{};
}

std::vector<AcceptedMessage> FakeSlack::Messages() const {
    std::lock_guard lock(mutex_);
    return messages_;
}

std::vector<AcceptedMessage> FakeSlack::MessagesTo(const std::string& hook) const {
    const std::string path = PathOf(hook);
    std::lock_guard lock(mutex_);
    std::vector<AcceptedMessage> out;
    std::copy_if(messages_.begin(), messages_.end(), std::back_inserter(out),
                 [&](const AcceptedMessage& message) { return message.hook == path; });
    return out;
}

int FakeSlack::TooManyRequests(const std::string& hook) const {
    std::lock_guard lock(mutex_);
    const auto found = hooks_.find(PathOf(hook));
    return found == hooks_.end() ? 0 : found->second->too_many;
}

int FakeSlack::TooManyRequestsTotal() const {
    std::lock_guard lock(mutex_);
    return too_many_total_;
}

int FakeSlack::Requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
}

std::vector<std::string> FakeSlack::Refusals() const {
    std::lock_guard lock(mutex_);
    return refusals_;
}

std::vector<UnsafeMarkup> FakeSlack::Unsafe() const {
    std::lock_guard lock(mutex_);
    return unsafe_;
}

bool FakeSlack::WaitForMessages(std::size_t count, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return messages_.size() >= count; });
}

}  // namespace fg::adapters::slack::fake
