#include "adapters/bitrix24/sim/simulator.hpp"

#include <algorithm>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "adapters/bitrix24/sim/activity.hpp"
#include "adapters/bitrix24/sim/generator.hpp"
#include "adapters/bitrix24/sim/params.hpp"
#include "adapters/bitrix24/sim/render.hpp"
#include "adapters/bitrix24/sim/simulator_impl.hpp"

// The Simulator's lifecycle, the method call and event plumbing, inspection and manager
// operations.

namespace fg::adapters::bitrix24::sim {

using nlohmann::json;

Simulator::Impl::Impl(SimulatorOptions opts)
    : options(std::move(opts)),
      clock(options.clock != nullptr ? options.clock : &system_clock),
      bucket(options.rate, options.burst),
      budget(options.operating_limit),
      token_rng(std::random_device{}() ^ (options.seed << 17)),
      sender(options.delivery_timeout, options.drop_events, options.seed) {}

Simulator::Impl::~Impl() = default;

std::string Simulator::Impl::Url() const { return fmt::format("http://{}:{}", options.host, port); }

std::string Simulator::Impl::RandomHex(std::size_t bytes) {
    std::string out;
    for (std::size_t i = 0; i < bytes; ++i) {
        out += fmt::format("{:02x}", static_cast<unsigned>(token_rng.Below(256)));
    }
    return out;
}

SimTokens Simulator::Impl::IssueTokensLocked() {
    const Timestamp now = clock->Now();
    SimTokens tokens{.access_token = RandomHex(36),
                     .refresh_token = RandomHex(36),
                     .expires = now + options.access_ttl};
    access_tokens[tokens.access_token] = tokens.expires;
    refresh_tokens[tokens.refresh_token] = now + options.refresh_ttl;
    return tokens;
}

namespace {

bool IsWrite(const std::string& method) {
    for (const char* suffix : {".add", ".update", ".delete", ".complete", ".bind", ".unbind"}) {
        const std::string_view s(suffix);
        if (method.size() > s.size() &&
            method.compare(method.size() - s.size(), s.size(), s) == 0) {
            return true;
        }
    }
    return false;
}

}  // namespace

Reply Simulator::Impl::Call(const std::string& method, const json& params, const Caller& caller) {
    {
        std::lock_guard lock(stats_mutex);
        ++stats.calls[method];
    }
    const auto it = methods.find(method);
    if (it == methods.end()) {
        return Reply::Fail(404, "ERROR_METHOD_NOT_FOUND", "Method not found!");
    }
    const Timestamp now = clock->Now();
    if (budget.Blocked(method, now)) {
        std::lock_guard lock(stats_mutex);
        ++stats.operation_limit_errors;
        return Reply::Fail(429, "OPERATION_TIME_LIMIT",
                           "Method is blocked due to operation time limit.");
    }
    Reply reply = it->second(*this, params, caller);
    if (const auto cost = options.method_seconds.find(method);
        cost != options.method_seconds.end()) {
        budget.Charge(method, cost->second, now);
    }
    if (reply.ok() && IsWrite(method)) {
        std::lock_guard lock(stats_mutex);
        ++stats.writes[method];
    }
    return reply;
}

json Simulator::Impl::TimeBlock(const std::string& method, Timestamp start) {
    const Timestamp finish = clock->Now();
    return {{"start", static_cast<double>(ToEpoch(start))},
            {"finish", static_cast<double>(ToEpoch(finish))},
            {"duration", static_cast<double>((finish - start).count())},
            {"processing", 0.0},
            {"date_start", PortalTime(start)},
            {"date_finish", PortalTime(finish)},
            {"operating_reset_at", ToEpoch(budget.ResetAt(method, finish))},
            {"operating", budget.Operating(method, finish)}};
}

std::string Simulator::Impl::EventBody(const SimEvent& event, const SimHandler& handler) {
    std::vector<std::pair<std::string, std::string>> pairs{
        {"event", event.name}, {"event_handler_id", std::to_string(handler.id)}};
    for (const auto& [key, value] : event.data) {
        pairs.emplace_back("data" + key, value);
    }
    pairs.emplace_back("ts", std::to_string(ToEpoch(event.at)));
    const std::string client_endpoint = fmt::format("https://{}/rest/", options.domain);
    if (handler.app) {
        // An app's handler also gets OAuth tokens (bitrix24.md §1.1); they are live ones.
        const SimTokens tokens = IssueTokensLocked();
        pairs.insert(pairs.end(), {{"auth[access_token]", tokens.access_token},
                                   {"auth[expires]", std::to_string(ToEpoch(tokens.expires))},
                                   {"auth[expires_in]", std::to_string(options.access_ttl.count())},
                                   {"auth[scope]", "crm,task,im,user"},
                                   {"auth[domain]", options.domain},
                                   {"auth[server_endpoint]", "https://oauth.bitrix.info/rest/"},
                                   {"auth[status]", "L"},
                                   {"auth[client_endpoint]", client_endpoint},
                                   {"auth[member_id]", options.member_id},
                                   {"auth[user_id]", std::to_string(model.AdminId())},
                                   {"auth[refresh_token]", tokens.refresh_token},
                                   {"auth[application_token]", application_token}});
    } else {
        pairs.insert(pairs.end(), {{"auth[domain]", options.domain},
                                   {"auth[client_endpoint]", client_endpoint},
                                   {"auth[server_endpoint]", "https://oauth.bitrix.info/rest/"},
                                   {"auth[member_id]", options.member_id},
                                   {"auth[application_token]", application_token}});
    }
    std::string body;
    for (const auto& [key, value] : pairs) {
        if (!body.empty()) {
            body += '&';
        }
        body += FormEncode(key) + "=" + FormEncode(value);
    }
    return body;
}

void Simulator::Impl::Flush() {
    std::vector<SimEvent> events;
    events.swap(model.events);
    for (const SimEvent& event : events) {
        for (const SimHandler& handler : model.handlers) {
            // An outbound webhook ("*" = every event) never gets ONCRMDEALMOVETOCATEGORY: only
            // an app can subscribe to it (bitrix24.md §1.2 H).
            const bool matches = handler.event == event.name ||
                                 (handler.event == "*" && event.name != "ONCRMDEALMOVETOCATEGORY");
            if (matches) {
                sender.Enqueue(handler.url, EventBody(event, handler));
            }
        }
    }
}

// ---- Simulator ----

Simulator::Simulator(SimulatorOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

Simulator::~Simulator() { Stop(); }

Result<void> Simulator::Start() {
    Impl& s = *impl_;
    if (s.started) {
        return MakeError(ErrorCode::kConflict, "Bitrix24 simulator already started");
    }
    {
        std::lock_guard lock(s.mutex);
        s.model = Model{};
        s.model.comment_id_shape = s.options.comment_id_shape;
        s.model.fast_lists = s.options.fast_lists;
        BuildCatalog(s.model);
        GenerateDeals(s.model, s.options.seed, s.options.deals, s.clock->Now());
        s.webhook_token =
            s.options.webhook_token.empty() ? s.RandomHex(8) : s.options.webhook_token;
        s.application_token =
            s.options.application_token.empty() ? s.RandomHex(16) : s.options.application_token;
        s.client_secret =
            s.options.client_secret.empty() ? s.RandomHex(24) : s.options.client_secret;
        for (const OutboundWebhook& webhook : s.options.outbound) {
            const std::int64_t id = s.model.next_handler++;
            const std::vector<std::string> events =
                webhook.events.empty() ? std::vector<std::string>{"*"} : webhook.events;
            for (const std::string& event : events) {
                s.model.handlers.push_back(
                    SimHandler{.id = id, .event = event, .url = webhook.url, .app = false});
            }
        }
        s.methods.clear();
        s.RegisterDealMethods();
        s.RegisterWorkMethods();
        s.RegisterEventMethods();
    }
    s.server = std::make_unique<httplib::Server>();
    s.server->set_tcp_nodelay(true);
    s.server->set_keep_alive_timeout(1);
    s.server->set_payload_max_length(16 * 1024 * 1024);
    const auto threads = static_cast<std::size_t>(std::max(4, s.options.threads));
    s.server->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    s.RegisterRoutes();
    if (s.options.port == 0) {
        s.port = s.server->bind_to_any_port(s.options.host);
    } else if (s.server->bind_to_port(s.options.host, s.options.port)) {
        s.port = s.options.port;
    } else {
        s.port = -1;
    }
    if (s.port <= 0) {
        s.server.reset();
        return MakeError(ErrorCode::kUnavailable, "Bitrix24 simulator cannot listen on {}:{}",
                         s.options.host, s.options.port);
    }
    s.sender.Start();
    s.listen_thread = std::thread([&s] { s.server->listen_after_bind(); });
    // stop() before the accept loop runs would be lost, and the join would hang.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
    while (!s.server->is_running() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds{1});
    }
    s.started = true;
    if (s.options.activity) {
        s.activity = std::make_unique<Activity>(*this, ActivityOptions{.seed = s.options.seed});
        s.activity->Start();
    }
    return Ok{};
}

void Simulator::Stop() {
    Impl& s = *impl_;
    if (s.activity) {
        s.activity->Stop();
        s.activity.reset();
    }
    if (s.server) {
        s.server->stop();
    }
    if (s.listen_thread.joinable()) {
        s.listen_thread.join();
    }
    s.sender.Stop();
    s.started = false;
}

std::string Simulator::Url() const { return impl_->Url(); }
std::string Simulator::WebhookUrl() const {
    return fmt::format("{}/rest/{}/{}/", impl_->Url(), impl_->options.webhook_user, WebhookToken());
}
std::int64_t Simulator::WebhookUser() const { return impl_->options.webhook_user; }
std::string Simulator::WebhookToken() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->webhook_token;
}
std::string Simulator::ApplicationToken() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->application_token;
}
std::string Simulator::ClientId() const { return impl_->options.client_id; }
std::string Simulator::ClientSecret() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->client_secret;
}
const Clock& Simulator::clock() const { return *impl_->clock; }

SimTokens Simulator::IssueTokens() {
    std::lock_guard lock(impl_->mutex);
    return impl_->IssueTokensLocked();
}

std::int64_t Simulator::AddOutboundWebhook(const OutboundWebhook& webhook) {
    std::lock_guard lock(impl_->mutex);
    Model& model = impl_->model;
    const std::int64_t id = model.next_handler++;
    const std::vector<std::string> events =
        webhook.events.empty() ? std::vector<std::string>{"*"} : webhook.events;
    for (const std::string& event : events) {
        model.handlers.push_back(
            SimHandler{.id = id, .event = event, .url = webhook.url, .app = false});
    }
    return id;
}

SimStats Simulator::Stats() const {
    std::lock_guard lock(impl_->stats_mutex);
    SimStats stats = impl_->stats;
    stats.events = impl_->sender.Stats();
    return stats;
}

void Simulator::DropEvents(int count) { impl_->sender.DropNext(count); }

bool Simulator::WaitEventsIdle(std::chrono::milliseconds timeout) const {
    return impl_->sender.WaitIdle(timeout);
}

}  // namespace fg::adapters::bitrix24::sim
