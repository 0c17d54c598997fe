// The amoCRM adapter: form webhooks to a secret URL, API v4 behind its simulator (pull, echo) or
// a fake (the samples' catalog, the sink's scripted answers).
#include <fstream>
#include <sstream>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "adapters/amocrm/adapter.hpp"
#include "adapters/amocrm/sim/simulator.hpp"
#include "tests/contract/fixtures.hpp"
#include "tests/support/fake_http_server.hpp"

namespace fg::contract {
namespace {

namespace sim = adapters::amocrm::sim;
using nlohmann::json;

constexpr const char* kAmoToken = "amo-long-lived-token-5d0c2e";

// The verbatim samples of reference/amocrm.md §1.7, as the wire decoder's tests keep them
// (tests/unit/adapters/amocrm/wire/fixtures/make_fixtures.py says how each was made).
std::string AmoSample(const std::string& name) {
    const std::string path =
        fmt::format("{}/tests/unit/adapters/amocrm/wire/fixtures/{}", FG_SOURCE_DIR, name);
    std::ifstream in(path, std::ios::binary);
    REQUIRE_MESSAGE(in.good(), path);
    std::stringstream text;
    text << in.rdbuf();
    std::string body = text.str();
    while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) {
        body.pop_back();
    }
    return body;
}

json AmoStatus(std::int64_t id, const char* name, int sort, int type) {
    return {{"id", id}, {"name", name}, {"sort", sort}, {"type", type}};
}

json AmoPipeline(std::int64_t id, const char* name, bool is_main, json statuses) {
    for (json& status : statuses) {
        status["pipeline_id"] = id;
    }
    return {{"id", id},
            {"name", name},
            {"sort", 1},
            {"is_main", is_main},
            {"_embedded", {{"statuses", std::move(statuses)}}}};
}

json AmoList(const char* key, json items) { return {{"_embedded", {{key, std::move(items)}}}}; }

// The accounts the samples come from, as API v4 lists them: their pipelines (each with its own
// 142 and 143), lead fields and users.
class SampleAccount final : public Crm {
public:
    SampleAccount() {
        const json pipelines = AmoList(
            "pipelines", {AmoPipeline(2116, "Основная", true,
                                      {AmoStatus(10216990, "Неразобранное", 5, 1),
                                       AmoStatus(10216995, "Первичный контакт", 10, 0),
                                       AmoStatus(10216994, "Переговоры", 20, 0),
                                       AmoStatus(142, "Успешно реализовано", 10000, 0),
                                       AmoStatus(143, "Закрыто и не реализовано", 11000, 0)}),
                          AmoPipeline(9217056, "Семинары", false,
                                      {AmoStatus(20067736, "Ожидает оплаты", 10, 0),
                                       AmoStatus(142, "Оплачено — участник", 10000, 0),
                                       AmoStatus(143, "Отказ", 11000, 0)}),
                          AmoPipeline(4740529, "Записи", false,
                                      {AmoStatus(43315795, "Новая запись", 10, 0),
                                       AmoStatus(43315792, "Запись подтверждена", 20, 0),
                                       AmoStatus(142, "Визит состоялся", 10000, 0),
                                       AmoStatus(143, "Не пришёл", 11000, 0)}),
                          AmoPipeline(8572511, "Kommo", false,
                                      {AmoStatus(67548607, "Первичный контакт", 10, 0),
                                       AmoStatus(67548619, "Квалификация", 20, 0),
                                       AmoStatus(142, "Успешно", 10000, 0),
                                       AmoStatus(143, "Провал", 11000, 0)})});
        const json fields = AmoList(
            "custom_fields", {{{"id", 1119321}, {"name", "Some text field"}, {"type", "text"}},
                              {{"id", 72333}, {"name", "Дата проведения"}, {"type", "date"}}});
        const json users = AmoList("users", {{{"id", 938348}, {"name", "Анна"}}});
        server_.ServeAll([pipelines, fields, users](const httplib::Request& request,
                                                    httplib::Response& response) {
            const json* body = request.path == "/api/v4/leads/pipelines"       ? &pipelines
                               : request.path == "/api/v4/leads/custom_fields" ? &fields
                               : request.path == "/api/v4/users"               ? &users
                                                                               : nullptr;
            if (body == nullptr) {
                response.status = 404;
                return;
            }
            response.set_content(body->dump(), "application/hal+json");
        });
        server_.Start();
    }

    std::string Url() const override { return server_.Url(); }

private:
    testing::FakeHttpServer server_;
};

sim::SimOptions SimOptionsAt(const Clock& clock) {
    sim::SimOptions options;
    options.clock = &clock;
    options.token = kAmoToken;
    options.rps = 0;  // the adapter's own pace is what the contracts see
    options.threads = 4;
    return options;
}

// The simulator on a clock of its own, at the contracts' time.
class SimulatedAccount final : public EchoCrm {
public:
    SimulatedAccount() : clock_(ContractStart()), sim_(SimOptionsAt(clock_)) {
        const Result<void> started = sim_.Start();
        REQUIRE_MESSAGE(started, (started ? "" : started.error().message));
        main_ = sim_.Pipelines().front();
        open_ = main_.OpenStages();
        REQUIRE(open_.size() >= 3);
    }

    std::string Url() const override { return sim_.BaseUrl(); }

    std::int64_t NewLead(const std::string& name, std::int64_t status) {
        const Result<std::int64_t> created =
            sim_.CreateLead(sim::LeadDraft{.name = name,
                                           .price = 120000,
                                           .pipeline_id = main_.id,
                                           .status_id = status,
                                           .responsible_user_id = kManager,
                                           .fields = {}},
                            kManager);
        REQUIRE_MESSAGE(created, (created ? "" : created.error().message));
        return *created;
    }

    // Made an hour before the contracts' time, so that funnelguard's writes come after it in
    // CRM time, as they do.
    EchoDeal CreateDeal() override {
        clock_.Set(ContractStart() - std::chrono::hours{1});
        const std::int64_t lead = NewLead("ООО «Контракт»", open_[2]);
        clock_.Set(ContractStart());
        return EchoDeal{.id = std::to_string(lead),
                        .pipeline = std::to_string(main_.id),
                        .stage = main_.Find(open_[2])->name,
                        .earlier_stage = main_.Find(open_[0])->name,
                        .responsible = std::to_string(kManager)};
    }

    void WaitWebhooksSent() override { REQUIRE(sim_.WaitWebhooksIdle()); }

    std::vector<std::int64_t> OpenStages() const { return open_; }

private:
    static constexpr std::int64_t kManager = 8000002;

    ManualClock clock_;
    sim::Simulator sim_;
    sim::SimPipeline main_{};
    std::vector<std::int64_t> open_{};
};

class AmoFixture final : public Fixture {
public:
    const crm::Adapter& adapter() const override { return adapters::amocrm::Adapter(); }

    std::string TenantToml(const std::string& api_url) const override {
        if (api_url.empty()) {
            return fmt::format("  [tenant.amocrm]\n  subdomain = \"contract\"\n  token = \"{}\"\n",
                               kAmoToken);
        }
        return fmt::format("  [tenant.amocrm]\n  base_url = \"{}\"\n  token = \"{}\"\n  rps = 7\n",
                           api_url, kAmoToken);
    }

    std::vector<Sample> Samples() const override {
        return {
            {.name = "A status_lead",
             .body = AmoSample("status_lead.form"),
             .events = {"deal.upserted 31926520 2116/Первичный контакт @2016-03-01T08:26:19Z",
                        "deal.upserted 31926520 2116/Переговоры @2016-03-01T08:26:20Z"},
             // The SHA-256 of the body's bytes, as inboxes of earlier builds keyed it.
             .dedupe_key = "669be8c2e797ca7e4d0074007598fedd9c41f101830a4c950ac509eba0d4d142"},
            {.name = "B responsible_lead",
             .body = AmoSample("responsible_lead.form"),
             .events = {"deal.upserted 31926520 2116/Переговоры @2016-03-01T08:55:27Z"}},
            {.name = "C status_lead to won",
             .body = AmoSample("status_lead_won.form"),
             .events = {"deal.upserted 10701093 9217056/Ожидает оплаты @2018-10-17T13:24:23Z",
                        "deal.upserted 10701093 9217056/Оплачено — участник "
                        "@2018-10-17T13:24:24Z"}},
            {.name = "D update_lead",
             .body = AmoSample("update_lead.form"),
             .events = {"deal.upserted 5685933 4740529/Запись подтверждена "
                        "@2021-10-25T05:16:56Z"}},
            {.name = "F add task",
             .body = AmoSample("kommo_add_task.form"),
             .events = {"task.upserted 1564671 deal 15320411 open @2024-09-17T13:07:29Z"}},
            {.name = "F complete task",
             .body = AmoSample("kommo_complete_task.form"),
             .events = {"task.upserted 1564845 deal 15320411 done @2024-09-17T13:21:09Z"}},
            {.name = "F lead note",
             .body = AmoSample("kommo_note_lead.form"),
             .events = {"note.added 4600471 deal 15320411 @2024-09-17T13:38:11Z"}},
            {.name = "F delete lead",
             .body = AmoSample("kommo_delete_lead.form"),
             .events = {"deal.deleted 12345678 @2026-11-02T09:00:00Z"}},
        };
    }

    std::unique_ptr<Crm> StartSampleApi() const override {
        return std::make_unique<SampleAccount>();
    }

    PullCrm StartPullCrm() const override {
        auto account = std::make_unique<SimulatedAccount>();
        // API v4 lists at most 250 per page (reference/amocrm.md §0.7): two pages of leads.
        constexpr std::size_t kPage = 250;
        PullCrm crm{.crm = nullptr, .deals = {}, .page_size = kPage};
        const std::int64_t stage = account->OpenStages().front();
        for (std::size_t i = 0; i < kPage + 7; ++i) {
            crm.deals.push_back(
                std::to_string(account->NewLead(fmt::format("Сделка {}", i), stage)));
        }
        crm.crm = std::move(account);
        return crm;
    }

    std::unique_ptr<EchoCrm> StartEchoCrm() const override {
        return std::make_unique<SimulatedAccount>();
    }

    // amoCRM validates the lead id of a write: a real one of sample A.
    std::string SinkDeal() const override { return "31926520"; }
    std::string AcceptedBody() const override {
        return R"({"_embedded":{"notes":[{"id":77001,"entity_id":31926520,"request_id":"0"}]}})";
    }

    std::vector<std::string> Secrets() const override { return {kAmoToken}; }
};

}  // namespace

std::unique_ptr<Fixture> MakeAmoCrmFixture() { return std::make_unique<AmoFixture>(); }

}  // namespace fg::contract
