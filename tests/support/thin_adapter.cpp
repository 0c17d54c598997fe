#include "tests/support/thin_adapter.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>

namespace fg::testing {
namespace {

using nlohmann::json;

constexpr std::string_view kDealReference = "deal ";

std::vector<std::string> SplitIds(const std::string& text) {
    std::vector<std::string> ids;
    std::size_t at = 0;
    while (at <= text.size() && !text.empty()) {
        const std::size_t comma = std::min(text.find(',', at), text.size());
        ids.push_back(text.substr(at, comma - at));
        at = comma + 1;
    }
    return ids;
}

std::vector<crm::Fetched> AllOf(std::size_t count, crm::Fetched::Outcome outcome,
                                const std::string& reason, std::optional<Duration> retry_after) {
    return std::vector<crm::Fetched>(
        count, {.outcome = outcome, .events = {}, .reason = reason, .retry_after = retry_after});
}

// Retry-After as delay-seconds, the form the fake API sends.
std::optional<Duration> RetryAfterSeconds(const std::string& value) {
    if (value.empty() || !std::all_of(value.begin(), value.end(),
                                      [](unsigned char c) { return std::isdigit(c) != 0; })) {
        return std::nullopt;
    }
    return Duration{std::stoll(value)};
}

}  // namespace

FakeDealsApi::FakeDealsApi() {
    server_.ServeAll([this](const httplib::Request& request, httplib::Response& response) {
        std::function<void()> during_call;
        {
            std::lock_guard lock(mutex_);
            during_call = during_call_;
        }
        if (during_call) {
            during_call();
        }
        std::lock_guard lock(mutex_);
        if (status_ != 200) {
            response.status = status_;
            if (!retry_after_.empty()) {
                response.set_header("Retry-After", retry_after_);
            }
            response.set_content("{}", "application/json");
            return;
        }
        json out = {{"deals", json::array()}, {"refused", json::object()}};
        for (const std::string& id : SplitIds(request.get_param_value("ids"))) {
            if (const auto refused = refused_.find(id); refused != refused_.end()) {
                out["refused"][id] = refused->second;
            } else if (const auto deal = deals_.find(id); deal != deals_.end()) {
                out["deals"].push_back(deal->second);
            }
        }
        response.set_content(out.dump(), "application/json");
    });
    server_.Start();
}

void FakeDealsApi::DuringCall(std::function<void()> hook) {
    std::lock_guard lock(mutex_);
    during_call_ = std::move(hook);
}

void FakeDealsApi::Put(const std::string& id, const std::string& stage,
                       const std::string& updated_at) {
    std::lock_guard lock(mutex_);
    deals_[id] = {{"id", id},       {"title", "Сделка " + id},  {"pipeline", "main"},
                  {"stage", stage}, {"responsible", "ivanova"}, {"updated_at", updated_at}};
}

void FakeDealsApi::Refuse(const std::string& id, const std::string& why) {
    std::lock_guard lock(mutex_);
    refused_[id] = why;
}

void FakeDealsApi::Answer(int status, const std::string& retry_after) {
    std::lock_guard lock(mutex_);
    status_ = status;
    retry_after_ = retry_after;
}

std::vector<std::string> FakeDealsApi::CalledIds() const {
    std::vector<std::string> ids;
    for (const RecordedRequest& request : server_.Requests()) {
        ids.push_back(request.Param("ids"));
    }
    return ids;
}

Result<void> ThinDecoder::Validate(std::string_view body) const {
    const json parsed = json::parse(body, nullptr, false);
    if (!parsed.is_object()) {
        return MakeError(ErrorCode::kInvalidInput, "not a JSON object");
    }
    return Ok{};
}

Result<std::vector<domain::Event>> ThinDecoder::Decode(const crm::WebhookRequest& request) const {
    auto decoded = DecodeElements(request);
    if (!decoded) {
        return decoded.error();
    }
    if (!decoded->fetch.empty()) {
        return MakeError(ErrorCode::kInvalidInput, "{} deal(s) need the CRM's API",
                         decoded->fetch.size());
    }
    return std::move(decoded->events);
}

Result<crm::Decoded> ThinDecoder::DecodeElements(const crm::WebhookRequest& request) const {
    const json body = json::parse(request.body, nullptr, false);
    if (!body.is_object()) {
        return MakeError(ErrorCode::kInvalidInput, "not a JSON object");
    }
    crm::Decoded decoded;
    if (body.contains("events")) {
        auto events = events_.Decode({.tenant = request.tenant,
                                      .content_type = {},
                                      .body = json{{"events", body.at("events")}}.dump(),
                                      .received_at = request.received_at});
        if (!events) {
            return events.error();
        }
        decoded.events = std::move(events).value();
    }
    for (const json& id : body.value("deals", json::array())) {
        std::string reference = std::string(kDealReference) + id.get<std::string>();
        if (std::find(decoded.fetch.begin(), decoded.fetch.end(), reference) ==
            decoded.fetch.end()) {
            decoded.fetch.push_back(std::move(reference));
        }
    }
    return decoded;
}

std::string ThinDecoder::DedupeKey(std::string_view body) const { return std::string(body); }

ThinFetcher::ThinFetcher(std::string api_url, std::string tenant,
                         std::shared_ptr<outbox::RateLimiter> limiter, std::size_t max_batch)
    : api_url_(std::move(api_url)),
      tenant_(std::move(tenant)),
      limiter_(std::move(limiter)),
      max_batch_(max_batch) {}

std::vector<crm::Fetched> ThinFetcher::Fetch(const std::vector<std::string>& references) {
    std::vector<std::string> ids;
    for (const std::string& reference : references) {
        if (!reference.starts_with(kDealReference)) {
            return AllOf(references.size(), crm::Fetched::Outcome::kFailed,
                         "not a reference of this adapter: " + reference, std::nullopt);
        }
        ids.push_back(reference.substr(kDealReference.size()));
    }
    // The account's pace, whoever else calls it.
    for (;;) {
        const double now =
            std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
                .count();
        const std::optional<double> wait = limiter_->TryAcquire(now);
        if (!wait) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::duration<double>(*wait));
    }
    httplib::Client client(api_url_);
    client.set_connection_timeout(2, 0);
    client.set_read_timeout(5, 0);
    std::string joined;
    for (const std::string& id : ids) {
        joined += (joined.empty() ? "" : ",") + id;
    }
    const auto response =
        client.Get("/deals", httplib::Params{{"ids", joined}}, httplib::Headers{});
    if (!response) {
        return AllOf(references.size(), crm::Fetched::Outcome::kRetry,
                     "connection failed: " + httplib::to_string(response.error()), std::nullopt);
    }
    const int status = response->status;
    if (status == 429 || status == 408 || status >= 500) {
        return AllOf(references.size(), crm::Fetched::Outcome::kRetry,
                     fmt::format("HTTP {}", status),
                     RetryAfterSeconds(response->get_header_value("Retry-After")));
    }
    if (status != 200) {
        return AllOf(references.size(), crm::Fetched::Outcome::kFailed,
                     fmt::format("HTTP {}", status), std::nullopt);
    }
    const json body = json::parse(response->body, nullptr, false);
    if (!body.is_object()) {
        return AllOf(references.size(), crm::Fetched::Outcome::kRetry, "not JSON", std::nullopt);
    }
    std::map<std::string, json> cards;
    for (const json& card : body.at("deals")) {
        cards[card.at("id").get<std::string>()] = card;
    }
    std::vector<crm::Fetched> results;
    for (const std::string& id : ids) {
        if (const auto refused = body.at("refused").find(id); refused != body.at("refused").end()) {
            results.push_back({.outcome = crm::Fetched::Outcome::kFailed,
                               .events = {},
                               .reason = refused->get<std::string>(),
                               .retry_after = {}});
            continue;
        }
        const auto card = cards.find(id);
        if (card == cards.end()) {
            results.push_back({.outcome = crm::Fetched::Outcome::kGone,
                               .events = {},
                               .reason = {},
                               .retry_after = {}});
            continue;
        }
        const Timestamp at = *ParseIso8601(card->second.at("updated_at").get<std::string>());
        domain::Deal deal{.tenant = tenant_,
                          .id = id,
                          .title = card->second.at("title").get<std::string>(),
                          .pipeline = card->second.at("pipeline").get<std::string>(),
                          .stage = card->second.at("stage").get<std::string>(),
                          .responsible = card->second.at("responsible").get<std::string>(),
                          .fields = {},
                          .created_at = at,
                          .updated_at = at,
                          .deleted = false};
        results.push_back({.outcome = crm::Fetched::Outcome::kEvents,
                           .events = {{.id = fmt::format("thin:deal:{}:{}", id, ToEpoch(at)),
                                       .at = at,
                                       .body = domain::DealUpserted{.deal = std::move(deal)}}},
                           .reason = {},
                           .retry_after = {}});
    }
    return results;
}

config::CrmSchema ThinAdapter::Schema() const {
    return {.name = "thin",
            .is_default = false,
            .pipelines_from_api = false,
            .title = "Thin",
            .parse = nullptr};
}

namespace {

class ThinInstance final : public crm::AdapterInstance {
public:
    ThinInstance(std::string api_url, std::size_t max_batch)
        : api_url_(std::move(api_url)), max_batch_(max_batch) {}
    std::unique_ptr<crm::WebhookDecoder> MakeDecoder() override {
        return std::make_unique<ThinDecoder>();
    }
    std::unique_ptr<crm::Connector> MakeConnector(const config::TenantConfig&) override {
        return nullptr;
    }
    std::unique_ptr<crm::Fetcher> MakeFetcher(const config::TenantConfig& tenant) override {
        auto& limiter = limiters_[tenant.id];
        if (!limiter) {
            limiter = std::make_shared<outbox::RateLimiter>(1000.0, 1000.0);
        }
        return std::make_unique<ThinFetcher>(api_url_, tenant.id, limiter, max_batch_);
    }

private:
    std::string api_url_;
    std::size_t max_batch_;
    std::map<std::string, std::shared_ptr<outbox::RateLimiter>> limiters_;
};

}  // namespace

std::unique_ptr<crm::AdapterInstance> ThinAdapter::Bind(const config::AppConfig&,
                                                        const Clock&) const {
    return std::make_unique<ThinInstance>(api_url_, max_batch_);
}

}  // namespace fg::testing
