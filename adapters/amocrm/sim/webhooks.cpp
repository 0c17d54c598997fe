#include "adapters/amocrm/sim/webhooks.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <httplib.h>

namespace fg::adapters::amocrm::sim {
namespace {

constexpr auto kPollInterval = std::chrono::milliseconds{20};
constexpr Duration kFailureWindow{2 * 3600};
constexpr std::size_t kFailuresToDisable = 100;

void AppendPair(std::string& body, std::string_view key, std::string_view value) {
    if (!body.empty()) {
        body += '&';
    }
    body += FormEncode(key);
    body += '=';
    body += FormEncode(value);
}

}  // namespace

std::string FormEncode(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size() * 3);
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if ((byte >= 'A' && byte <= 'Z') || (byte >= 'a' && byte <= 'z') ||
            (byte >= '0' && byte <= '9') || byte == '-' || byte == '_' || byte == '.') {
            out += c;
        } else if (byte == ' ') {
            out += '+';
        } else {
            out += '%';
            out += kHex[byte >> 4];
            out += kHex[byte & 0x0f];
        }
    }
    return out;
}

std::string EncodeWebhookBody(const std::vector<const HookItem*>& items, const Model& model) {
    // Groups in order of first appearance; entities numbered within their group.
    std::vector<std::string> groups;
    for (const HookItem* item : items) {
        if (std::find(groups.begin(), groups.end(), item->group) == groups.end()) {
            groups.push_back(item->group);
        }
    }
    std::string body;
    for (const std::string& group : groups) {
        std::size_t index = 0;
        for (const HookItem* item : items) {
            if (item->group != group) {
                continue;
            }
            const std::string prefix = fmt::format("{}[{}]", group, index++);
            for (const auto& [key, value] : item->fields) {
                // "note[text]" nests as leads[note][0][note][text]; plain keys as [key].
                const std::size_t bracket = key.find('[');
                const std::string full =
                    bracket == std::string::npos
                        ? fmt::format("{}[{}]", prefix, key)
                        : fmt::format("{}[{}]{}", prefix, key.substr(0, bracket),
                                      key.substr(bracket));
                AppendPair(body, full, value);
            }
        }
    }
    AppendPair(body, "account[subdomain]", model.subdomain);
    AppendPair(body, "account[id]", std::to_string(model.account_id));
    AppendPair(body, "account[_links][self]",
               model.base_url.empty() ? fmt::format("https://{}.amocrm.ru", model.subdomain)
                                      : model.base_url);
    return body;
}

std::optional<Duration> RetryDelay(int failed_attempt, int status) {
    const bool server_side = status == 499 || status >= 500;
    switch (failed_attempt) {
        case 1:
            return Duration{5 * 60};
        case 2:
            return Duration{15 * 60};
        case 3:
            return server_side ? std::optional<Duration>(Duration{15 * 60}) : std::nullopt;
        case 4:
            return server_side ? std::optional<Duration>(Duration{3600}) : std::nullopt;
        default:
            return std::nullopt;
    }
}

WebhookSender::WebhookSender(const Clock& clock, Duration timeout)
    : clock_(clock), timeout_(timeout) {}

WebhookSender::~WebhookSender() { Stop(); }

void WebhookSender::Start() {
    std::lock_guard lock(mutex_);
    if (thread_.joinable()) {
        return;
    }
    stopping_ = false;
    thread_ = std::thread([this] { Run(); });
}

void WebhookSender::Stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
    idle_.notify_all();
}

void WebhookSender::Enqueue(const std::string& destination, std::string body) {
    {
        std::lock_guard lock(mutex_);
        if (drop_next_ > 0) {
            --drop_next_;
            ++stats_.dropped;
            return;
        }
        if (disabled_[destination]) {
            ++stats_.disabled;
            return;
        }
        ++stats_.queued;
        fresh_.push_back(
            Item{.destination = destination, .body = std::move(body), .due = clock_.Now()});
    }
    wake_.notify_all();
}

void WebhookSender::DropNext(int count) {
    std::lock_guard lock(mutex_);
    drop_next_ += std::max(count, 0);
}

bool WebhookSender::Disabled(const std::string& destination) const {
    std::lock_guard lock(mutex_);
    const auto it = disabled_.find(destination);
    return it != disabled_.end() && it->second;
}

void WebhookSender::Enable(const std::string& destination) {
    std::lock_guard lock(mutex_);
    disabled_[destination] = false;
    failures_.erase(destination);
}

void WebhookSender::Forget(const std::string& destination) {
    {
        std::lock_guard lock(mutex_);
        auto matches = [&](const Item& item) { return item.destination == destination; };
        fresh_.erase(std::remove_if(fresh_.begin(), fresh_.end(), matches), fresh_.end());
        retries_.erase(std::remove_if(retries_.begin(), retries_.end(), matches), retries_.end());
        failures_.erase(destination);
        disabled_.erase(destination);
    }
    idle_.notify_all();
}

WebhookStats WebhookSender::Stats() const {
    std::lock_guard lock(mutex_);
    WebhookStats stats = stats_;
    stats.pending = fresh_.size() + retries_.size() + (in_flight_ ? 1 : 0);
    return stats;
}

bool WebhookSender::IdleLocked(Timestamp now) const {
    if (in_flight_ || !fresh_.empty()) {
        return false;
    }
    return std::none_of(retries_.begin(), retries_.end(),
                        [&](const Item& item) { return item.due <= now; });
}

bool WebhookSender::WaitIdle(std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock lock(mutex_);
    while (!IdleLocked(clock_.Now())) {
        if (std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
        // Polled: a retry may fall due because someone advanced the clock.
        idle_.wait_for(lock, kPollInterval);
    }
    return true;
}

int WebhookSender::Post(const Item& item) const {
    // scheme://host[:port] and the request target ("/path?query", "/" when empty).
    const std::string& url = item.destination;
    const std::size_t scheme_end = url.find("://");
    if (scheme_end == std::string::npos ||
        (url.compare(0, scheme_end, "http") != 0 && url.compare(0, scheme_end, "https") != 0)) {
        return 0;
    }
    const std::size_t host_end = url.find_first_of("/?#", scheme_end + 3);
    const std::string origin = url.substr(0, host_end);
    std::string path = host_end == std::string::npos ? "/" : url.substr(host_end);
    if (const std::size_t fragment = path.find('#'); fragment != std::string::npos) {
        path.erase(fragment);
    }
    if (path.empty() || path.front() != '/') {
        path.insert(path.begin(), '/');
    }
    if (origin.size() <= scheme_end + 3) {
        return 0;
    }
    try {
        httplib::Client client(origin);
        const auto seconds = static_cast<time_t>(timeout_.count());
        client.set_connection_timeout(seconds, 0);
        client.set_read_timeout(seconds, 0);
        client.set_write_timeout(seconds, 0);
        client.set_keep_alive(false);
        client.set_follow_location(false);
        const httplib::Headers headers = {{"User-Agent", "amoCRM-WebHook-client/1.0"},
                                          {"Accept", "*/*"}};
        const auto response =
            client.Post(path, headers, item.body, "application/x-www-form-urlencoded");
        return response ? response->status : 0;
    } catch (const std::exception&) {
        return 0;
    }
}

void WebhookSender::Run() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        const Timestamp now = clock_.Now();
        Item item;
        bool have = false;
        // Due retries first (earliest first), then first attempts in order.
        auto due = retries_.end();
        for (auto it = retries_.begin(); it != retries_.end(); ++it) {
            if (it->due <= now && (due == retries_.end() || it->due < due->due)) {
                due = it;
            }
        }
        if (due != retries_.end()) {
            item = std::move(*due);
            retries_.erase(due);
            have = true;
        } else if (!fresh_.empty()) {
            item = std::move(fresh_.front());
            fresh_.pop_front();
            have = true;
        }
        if (!have) {
            idle_.notify_all();
            wake_.wait_for(lock, kPollInterval);
            continue;
        }
        if (disabled_[item.destination]) {
            ++stats_.disabled;
            continue;
        }
        in_flight_ = true;
        lock.unlock();
        const int status = Post(item);
        lock.lock();
        in_flight_ = false;
        ++stats_.attempts;
        if (item.attempt > 1) {
            ++stats_.retried;
        }
        if (status >= 100 && status <= 299) {
            ++stats_.delivered;
        } else {
            ++stats_.failed;
            const Timestamp failed_at = clock_.Now();
            auto& failures = failures_[item.destination];
            failures.push_back(failed_at);
            while (!failures.empty() && failures.front() < failed_at - kFailureWindow) {
                failures.pop_front();
            }
            if (failures.size() > kFailuresToDisable) {
                disabled_[item.destination] = true;
            }
            if (const auto delay = RetryDelay(item.attempt, status);
                delay && !disabled_[item.destination]) {
                item.attempt += 1;
                item.due = failed_at + *delay;
                retries_.push_back(std::move(item));
            } else {
                ++stats_.given_up;
            }
        }
        idle_.notify_all();
    }
}

}  // namespace fg::adapters::amocrm::sim
