#include "adapters/slack/channel.hpp"

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "src/common/log.hpp"

namespace fg::adapters::slack {
namespace {

// A split message whose retry never comes leaves its count behind: a bound, not a leak.
constexpr std::size_t kMaxLanded = 1000;
constexpr std::size_t kMaxErrorBody = 120;

spdlog::logger& Log() {
    static const std::shared_ptr<spdlog::logger> logger = ModuleLogger("slack");
    return *logger;
}

// Slack's (and Mattermost's) answers that say the body itself is wrong (chat.md §2.2, §2.5).
bool IsContentRefusal(std::string_view body) {
    static constexpr std::array<std::string_view, 7> kCodes = {
        "invalid_payload", "no_text",         "invalid_blocks", "msg_blocks_too_long",
        "msg_too_long",    "parse.app_error", "text.app_error"};
    return std::any_of(kCodes.begin(), kCodes.end(), [&](std::string_view code) {
        return body.find(code) != std::string_view::npos;
    });
}

bool IsBlocksRefusal(std::string_view body) {
    return body.find("invalid_blocks") != std::string_view::npos ||
           body.find("msg_blocks_too_long") != std::string_view::npos;
}

}  // namespace

/// One post's outcome.
struct SlackChannel::Answer {
    bool answered = false;
    http::FailureKind failure = http::FailureKind::kReceive;
    int status = 0;
    std::string body{};  // the service's answer, with the webhook's path taken out
    std::optional<Duration> retry_after{};
    std::string error{};  // "404 no_service", or the transport's reason (host and port only)

    bool ok() const { return answered && status >= 200 && status < 300; }
};

SlackChannel::SlackChannel(std::string tenant, const SlackSettings& settings, std::string locale,
                           const Clock& clock, ChannelOptions options)
    : tenant_(std::move(tenant)),
      settings_(settings),
      locale_(std::move(locale)),
      clock_(clock),
      options_(options),
      pacer_(clock, settings.rate, options.burst) {}

Duration SlackChannel::WaitFor(const notify::Address& to) { return pacer_.WaitFor(to.value); }

http::Client* SlackChannel::ClientFor(const http::Url& url, std::string& error) {
    const std::string origin = fmt::format("{}://{}:{}", url.scheme, url.host, url.port);
    std::lock_guard lock(mutex_);
    auto found = clients_.find(origin);
    if (found != clients_.end()) {
        return found->second.get();
    }
    // One client per origin, the path in each request: one pool serves every webhook there.
    http::Url base = url;
    base.path.clear();
    base.query.clear();
    http::ClientOptions options;
    options.connect_timeout = options_.connect_timeout;
    options.read_timeout = options_.read_timeout;
    options.clock = &clock_;
    options.max_idle = 4;
    auto client = http::Client::Make(base, options);
    if (!client) {
        error = client.error().message;
        return nullptr;
    }
    return clients_.emplace(origin, std::move(*client)).first->second.get();
}

SlackChannel::Answer SlackChannel::PostOne(http::Client& client, const http::Url& url,
                                           const slack::Post& post, bool with_blocks) {
    nlohmann::json body = {{"text", post.text}};
    if (with_blocks && !post.blocks.empty()) {
        body["blocks"] = post.blocks;
    }
    http::Request request;
    request.method = "POST";
    request.target = url.Target();
    request.body = body.dump();
    request.content_type = "application/json";
    const http::Outcome outcome = client.Send(request);
    Answer answer;
    if (!outcome) {
        answer.failure = outcome.failure.kind;
        // Failure::Message() names the path, which is the credential: the reason alone.
        answer.error = outcome.failure.reason;
        return answer;
    }
    answer.answered = true;
    answer.status = outcome->status;
    answer.retry_after = outcome->retry_after;
    answer.body = outcome->body;
    // An answer that quotes the request would quote the secret.
    for (const std::string& secret : {url.Target(), url.path}) {
        for (auto at = answer.body.find(secret); !secret.empty() && at != std::string::npos;
             at = answer.body.find(secret, at)) {
            answer.body.replace(at, secret.size(), "…");
        }
    }
    answer.error = fmt::format("{} {}", answer.status, LogSafe(answer.body, kMaxErrorBody));
    return answer;
}

notify::SendResult SlackChannel::Failed(const Answer& answer, const std::string& hook,
                                        const std::string& what) {
    using notify::Failure;
    using outbox::DeliveryStatus;
    notify::SendResult result;
    result.delivery.error = fmt::format("POST to {}{}: {}", ShownUrl(hook), what, answer.error);
    if (!answer.answered) {
        const http::Classification classified = http::ClassifyFailure(answer.failure);
        result.delivery.status = classified.verdict == http::Verdict::kRetry
                                     ? DeliveryStatus::kRetry
                                     : DeliveryStatus::kRejected;
        result.delivery.not_sent = classified.not_sent;
        return result;
    }
    const int code = answer.status;
    if (code == 429) {
        // Refused unprocessed: this part did not land, and the parts before it are not sent
        // again (landed_), so the retry is safe.
        result.delivery.status = DeliveryStatus::kRetry;
        result.delivery.retry_after = answer.retry_after;
        result.delivery.not_sent = true;
        pacer_.Refused(hook, answer.retry_after.value_or(Duration{1}));
        return result;
    }
    if (code >= 500 || code == 408) {
        result.delivery.status = DeliveryStatus::kRetry;
        result.delivery.retry_after = answer.retry_after;
        return result;
    }
    result.delivery.status = DeliveryStatus::kRejected;
    if (code == 400 && IsContentRefusal(answer.body)) {
        result.failure = Failure::kContent;
    } else if ((code >= 300 && code < 400) || code == 400 || code == 401 || code == 403 ||
               code == 404 || code == 410) {
        // Revoked, channel gone or archived, posting prohibited, moved: this webhook cannot be
        // written to until someone gives a new one (chat.md §4.3).
        result.failure = Failure::kAddressGone;
    }
    return result;
}

notify::SendResult SlackChannel::Send(const notify::Outgoing& outgoing) {
    notify::SendResult result;
    const std::string& hook = outgoing.to.value;
    if (std::string problem = CheckWebhookUrl(hook); !problem.empty()) {
        result.delivery.status = outbox::DeliveryStatus::kRejected;
        result.delivery.error = "not a usable webhook URL: " + problem;
        result.failure = notify::Failure::kAddressGone;
        return result;
    }
    const http::Url url = *http::ParseUrl(hook);
    std::string error;
    http::Client* client = ClientFor(url, error);
    if (client == nullptr) {
        result.delivery.status = outbox::DeliveryStatus::kRejected;
        result.delivery.error = fmt::format("POST to {}: {}", ShownUrl(hook), error);
        result.failure = notify::Failure::kAddressGone;
        return result;
    }
    const std::vector<slack::Post> posts = Render(outgoing.message, locale_, options_.posts);
    const std::string landed_key = outgoing.key + '\n' + hook;
    std::size_t first = 0;
    {
        std::lock_guard lock(mutex_);
        if (auto found = landed_.find(landed_key); found != landed_.end()) {
            first = std::min(found->second, posts.size() - 1);
        }
    }
    for (std::size_t i = first; i < posts.size(); ++i) {
        pacer_.Take(hook);
        Answer answer = PostOne(*client, url, posts[i], true);
        if (answer.answered && answer.status == 400 && IsBlocksRefusal(answer.body)) {
            // The text says it all: sent once more without the blocks (chat.md §4.2).
            Log().error(
                "Slack refused the message's blocks, resending it as text (a bug). tenant={} "
                "to={} key={} error={}",
                tenant_, ShownUrl(hook), outgoing.key, answer.error);
            pacer_.Take(hook);
            answer = PostOne(*client, url, posts[i], false);
        }
        if (!answer.ok()) {
            const std::string what =
                posts.size() == 1 ? "" : fmt::format(" (part {} of {})", i + 1, posts.size());
            notify::SendResult failed = Failed(answer, hook, what);
            {
                std::lock_guard lock(mutex_);
                if (i > 0 && failed.delivery.status == outbox::DeliveryStatus::kRetry) {
                    if (landed_.size() >= kMaxLanded) {
                        landed_.clear();
                    }
                    landed_[landed_key] = i;
                } else {
                    landed_.erase(landed_key);
                }
            }
            if (failed.failure == notify::Failure::kContent) {
                Log().error("Slack refused a message for good (a bug). tenant={} key={} error={}",
                            tenant_, outgoing.key, failed.delivery.error);
            }
            return failed;
        }
    }
    {
        std::lock_guard lock(mutex_);
        landed_.erase(landed_key);
    }
    result.delivery.status = outbox::DeliveryStatus::kDelivered;
    return result;
}

}  // namespace fg::adapters::slack
