#pragma once

// A CRM adapter for tests whose webhooks carry only ids, as Bitrix24's do: its decoder returns
// a reference per deal id ("deal 101"), and its fetcher reads those deals from the CRM's API, a
// FakeDealsApi on loopback.

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/generic/decoder.hpp"
#include "src/crm/port.hpp"
#include "src/outbox/retry.hpp"
#include "tests/support/fake_http_server.hpp"

namespace fg::testing {

/// The CRM's API: GET /deals?ids=101,102 answers {"deals": [card...], "refused": {"103":
/// "why"}}; an id in neither is gone. `status` other than 200 answers every request with it
/// (and `retry_after` as Retry-After, when set). Thread-safe.
class FakeDealsApi {
public:
    FakeDealsApi();
    /// A deal card as the API shows it (updated_at in ISO 8601).
    void Put(const std::string& id, const std::string& stage, const std::string& updated_at);
    void Refuse(const std::string& id, const std::string& why);
    void Answer(int status, const std::string& retry_after = "");
    /// Runs `hook` on each call before it is answered (e.g. a webhook arriving meanwhile).
    void DuringCall(std::function<void()> hook);
    std::string Url() const { return server_.Url(); }
    std::size_t Calls() const { return server_.Count(); }
    /// The `ids` parameter of each call, in order.
    std::vector<std::string> CalledIds() const;
    bool WaitForCalls(std::size_t count) const { return server_.WaitForRequests(count); }

private:
    FakeHttpServer server_;
    mutable std::mutex mutex_;
    std::map<std::string, nlohmann::json> deals_;
    std::map<std::string, std::string> refused_;
    int status_ = 200;
    std::string retry_after_;
    std::function<void()> during_call_;
};

/// Bodies {"events": [generic events...], "deals": ["101", ...]}: the generic events are whole,
/// each deal id becomes the reference "deal <id>".
class ThinDecoder final : public crm::WebhookDecoder {
public:
    std::string_view Name() const override { return "thin"; }
    Result<void> Validate(std::string_view body) const override;
    Result<std::vector<domain::Event>> Decode(const crm::WebhookRequest& request) const override;
    Result<crm::Decoded> DecodeElements(const crm::WebhookRequest& request) const override;
    std::string DedupeKey(std::string_view body) const override;

private:
    adapters::generic::GenericDecoder events_;
};

/// Reads the deals of "deal <id>" references, MaxBatch of them per call, paced by `limiter`
/// (shared with whatever else calls the account). 429/408/5xx and transport failures: retry
/// (with Retry-After); any other answer but 200: failed; an id the API does not return: gone.
class ThinFetcher final : public crm::Fetcher {
public:
    ThinFetcher(std::string api_url, std::string tenant,
                std::shared_ptr<outbox::RateLimiter> limiter, std::size_t max_batch);
    std::vector<crm::Fetched> Fetch(const std::vector<std::string>& references) override;
    std::size_t MaxBatch() const override { return max_batch_; }

private:
    std::string api_url_;
    std::string tenant_;
    std::shared_ptr<outbox::RateLimiter> limiter_;
    std::size_t max_batch_;
};

/// The adapter ("thin"): bearer token, JSON bodies, pipelines from config; its instance makes
/// the decoder and, for each tenant, a fetcher of `api_url` (no connector).
class ThinAdapter final : public crm::Adapter {
public:
    explicit ThinAdapter(std::string api_url, std::size_t max_batch = 50)
        : api_url_(std::move(api_url)), max_batch_(max_batch) {}
    std::string_view Name() const override { return "thin"; }
    config::CrmSchema Schema() const override;
    crm::Credential WebhookCredential() const override { return crm::Credential::kBearer; }
    std::string_view MediaType() const override { return "application/json"; }
    std::unique_ptr<crm::AdapterInstance> Bind(const config::AppConfig& config,
                                               const Clock& clock) const override;

private:
    std::string api_url_;
    std::size_t max_batch_;
};

}  // namespace fg::testing
