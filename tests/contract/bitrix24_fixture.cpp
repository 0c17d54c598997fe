// The Bitrix24 adapter: thin form-encoded events with the application token in the body, the
// REST API behind a loopback portal serving reference/bitrix24.md's samples (the samples' deals,
// to-dos, tasks and comments; the pull's deals; the sink's scripted answers).
#include <mutex>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <httplib.h>

#include "adapters/bitrix24/adapter.hpp"
#include "adapters/bitrix24/wire/form.hpp"
#include "tests/contract/fixtures.hpp"
#include "tests/support/process.hpp"
#include "tests/unit/adapters/bitrix24/sample_portal.hpp"

namespace fg::contract {
namespace {

namespace b24 = adapters::bitrix24::testing;
using nlohmann::json;

constexpr const char* kClientSecret = "b24-client-secret-9c1e7a";
constexpr const char* kAccessToken = "b24-access-token-51d0e2";
constexpr const char* kRefreshToken = "b24-refresh-token-a7f3b4";

// A portal on the loopback with the samples' entities.
class SamplePortal final : public Crm {
public:
    SamplePortal() { b24::ServeSamplePortal(portal_, data_); }
    std::string Url() const override { return portal_.Url(); }
    b24::SampleData& data() { return data_; }

private:
    b24::SampleData data_;
    b24::FakePortal portal_;
};

std::unique_ptr<SamplePortal> StartSamples() {
    auto portal = std::make_unique<SamplePortal>();
    b24::SampleData& data = portal->data();
    data.deals[7405] = b24::SampleDeal("7405", "NEW", "0", "2025-12-18T11:38:44+03:00");
    data.deals[759] = b24::SampleDeal("759", "C1:PAID", "1", "2025-01-09T09:56:40+03:00");
    data.activities[999] = {{"ID", "999"},
                            {"OWNER_ID", "759"},
                            {"OWNER_TYPE_ID", "2"},
                            {"PROVIDER_ID", "CRM_TODO"},
                            {"SUBJECT", "Call back"},
                            {"DEADLINE", "2025-01-10T13:25:00+03:00"},
                            {"COMPLETED", "N"},
                            {"RESPONSIBLE_ID", "1"},
                            {"CREATED", "2025-01-09T09:50:00+03:00"},
                            {"LAST_UPDATED", "2025-01-09T09:50:00+03:00"}};
    data.tasks[123] = {{"id", "123"},
                       {"title", "Send the contract"},
                       {"deadline", "2025-01-11T18:00:00+03:00"},
                       {"status", "2"},
                       {"responsibleId", "5"},
                       {"ufCrmTask", {"D_759"}},
                       {"createdDate", "2025-01-09T10:00:00+03:00"},
                       {"changedDate", "2025-01-09T10:00:00+03:00"}};
    data.comments[12] = {{"ID", "12"},
                         {"ENTITY_ID", "759"},
                         {"ENTITY_TYPE", "deal"},
                         {"CREATED", "2025-01-09T09:55:00+03:00"},
                         {"COMMENT", "Client asked for a discount"}};
    data.comments[998] = {{"ID", "998"},
                          {"ENTITY_ID", "7405"},
                          {"ENTITY_TYPE", "deal"},
                          {"CREATED", "2025-12-18T11:40:00+03:00"},
                          {"COMMENT", "First call done"}};
    return portal;
}

// A portal that binds handlers for an OAuth app (event.get, event.bind) and posts its events to
// them for every change, funnelguard's writes too, as the portal's queue does (here at once).
class EchoPortal final : public EchoCrm {
public:
    EchoPortal() : clock_(ContractStart()) {
        b24::ServeSamplePortal(portal_, data_);
        data_.now = [this] { return FormatIso8601(clock_.Now()); };
        data_.changed = [this](const std::string& event, const std::string& id) {
            Post(event, id);
        };
        portal_.On("event.get", [this](const json&) {
            const std::lock_guard lock(mutex_);
            json bound = json::array();
            for (const auto& [event, handler] : handlers_) {
                bound.push_back({{"event", event}, {"handler", handler}, {"auth_type", "0"}});
            }
            return b24::Ok(bound);
        });
        portal_.On("event.bind", [this](const json& params) {
            const std::lock_guard lock(mutex_);
            handlers_.emplace_back(params.value("event", ""), params.value("handler", ""));
            return b24::Ok(true);
        });
    }

    std::string Url() const override { return portal_.Url(); }

    // Made by a manager an hour before the contracts' time, at the third open stage.
    EchoDeal CreateDeal() override {
        const std::string at = FormatIso8601(ContractStart() - std::chrono::hours{1});
        {
            const std::lock_guard lock(data_.mutex);
            json deal = b24::SampleDeal("4242", "EXECUTING", "0", at);
            deal["DATE_CREATE"] = at;
            data_.deals[4242] = std::move(deal);
        }
        Post("ONCRMDEALADD", "4242");
        return EchoDeal{.id = "4242",
                        .pipeline = "0",
                        .stage = "In progress",
                        .earlier_stage = "New",
                        .responsible = "1"};
    }

    // Events go out before the change's call is answered.
    void WaitWebhooksSent() override {}

private:
    void Post(const std::string& event, const std::string& id) {
        std::vector<std::string> targets;
        {
            const std::lock_guard lock(mutex_);
            for (const auto& [bound, handler] : handlers_) {
                if (bound == event) {
                    targets.push_back(handler);
                }
            }
        }
        const std::string body = fmt::format(
            "event={}&event_handler_id=7&data%5BFIELDS%5D%5BID%5D={}&ts={}&auth%5Bdomain%5D="
            "contract.bitrix24.ru&auth%5Bmember_id%5D=m1&auth%5Bapplication_token%5D={}",
            event, id, ToEpoch(clock_.Now()), kTenantSecret);
        for (const std::string& target : targets) {
            const std::size_t path = target.find('/', target.find("://") + 3);
            httplib::Client client(target.substr(0, path));
            client.set_read_timeout(20, 0);
            (void)client.Post(target.substr(path), body, "application/x-www-form-urlencoded");
        }
    }

    ManualClock clock_;
    b24::SampleData data_;
    b24::FakePortal portal_;
    std::mutex mutex_;
    std::vector<std::pair<std::string, std::string>> handlers_;
};

class Bitrix24Fixture final : public Fixture {
public:
    Bitrix24Fixture()
        : token_file_(dir_.Write("b24-contract.json",
                                 fmt::format(R"({{"access_token":"{}","refresh_token":"{}"}})",
                                             kAccessToken, kRefreshToken))) {}

    const crm::Adapter& adapter() const override { return adapters::bitrix24::Adapter(); }

    // A local OAuth app, the one kind of access that can bind events (the echo contract).
    std::string TenantToml(const std::string& api_url) const override {
        // Without an API: the portal the verbatim samples come from (their auth[domain]).
        const std::string portal = api_url.empty() ? "https://some-domain.bitrix24.com" : api_url;
        return fmt::format(
            "  [tenant.bitrix24]\n  portal_url = \"{}\"\n  client_id = \"local.contract\"\n"
            "  client_secret = \"{}\"\n  token_file = \"{}\"\n  oauth_url = \"{}\"\n"
            "  rate = 50\n  burst = 250\n",
            portal, kClientSecret, token_file_, portal);
    }

    std::vector<Sample> Samples() const override {
        return {
            {.name = "I deal added (an outgoing webhook's, brackets percent-encoded)",
             .body = "event=ONCRMDEALADD&event_handler_id=975&data%5BFIELDS%5D%5BID%5D=7405&ts="
                     "1766047124&auth%5Bdomain%5D=some-domain.bitrix24.com&auth%5Bclient_"
                     "endpoint%5D=https%3A%2F%2Fsome-domain.bitrix24.com%2Frest%2F&auth%"
                     "5Bserver_endpoint%5D=https%3A%2F%2Foauth.bitrix.info%2Frest%2F&auth%"
                     "5Bmember_id%5D=d897063e1ce7c5eb9f04b9751eef5915&auth%5Bapplication_token%"
                     "5D=jvh9y1ulvt2m6k5or90v9mg8nn32ozas",
             .events = {"deal.upserted 7405 0/New @2025-12-18T08:38:44Z",
                        "note.added comment:998 deal 7405 @2025-12-18T08:40:00Z"}},
            {.name = "B deal updated (an app's, with OAuth tokens)",
             .body = "event=ONCRMDEALUPDATE&event_handler_id=201&data[FIELDS][ID]=759&ts="
                     "1736405807&auth[access_token]=s6p6eclrvim6da22ft9ch94ekreb52lv&auth["
                     "expires_in]=3600&auth[scope]=crm&auth[domain]=some-domain.bitrix24.com&"
                     "auth[status]=F&auth[member_id]=a223c6b3710f85df22e9377d6c4f7553&auth["
                     "refresh_token]=4s386p3q0tr8dy89xvmt96234v3dljg8&auth[application_token]="
                     "51856fefc120afa4b628cc82d3935cce",
             .events = {"deal.upserted 759 1/Paid @2025-01-09T06:56:40Z",
                        "task.upserted todo:999 deal 759 open @2025-01-09T06:50:00Z",
                        "task.upserted task:123 deal 759 open @2025-01-09T07:00:00Z",
                        "note.added comment:12 deal 759 @2025-01-09T06:55:00Z"}},
            {.name = "E activity added (camel case)",
             .body = "event=onCrmActivityAdd&data[FIELDS][ID]=999&ts=1466439714",
             .events = {"task.upserted todo:999 deal 759 open @2025-01-09T06:50:00Z"}},
            {.name = "D task added (FIELDS_BEFORE undefined)",
             .body = "event=ONTASKADD&data[FIELDS_BEFORE]=undefined&data[FIELDS_AFTER][ID]=123&"
                     "data[IS_ACCESSIBLE_BEFORE]=N&data[IS_ACCESSIBLE_AFTER]=undefined&ts="
                     "1466439714",
             .events = {"task.upserted task:123 deal 759 open @2025-01-09T07:00:00Z"}},
            {.name = "G timeline comment (the server's data[FIELDS][ID])",
             .body = "event=ONCRMTIMELINECOMMENTADD&data[FIELDS][ID]=12&ts=1466439714",
             .events = {"note.added comment:12 deal 759 @2025-01-09T06:55:00Z"}},
            {.name = "G timeline comment (the docs' data[ID])",
             .body = "event=onCrmTimelineCommentAdd&data[ID]=998&ts=1466439715",
             .events = {"note.added comment:998 deal 7405 @2025-12-18T08:40:00Z"}},
            {.name = "deal deleted",
             .body = "event=ONCRMDEALDELETE&data[FIELDS][ID]=662&ts=1736405807",
             .events = {"deal.deleted 662 @2025-01-09T06:56:47Z"}},
            {.name = "D task deleted",
             .body = "event=ONTASKDELETE&data[FIELDS_BEFORE][ID]=123&data[FIELDS_AFTER]="
                     "undefined&data[IS_ACCESSIBLE_BEFORE]=undefined&data[IS_ACCESSIBLE_AFTER]=N&"
                     "ts=1466439714",
             .events = {"task.deleted task:123 @2016-06-20T16:21:54Z"}},
        };
    }

    std::unique_ptr<Crm> StartSampleApi() const override { return StartSamples(); }

    std::string WithBodyToken(const std::string& body, const std::string& token) const override {
        // The sample's own application token gives way; its OAuth tokens stay, for Scrub.
        const std::string without =
            adapters::bitrix24::form::WithoutPairs(body, [](const std::vector<std::string>& path) {
                return path.size() == 2 && path[0] == "auth" && path[1] == "application_token";
            });
        return without + "&auth%5Bapplication_token%5D=" + token;
    }

    PullCrm StartPullCrm() const override {
        auto portal = std::make_unique<SamplePortal>();
        // A pull's page is one batch of 50 chained crm.deal.list pages of 50 rows: 2,500 deals;
        // two pages of deals.
        constexpr std::size_t kPage = 2500;
        PullCrm crm{.crm = nullptr, .deals = {}, .page_size = kPage};
        for (std::size_t i = 0; i < kPage + 7; ++i) {
            const std::string id = std::to_string(1000 + i * 3);
            portal->data().deals[static_cast<std::int64_t>(1000 + i * 3)] =
                b24::SampleDeal(id, i % 2 == 0 ? "NEW" : "C1:PAID", i % 2 == 0 ? "0" : "1");
            crm.deals.push_back(id);
        }
        crm.crm = std::move(portal);
        return crm;
    }

    std::unique_ptr<EchoCrm> StartEchoCrm() const override {
        return std::make_unique<EchoPortal>();
    }

    std::string AcceptedBody() const override { return R"({"result":999,"time":{}})"; }

    std::vector<std::string> Secrets() const override {
        return {kClientSecret, kAccessToken, kRefreshToken};
    }
    // Sample B's OAuth tokens, and the application token itself (the tenant's secret).
    std::vector<std::string> BodySecrets() const override {
        return {"s6p6eclrvim6da22ft9ch94ekreb52lv", "4s386p3q0tr8dy89xvmt96234v3dljg8",
                kTenantSecret};
    }

private:
    testing::TempDir dir_;
    std::string token_file_;
};

}  // namespace

std::unique_ptr<Fixture> MakeBitrix24Fixture() { return std::make_unique<Bitrix24Fixture>(); }

}  // namespace fg::contract
