// The fetch stage through the engine: webhooks that carry only ids (the test adapter of
// tests/support/thin_adapter.hpp) wait, are fetched from a fake CRM API in batches, and reach the
// mirror and the rules; failures are retried with backoff, and restarts lose nothing.
#include <condition_variable>
#include <mutex>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "adapters/generic/decoder.hpp"
#include "src/app/adapters.hpp"
#include "src/engine/engine.hpp"
#include "tests/support/process.hpp"
#include "tests/support/thin_adapter.hpp"

// Named, not anonymous: the test files are compiled together (FG_UNITY).
namespace fetch_test_file {

using fg::storage::InboxState;
using nlohmann::json;
using namespace std::chrono_literals;

const fg::Timestamp kFetchMonday = *fg::ParseIso8601("2026-11-02T09:00:00+03:00");

std::string ThinConfig(const std::string& db) {
    return fmt::format(R"(
[storage]
path = "{}"
[[tenant]]
id = "acme"
crm = "thin"
secret = "s"
mode = "observe"
  [[tenant.pipeline]]
  id = "main"
  stages = ["Новая", "Квалификация", "КП отправлено", "Успешно"]
  won = ["Успешно"]
  lost = ["Отказ"]
  [tenant.rules.deal_without_task]
  enabled = false
  [tenant.rules.overdue_task]
  enabled = false
)",
                       db);
}

// A thin webhook: the ids of the deals it is about, and whole generic events beside them.
std::string ThinBody(const std::vector<std::string>& deals, const json& events = json::array()) {
    return json{{"deals", deals}, {"events", events}}.dump();
}

struct ThinOptions {
    bool fetcher = true;      // the tenant's adapter fetches
    bool background = false;  // true: the writer processes the inbox as webhooks come
    bool timers = false;      // the fetch worker's thread (and the timers)
    std::size_t max_batch = 50;
};

// An engine whose one tenant is on the thin adapter against `api`; it can be restarted on the
// same database.
struct ThinEngine {
    ThinEngine(fg::testing::FakeDealsApi& api_in, ThinOptions options_in)
        : api(api_in), options(options_in), adapter(api.Url(), options.max_batch) {
        fg::config::CrmSchemas schemas = fg::app::CrmSchemas();
        schemas.push_back(adapter.Schema());
        loaded = fg::config::LoadConfigFromString(ThinConfig(dir.File("fg.db")), "test.toml",
                                                  schemas, dir.path());
        for (const auto& problem : loaded.problems) {
            FAIL(fg::config::FormatProblem(problem));
        }
        Start();
    }
    ~ThinEngine() { Stop(); }

    void Start() {
        instance = adapter.Bind(loaded.config, clock);
        fg::engine::EngineOptions engine_options;
        engine_options.config = &loaded.config;
        engine_options.clock = &clock;
        engine_options.decoders.emplace("thin", instance->MakeDecoder());
        if (options.fetcher) {
            engine_options.make_fetcher = [this](const fg::config::TenantConfig& tenant) {
                return instance->MakeFetcher(tenant);
            };
        }
        engine_options.timers = options.timers;
        engine_options.deliver = false;
        engine_options.background = options.background;
        engine_options.observer.on_violation = [this](const std::string&,
                                                      const fg::engine::ViolationChange& change) {
            std::lock_guard lock(mutex);
            if (change.opened) {
                opened.push_back(change.violation);
            }
            changed.notify_all();
        };
        engine = std::make_unique<fg::engine::Engine>(std::move(engine_options));
        const fg::Result<void> started = engine->Start();
        REQUIRE_MESSAGE(started, (started ? "" : started.error().message));
    }
    void Stop() {
        if (engine) {
            engine->Stop();
            engine.reset();
        }
    }

    void Post(const std::string& body) {
        const fg::Result<bool> stored = engine->Intake("acme", "thin", body, clock.Now()).get();
        REQUIRE(stored);
        CHECK(*stored);
    }
    int Drain() {
        const fg::Result<int> drained = engine->Drain();
        REQUIRE(drained);
        return *drained;
    }
    int Fetch() {
        const fg::Result<int> fetched = engine->Fetch();
        REQUIRE(fetched);
        return *fetched;
    }
    std::vector<fg::storage::InboxEntry> Items(InboxState state) {
        auto db = engine->OpenReader();
        REQUIRE(db);
        return fg::storage::ListInbox(**db, {.tenant = "acme", .state = state, .limit = 100});
    }
    std::optional<fg::domain::DealSnapshot> Deal(const std::string& id) {
        auto db = engine->OpenReader();
        REQUIRE(db);
        return fg::storage::LoadSnapshot(**db, "acme", id);
    }
    std::map<InboxState, std::int64_t> Counts() {
        auto db = engine->OpenReader();
        REQUIRE(db);
        return fg::storage::InboxStateCounts(**db, "acme");
    }
    std::vector<fg::storage::Violation> Opened() {
        std::lock_guard lock(mutex);
        return opened;
    }

    fg::testing::FakeDealsApi& api;
    ThinOptions options;
    fg::testing::ThinAdapter adapter;
    fg::testing::TempDir dir;
    fg::ManualClock clock{kFetchMonday};
    fg::config::LoadResult loaded{};
    std::unique_ptr<fg::crm::AdapterInstance> instance;
    std::unique_ptr<fg::engine::Engine> engine;
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<fg::storage::Violation> opened;
};

TEST_CASE("Fetch stage: a thin webhook is fetched from the CRM's API, then mirrored and judged") {
    fg::testing::FakeDealsApi api;
    // Created straight in the third stage: a skip from nothing (stage_order).
    api.Put("101", "КП отправлено", "2026-11-02T08:55:00+03:00");
    ThinEngine thin(api, {});

    thin.Post(ThinBody({"101"}));
    CHECK(thin.Drain() == 0);
    CHECK(api.Calls() == 0);  // neither the intake nor the writer calls the CRM
    auto waiting = thin.Items(InboxState::kWaiting);
    REQUIRE(waiting.size() == 1);
    CHECK(waiting[0].reason == "fetch");
    CHECK(waiting[0].error == "1 element(s) to fetch from the CRM's API");
    CHECK(waiting[0].next_attempt_at == std::optional<fg::Timestamp>(thin.clock.Now()));
    CHECK_FALSE(thin.Deal("101").has_value());

    CHECK(thin.Fetch() == 1);
    CHECK(api.CalledIds() == std::vector<std::string>{"101"});
    const auto fetched = thin.Items(InboxState::kFetched);
    REQUIRE(fetched.size() == 1);
    CHECK(fetched[0].fetched_at == std::optional<fg::Timestamp>(thin.clock.Now()));
    CHECK(fetched[0].attempts == 1);
    CHECK(thin.Items(InboxState::kWaiting).empty());

    CHECK(thin.Drain() == 1);
    const auto deal = thin.Deal("101");
    REQUIRE(deal.has_value());
    CHECK(deal->deal.stage == "КП отправлено");
    CHECK(deal->deal.title == "Сделка 101");
    CHECK(deal->deal.updated_at == *fg::ParseIso8601("2026-11-02T08:55:00+03:00"));
    const auto opened = thin.Opened();
    REQUIRE(opened.size() == 1);
    CHECK(opened[0].rule == "stage_order");
    CHECK(opened[0].deal_id == "101");
    const auto applied = thin.Items(InboxState::kApplied);
    REQUIRE(applied.size() == 1);
    CHECK(applied[0].reason == "fetch");  // it went through the fetch stage
    CHECK(thin.Counts().at(InboxState::kApplied) == 1);
    CHECK(thin.Fetch() == 0);  // nothing waits
    CHECK(api.Calls() == 1);
    const std::string metrics = thin.engine->metrics().Render();
    CHECK(metrics.find("funnelguard_fetches_total{crm=\"thin\",what=\"reference\",outcome="
                       "\"fetched\"} 1") != std::string::npos);
    CHECK(metrics.find("funnelguard_inbox_processed_total{crm=\"thin\",state=\"waiting\"} 1") !=
          std::string::npos);
}

TEST_CASE("Fetch stage: a tenant's pending references go together; a gone one is dropped") {
    fg::testing::FakeDealsApi api;
    api.Put("101", "Новая", "2026-11-02T08:00:00+03:00");
    api.Put("102", "Квалификация", "2026-11-02T08:10:00+03:00");
    ThinOptions options;
    SUBCASE("one call") {}
    SUBCASE("batches of two") { options.max_batch = 2; }
    ThinEngine thin(api, options);
    const json whole = {{"id", "e9"},
                        {"type", "deal.upserted"},
                        {"at", "2026-11-02T08:30:00+03:00"},
                        {"deal",
                         {{"id", "109"},
                          {"title", "Целая"},
                          {"pipeline", "main"},
                          {"stage", "Новая"},
                          {"responsible", "ivanova"}}}};
    thin.Post(ThinBody({"101", "102"}));
    thin.Post(ThinBody({"101"}));                        // the same deal again: fetched once
    thin.Post(ThinBody({"404"}));                        // deleted in the CRM since
    thin.Post(ThinBody({"102"}, json::array({whole})));  // a whole event beside a thin one
    CHECK(thin.Drain() == 0);
    CHECK(thin.Items(InboxState::kWaiting).size() == 4);

    CHECK(thin.Fetch() == 4);
    if (options.max_batch == 2) {
        CHECK(api.CalledIds() == std::vector<std::string>{"101,102", "404"});
    } else {
        CHECK(api.CalledIds() == std::vector<std::string>{"101,102,404"});
    }
    CHECK(thin.Drain() == 3);  // 101, 102, 109; the repeats are duplicates
    CHECK(thin.Deal("101")->deal.stage == "Новая");
    CHECK(thin.Deal("102")->deal.stage == "Квалификация");
    CHECK(thin.Deal("109")->deal.title == "Целая");
    CHECK_FALSE(thin.Deal("404").has_value());
    const auto ignored = thin.Items(InboxState::kIgnored);
    REQUIRE(ignored.size() == 1);
    CHECK(ignored[0].reason == "gone");
    CHECK(thin.Items(InboxState::kApplied).size() == 3);
    const auto counts = thin.Counts();
    CHECK(counts.at(InboxState::kApplied) == 3);
    CHECK(counts.at(InboxState::kIgnored) == 1);
    CHECK(counts.at(InboxState::kWaiting) == 0);
}

TEST_CASE("Fetch stage: a failed fetch is retried with backoff; one that keeps failing fails") {
    fg::testing::FakeDealsApi api;
    api.Put("101", "Новая", "2026-11-02T08:00:00+03:00");
    api.Answer(503);
    ThinEngine thin(api, {});
    thin.Post(ThinBody({"101"}));
    thin.Drain();
    CHECK(thin.Fetch() == 1);
    auto waiting = thin.Items(InboxState::kWaiting);
    REQUIRE(waiting.size() == 1);
    CHECK(waiting[0].attempts == 1);
    CHECK(waiting[0].fetch_error == "HTTP 503");
    CHECK(waiting[0].next_attempt_at ==
          std::optional<fg::Timestamp>(thin.clock.Now() + fg::engine::FetchWorker::kRetryFirst));
    CHECK(thin.Fetch() == 0);  // not due yet: the API is not asked again
    CHECK(api.Calls() == 1);

    SUBCASE("the API recovers: the next try applies it") {
        api.Answer(200);
        thin.clock.Advance(fg::engine::FetchWorker::kRetryFirst);
        CHECK(thin.Fetch() == 1);
        CHECK(thin.Drain() == 1);
        CHECK(thin.Deal("101").has_value());
        CHECK(thin.Items(InboxState::kApplied).at(0).attempts == 2);
    }
    SUBCASE("the API asks for more time: Retry-After wins over the backoff") {
        api.Answer(429, "120");
        thin.clock.Advance(fg::engine::FetchWorker::kRetryFirst);
        CHECK(thin.Fetch() == 1);
        waiting = thin.Items(InboxState::kWaiting);
        REQUIRE(waiting.size() == 1);
        CHECK(waiting[0].fetch_error == "HTTP 429");
        CHECK(waiting[0].next_attempt_at == std::optional<fg::Timestamp>(thin.clock.Now() + 120s));
    }
    SUBCASE("the API stays down: after the last attempt the item fails with the reason") {
        fg::Duration backoff = fg::engine::FetchWorker::kRetryFirst;
        for (int attempt = 2; attempt < fg::engine::FetchWorker::kMaxAttempts; ++attempt) {
            thin.clock.Advance(backoff);
            CHECK(thin.Fetch() == 1);
            backoff = std::min(backoff * 2, fg::engine::FetchWorker::kRetryMost);
            REQUIRE(thin.Items(InboxState::kWaiting).size() == 1);
            CHECK(thin.Items(InboxState::kWaiting)[0].next_attempt_at ==
                  std::optional<fg::Timestamp>(thin.clock.Now() + backoff));
        }
        thin.clock.Advance(backoff);
        CHECK(thin.Fetch() == 1);
        CHECK(api.Calls() == static_cast<std::size_t>(fg::engine::FetchWorker::kMaxAttempts));
        CHECK(thin.Items(InboxState::kWaiting).empty());
        const auto failed = thin.Items(InboxState::kFailed);
        REQUIRE(failed.size() == 1);
        CHECK(failed[0].reason == "fetch_timeout");
        CHECK(failed[0].error == "gave up after 8 attempts: HTTP 503");
        thin.clock.Advance(1h);
        CHECK(thin.Fetch() == 0);
        CHECK(api.Calls() == static_cast<std::size_t>(fg::engine::FetchWorker::kMaxAttempts));
    }
    SUBCASE("past the waiting limit the minute sweep fails it (reason fetch_timeout)") {
        thin.clock.Advance(fg::engine::Engine::kWaitingLimit + 1min);
        REQUIRE(thin.engine->Sweep());
        const auto failed = thin.Items(InboxState::kFailed);
        REQUIRE(failed.size() == 1);
        CHECK(failed[0].reason == "fetch_timeout");
        CHECK(failed[0].error ==
              "waited over 1h for the CRM's API: 1 element(s) to fetch from the CRM's API (last "
              "try: HTTP 503)");
    }
}

TEST_CASE("Fetch stage: an element the CRM refuses fails alone; the rest of the body applies") {
    fg::testing::FakeDealsApi api;
    api.Put("102", "Новая", "2026-11-02T08:00:00+03:00");
    api.Refuse("101", "access denied");
    ThinEngine thin(api, {});
    thin.Post(ThinBody({"101", "102"}));
    thin.Drain();
    CHECK(thin.Fetch() == 1);
    CHECK(thin.Drain() == 1);
    CHECK(thin.Deal("102").has_value());
    const auto failed = thin.Items(InboxState::kFailed);
    REQUIRE(failed.size() == 1);
    CHECK(failed[0].reason == "fetch_failed");
    CHECK(failed[0].error == "deal 101: access denied (the body's other 1 event(s) were applied)");
}

TEST_CASE("Fetch stage: a restart loses nothing, and fetches nothing twice") {
    fg::testing::FakeDealsApi api;
    api.Put("101", "Новая", "2026-11-02T08:00:00+03:00");
    api.Put("102", "Квалификация", "2026-11-02T08:05:00+03:00");
    // The writer applies only when told (Drain), so that the engine stops between the stages.
    ThinEngine thin(api, {});
    thin.Post(ThinBody({"101"}));
    thin.Drain();
    CHECK(thin.Fetch() == 1);  // fetched, not applied yet
    thin.Stop();

    api.Answer(500);  // a second fetch of 101 would fail
    thin.Start();
    CHECK(thin.Items(InboxState::kFetched).size() == 1);
    CHECK(thin.Drain() == 1);  // 101, from what was fetched before the restart
    CHECK(api.Calls() == 1);
    CHECK(thin.Deal("101")->deal.stage == "Новая");

    thin.Post(ThinBody({"102"}));
    thin.Drain();
    REQUIRE(thin.Items(InboxState::kWaiting).size() == 1);
    thin.Stop();
    api.Answer(200);
    thin.Start();
    CHECK(thin.Fetch() == 1);  // the waiting one is picked up again
    CHECK(thin.Drain() == 1);
    CHECK(api.Calls() == 2);
    CHECK(thin.Deal("102")->deal.stage == "Квалификация");
    CHECK(thin.Counts().at(InboxState::kApplied) == 2);
}

TEST_CASE("Fetch stage: the same bytes arriving while the CRM is read are a change of their own") {
    // Bitrix24 posts byte-identical bodies for two changes of a deal within one second and never
    // redelivers: a copy that arrives during the read may name a change the read did not see.
    fg::testing::FakeDealsApi api;
    api.Put("101", "Новая", "2026-11-02T08:00:00+03:00");
    ThinEngine thin(api, {});
    const std::string body = ThinBody({"101"});
    thin.Post(body);
    CHECK_FALSE(thin.engine->Intake("acme", "thin", body, thin.clock.Now()).get().value());
    thin.Drain();
    std::optional<bool> copy_stored;
    api.DuringCall([&] {
        const fg::Result<bool> stored =
            thin.engine->Intake("acme", "thin", body, thin.clock.Now()).get();
        copy_stored = stored && *stored;
    });
    CHECK(thin.Fetch() == 1);  // the first read answers "Новая"
    api.DuringCall({});
    REQUIRE(copy_stored.has_value());
    CHECK(*copy_stored);  // stored, not taken for the item being read
    // The change the copy announced lands after the first read.
    api.Put("101", "Квалификация", "2026-11-02T08:01:00+03:00");
    thin.Drain();  // the first item applied; the copy waits for its own fetch
    CHECK(thin.Deal("101")->deal.stage == "Новая");
    CHECK(thin.Items(InboxState::kWaiting).size() == 1);
    CHECK(thin.Fetch() == 1);
    CHECK(thin.Drain() == 1);
    CHECK(api.Calls() == 2);
    CHECK(thin.Deal("101")->deal.stage == "Квалификация");
    CHECK(thin.Counts().at(InboxState::kApplied) == 2);
}

TEST_CASE("Fetch stage: thin webhooks of a tenant whose adapter has no fetcher fail with why") {
    fg::testing::FakeDealsApi api;
    ThinEngine thin(api, {.fetcher = false, .background = false, .timers = false, .max_batch = 50});
    thin.Post(ThinBody({"101"}));
    thin.Drain();
    CHECK(thin.Fetch() == 1);
    const auto failed = thin.Items(InboxState::kFailed);
    REQUIRE(failed.size() == 1);
    CHECK(failed[0].reason == "no_fetcher");
    CHECK(api.Calls() == 0);
    CHECK(thin.engine->metrics().Render().find(
              "funnelguard_inbox_processed_total{crm=\"thin\",state=\"failed\"} 1") !=
          std::string::npos);
}

TEST_CASE("Fetch stage: the worker's thread fetches what waits, without being asked") {
    fg::testing::FakeDealsApi api;
    api.Put("101", "КП отправлено", "2026-11-02T08:55:00+03:00");
    ThinEngine thin(api, {.fetcher = true, .background = true, .timers = true, .max_batch = 50});
    thin.Post(ThinBody({"101"}));
    std::unique_lock lock(thin.mutex);
    // The violation is the end of the path: intake, writer, fetch worker, writer, rules.
    CHECK(thin.changed.wait_for(lock, 20s, [&] { return !thin.opened.empty(); }));
    CHECK(api.Calls() == 1);
}

}  // namespace fetch_test_file
