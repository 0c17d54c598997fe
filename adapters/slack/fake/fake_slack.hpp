#pragma once

// A fake Slack incoming-webhook service (reference/chat.md §2.1-2.5): a real HTTP server on
// 127.0.0.1 that answers POST /services/T../B../<secret> as Slack does (plain-text "ok" and error
// codes, 429 with a JSON body and Retry-After) and POST /hooks/<id> as Mattermost does, for the
// tests and the demo. Rate limits run on the injected clock, so they pass in no time. It checks
// every mrkdwn text it accepts for `<` that is no link (an injected `<!channel>`).

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/slack/fake/mrkdwn_check.hpp"
#include "src/common/clock.hpp"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace fg::adapters::slack::fake {

struct FakeSlackOptions {
    /// Rate limits and message times; must outlive the fake. nullptr: the system clock.
    const Clock* clock = nullptr;
    bool enforce_limits = true;
    double per_second = 1;  // per hook (Slack: "no more than one message per second")
    double burst = 3;       // "bursts over that limit for short periods"
};

/// How a hook answers instead of posting (chat.md §2.2).
enum class Refusal {
    kNone,
    kChannelNotFound,   // 404 channel_not_found
    kChannelArchived,   // 410 channel_is_archived
    kActionProhibited,  // 403 action_prohibited
};

/// A post a hook accepted.
struct AcceptedMessage {
    std::string hook{};       // the hook's path ("/services/T../B../secret", "/hooks/<id>")
    std::string text{};       // as sent
    nlohmann::json blocks{};  // as sent; null when none
    /// Every mrkdwn text of the blocks (sections, context elements), in order.
    std::vector<std::string> block_texts{};
    std::string plain{};              // what a reader sees of `text` (ReadMrkdwn)
    std::vector<MrkdwnLink> links{};  // the links of `text`
    std::string content_type{};
    std::int64_t at = 0;  // the injected clock, epoch seconds
};

/// A `<` in an accepted text that opens no link (ReadMrkdwn's unsafe).
struct UnsafeMarkup {
    std::string hook{};
    std::string excerpt{};
};

/// The fake service. Start() before use; every member is thread-safe.
class FakeSlack {
public:
    explicit FakeSlack(FakeSlackOptions options = {});
    ~FakeSlack();
    FakeSlack(const FakeSlack&) = delete;
    FakeSlack& operator=(const FakeSlack&) = delete;

    /// Binds 127.0.0.1:`port` (0: any free port) and serves on threads of its own; false when
    /// the port cannot be bound.
    bool Start(int port = 0);
    /// Stops serving and joins; idempotent (the destructor calls it).
    void Stop();
    int port() const { return port_; }
    /// "http://127.0.0.1:<port>".
    std::string Url() const;

    /// A new Slack hook: its full URL, "http://127.0.0.1:<port>/services/T../B../<secret>".
    std::string AddHook();
    /// A new Mattermost hook: "http://127.0.0.1:<port>/hooks/<id>".
    std::string AddMattermostHook();
    /// The hook (by its URL or path) is revoked: 404 no_service, like an unknown one.
    void Revoke(const std::string& hook);
    void SetRefusal(const std::string& hook, Refusal refusal);
    /// The next `times` posts (to `hook`; empty: to any) answer 500 rollup_error.
    void FailNext(int times = 1, const std::string& hook = {});

    std::vector<AcceptedMessage> Messages() const;
    std::vector<AcceptedMessage> MessagesTo(const std::string& hook) const;
    /// Posts refused with 429, to one hook / in all.
    int TooManyRequests(const std::string& hook) const;
    int TooManyRequestsTotal() const;
    /// Every request that reached the server (any path, any answer).
    int Requests() const;
    /// The answers it gave but 200, by "<status> <body>" for Slack hooks ("404 no_service").
    std::vector<std::string> Refusals() const;
    std::vector<UnsafeMarkup> Unsafe() const;

    /// Waits (real time) until at least `count` posts were accepted; false at the deadline.
    bool WaitForMessages(std::size_t count, std::chrono::milliseconds timeout) const;

private:
    struct Hook;
    struct Answer {
        int status = 200;
        std::string body = "ok";
        std::string content_type = "text/plain";
        int retry_after = 0;  // > 0: sent as Retry-After
    };

    void Handle(const httplib::Request& request, const std::string& body,
                httplib::Response& response);
    Answer Post(const std::string& path, const std::string& content_type, const std::string& body);
    Answer Refuse(const Hook& hook, int status, const std::string& code);
    std::string Register(bool mattermost);
    std::string PathOf(const std::string& hook) const;
    std::int64_t Now() const;

    FakeSlackOptions options_;
    SystemClock system_clock_;
    const Clock& clock_;
    std::unique_ptr<httplib::Server> server_;
    std::thread thread_;
    int port_ = -1;

    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    std::map<std::string, std::unique_ptr<Hook>> hooks_;  // by path
    std::vector<AcceptedMessage> messages_;
    std::vector<UnsafeMarkup> unsafe_;
    std::vector<std::string> refusals_;
    int fail_any_ = 0;
    int requests_ = 0;
    int too_many_total_ = 0;
    std::uint64_t next_hook_ = 1;
};

}  // namespace fg::adapters::slack::fake
