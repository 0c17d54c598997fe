#include "tests/contract/harness.hpp"

#include <variant>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "src/app/adapters.hpp"
#include "src/engine/engine.hpp"
#include "src/http/server.hpp"
#include "src/storage/database.hpp"
#include "src/storage/inbox.hpp"

namespace fg::contract {
namespace {

std::string At(Timestamp at) { return "@" + FormatIso8601(at); }

struct EventLine {
    Timestamp at;
    std::string operator()(const domain::DealUpserted& upsert) const {
        return fmt::format("deal.upserted {} {}/{} {}", upsert.deal.id, upsert.deal.pipeline,
                           upsert.deal.stage, At(at));
    }
    std::string operator()(const domain::DealDeleted& deleted) const {
        return fmt::format("deal.deleted {} {}", deleted.deal_id, At(at));
    }
    std::string operator()(const domain::TaskUpserted& upsert) const {
        return fmt::format("task.upserted {} deal {} {} {}", upsert.task.id, upsert.task.deal_id,
                           upsert.task.done ? "done" : "open", At(at));
    }
    std::string operator()(const domain::TaskDeleted& deleted) const {
        return fmt::format("task.deleted {} {}", deleted.task_id, At(at));
    }
    std::string operator()(const domain::NoteAdded& added) const {
        return fmt::format("note.added {} deal {} {}", added.note.id, added.note.deal_id, At(at));
    }
    std::string operator()(const domain::StageObserved& observed) const {
        return fmt::format("stage.observed {} {}/{} {}", observed.deal_id, observed.pipeline,
                           observed.stage, At(at));
    }
};

std::string TenantTable(const Fixture& fixture, const char* id, const char* secret,
                        const std::string& api_url) {
    return fmt::format(
        "[[tenant]]\nid = \"{}\"\ncrm = \"{}\"\nsecret = \"{}\"\nmode = \"observe\"\n{}\n", id,
        fixture.adapter().Name(), secret, fixture.TenantToml(api_url));
}

// The program's adapters' schemas, and a test adapter's own when the fixture is one.
config::CrmSchemas SchemasFor(const Fixture& fixture) {
    config::CrmSchemas schemas = app::CrmSchemas();
    if (crm::FindAdapter(app::CrmAdapters(), fixture.adapter().Name()) == nullptr) {
        schemas.push_back(fixture.adapter().Schema());
    }
    return schemas;
}

}  // namespace

Timestamp ContractStart() { return *ParseIso8601("2026-11-02T09:00:00Z"); }

std::string Describe(const domain::Event& event) {
    return std::visit(EventLine{event.at}, event.body);
}

std::string Fixture::WithBodyToken(const std::string& body, const std::string& token) const {
    FAIL("the fixture of ", adapter().Name(),
         " (a body-token adapter) must say where its token goes (Fixture::WithBodyToken)");
    (void)token;
    return body;
}

Bound::Bound(const Fixture& fixture, const std::string& api_url)
    : db_path_(dir_.File("contract.db")), clock_(ContractStart()) {
    const std::string text =
        fmt::format("[storage]\npath = \"{}\"\n[server]\nthreads = 4\n", db_path_) +
        TenantTable(fixture, kTenant, kTenantSecret, api_url) +
        TenantTable(fixture, kOtherTenant, kOtherTenantSecret, api_url);
    config::LoadResult loaded =
        config::LoadConfigFromString(text, "contract.toml", SchemasFor(fixture), dir_.path());
    for (const config::ConfigProblem& problem : loaded.problems) {
        FAIL_CHECK(config::FormatProblem(problem));
    }
    REQUIRE(loaded.ok());
    config_ = std::move(loaded.config);
    instance_ = fixture.adapter().Bind(config_, clock_);
    REQUIRE(instance_ != nullptr);
}

Bound::~Bound() = default;

const config::TenantConfig& Bound::tenant() const {
    const config::TenantConfig* tenant = config_.FindTenant(kTenant);
    REQUIRE(tenant != nullptr);
    return *tenant;
}

crm::Connector* Bound::connector() {
    if (!connector_made_) {
        connector_ = instance_->MakeConnector(tenant());
        connector_made_ = true;
    }
    return connector_.get();
}

outbox::ActionSink* Bound::sink() {
    if (crm::Connector* made = connector()) {
        return &made->Sink();
    }
    if (!sink_made_) {
        sink_ = instance_->MakeSink(tenant());
        sink_made_ = true;
    }
    return sink_.sink.get();
}

outbox::Action MakeAction(const ActionSpec& spec) {
    static constexpr outbox::ActionKind kKinds[] = {
        outbox::ActionKind::kNote, outbox::ActionKind::kTask, outbox::ActionKind::kRevert};
    const outbox::ActionKind kind = kKinds[static_cast<int>(spec.kind)];
    outbox::ActionBody body{.kind = kind,
                            .tenant = spec.tenant,
                            .deal = spec.deal,
                            .deal_title = "Contract deal " + spec.deal,
                            .responsible = spec.responsible,
                            .idempotency_key = fmt::format("{}:v{}:{}", spec.tenant, spec.violation,
                                                           domain::ActionKindName(kind)),
                            .violation = {.id = spec.violation,
                                          .rule = "stage_order",
                                          .opened_at = ContractStart(),
                                          .details = nlohmann::json::object(),
                                          .message = spec.text},
                            .text = spec.text};
    if (spec.kind == Write::kTask) {
        body.detail = outbox::TaskBody{.responsible = spec.responsible, .due = spec.due};
    }
    if (spec.kind == Write::kRevert) {
        body.detail =
            outbox::RevertBody{.pipeline = spec.pipeline, .from = spec.from, .to = spec.to};
    }
    return outbox::Action{.channel = std::string(domain::kCrmChannel),
                          .body = std::move(body),
                          .attempt = spec.attempt,
                          .previous_not_sent = false};
}

HookRequest MakeHookRequest(const Fixture& fixture, const std::string& tenant,
                            const std::string& body, const std::string& secret) {
    const crm::Adapter& adapter = fixture.adapter();
    HookRequest request{
        .path = fmt::format("/hooks/{}/{}", adapter.Name(), tenant), .headers = {}, .body = body};
    switch (adapter.WebhookCredential()) {
        case crm::Credential::kPathSegment:
            if (!secret.empty()) {
                request.path += "/" + secret;
            }
            break;
        case crm::Credential::kBearer:
            if (!secret.empty()) {
                request.headers.emplace("Authorization", "Bearer " + secret);
            }
            break;
        case crm::Credential::kBodyToken:
            if (!secret.empty()) {
                request.body = fixture.WithBodyToken(body, secret);
            }
            break;
    }
    return request;
}

struct Intake::State {
    State(const Fixture& fixture_in) : fixture(fixture_in), bound(fixture_in, "") {}

    const Fixture& fixture;
    Bound bound;
    std::unique_ptr<engine::Engine> engine;
    std::unique_ptr<http::Server> server;
    std::unique_ptr<httplib::Client> client;
};

Intake::Intake(const Fixture& fixture) : state_(std::make_unique<State>(fixture)) {
    engine::EngineOptions options;
    options.config = &state_->bound.config();
    options.clock = &state_->bound.clock();
    options.decoders.emplace(std::string(fixture.adapter().Name()),
                             state_->bound.instance().MakeDecoder());
    // Stored, never processed: the inbox shows exactly what the HTTP layer let in.
    options.timers = false;
    options.deliver = false;
    options.background = false;
    state_->engine = std::make_unique<engine::Engine>(std::move(options));
    const Result<void> started = state_->engine->Start();
    REQUIRE_MESSAGE(started, (started ? "" : started.error().message));
    state_->server =
        std::make_unique<http::Server>(*state_->engine, crm::AdapterList{&fixture.adapter()});
    const Result<int> port = state_->server->Bind("127.0.0.1:0");
    REQUIRE(port);
    state_->server->Start();
    state_->client = std::make_unique<httplib::Client>("127.0.0.1", *port);
    state_->client->set_read_timeout(10, 0);
}

Intake::~Intake() {
    state_->server->Stop();
    state_->engine->Stop();
}

httplib::Result Intake::Post(const HookRequest& request) {
    return state_->client->Post(request.path, request.headers, request.body,
                                std::string(state_->fixture.adapter().MediaType()));
}

std::int64_t Intake::Stored() {
    auto reader = state_->engine->OpenReader();
    REQUIRE(reader);
    return storage::GetInboxStats(**reader).pending;
}

std::vector<std::string> Intake::StoredBodies() {
    auto reader = state_->engine->OpenReader();
    REQUIRE(reader);
    std::vector<std::string> bodies;
    for (const storage::InboxItem& item : storage::PendingInbox(**reader, 1000)) {
        bodies.push_back(storage::InboxBody(**reader, item.seq));
    }
    return bodies;
}

}  // namespace fg::contract
